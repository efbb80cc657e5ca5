/**
 * Independent numerical checks of the sheet's claims, for the notebooks (each returns plain numbers
 * and a `passed` flag, so a notebook prints PASS/FAIL and a test asserts on it). One module per part:
 *
 * - Exercise 1 (`perturbation-score`): the score of a Gaussian perturbation is −ε/σ, symbolically and by autodiff.
 * - Exercise 2b (`forward-marginal`): the simulated forward SDE against the closed-form marginal.
 * - Exercises 2d/2e (`reference-score`): DSM loss of several scores on the same draws; a near-exact moons score.
 * - Exercise 2d (`engine-agreement`): one training step on two engines from the same weights and batch.
 * - Exercise 3 (`equivariance`): Boltzmann score, analytic vs autodiff forces, rotation equivariance.
 */
export * from "./perturbation-score";
export * from "./forward-marginal";
export * from "./reference-score";
export * from "./equivariance";
export * from "./engine-agreement";
