/**
 * Independent numerical checks of the sheet's claims, for the notebooks. Each check function
 * returns a `CheckResult` (`check.ts`): its compared quantities as `Check`s (PASS, FAIL, or SKIPPED
 * when nothing was compared) and the table of measured numbers; every check cell prints it with
 * `showChecks`, and a test asserts on the statuses. One module per part:
 *
 * - Exercise 1 (`perturbation-score`): the score of a Gaussian perturbation is −ε/σ, symbolically
 *   and by autodiff; (`dsm-minimiser`) the mean DSM target near x is the noised density's score.
 * - Exercise 2b (`forward-marginal`): the simulated forward SDE against the closed-form marginal,
 *   and the SNR = 1 time two ways.
 * - Exercise 2c (`model-output`): the model's output shape, by running it.
 * - Exercise 2d (`reference-score`): DSM loss of several scores on the same draws (a measurement,
 *   no pass/fail), and the zero score's loss against its closed form.
 * - Exercise 2d (`engine-agreement`): one training step on two engines from the same weights and
 *   batch.
 * - Exercise 3 (`equivariance`): Boltzmann score, forces (autodiff, net force and torque), rotation
 *   equivariance by routes independent of the force formula, and of a non-pairwise density's score.
 */
export * from "./check";
export * from "./perturbation-score";
export * from "./forward-marginal";
export * from "./reference-score";
export * from "./equivariance";
export * from "./engine-agreement";
export * from "./dsm-minimiser";
export * from "./model-output";
