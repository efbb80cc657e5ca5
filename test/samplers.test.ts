/**
 * The samplers of `src/core/samplers.ts` against closed forms on Gaussian data x0 ~ N(μ, Σ), whose
 * exact score is `gaussianScore`. The noised marginal is p_t = N(α_t μ, C_t), C_t = α_t²Σ + σ_t²I,
 * and the probability-flow ODE is linear: with v_t = α_t²Σ_jj + σ_t² per coordinate (Σ diagonal),
 *
 *   x_t = α_t μ + √(v_t / v_1) (x_1 − α_1 μ)
 *
 * solves dx/dt = −½β(x + s): d/dt √v_t = −½β(1 − 1/v_t)√v_t since dv/dt = −β(v − 1), and
 * −½β(x + s) = −½β(α μ + (1 − 1/v)(x − α μ)) with s = −(x − αμ)/v; α' = −½βα gives the rest.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { gaussianMixtureScore, gaussianScore } from "../src/core/exact-scores";
import { defaultSamplerConfig, sampleReverseSDE } from "../src/core/sampler";
import { alpha, defaultSchedule, sigma } from "../src/core/sde";
import {
  SamplerRunConfig,
  defaultSamplerRunConfig,
  fastSampler,
  priorSample,
  sampleWith,
  samplerNames,
  samplers,
  sheetSampler,
  stepsForBudget,
} from "../src/core/samplers";
import { probabilityFlowSample, probabilityFlowSampleRK45 } from "../src/core/probability-flow";
import {
  dataPrediction,
  dpmSolver1Step,
  dpmppSdeUpdate,
  dpmSolverSample,
  lambda,
  lambdaGrid,
  timeOfLambda,
} from "../src/core/dpm-solver";

const schedule = defaultSchedule();
const tMin = 1e-3;

function moments(x: Float64Array) {
  const n = x.length / 2;
  let mx = 0,
    my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[2 * i] / n;
    my += x[2 * i + 1] / n;
  }
  let cxx = 0,
    cxy = 0,
    cyy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[2 * i] - mx,
      dy = x[2 * i + 1] - my;
    cxx += (dx * dx) / (n - 1);
    cxy += (dx * dy) / (n - 1);
    cyy += (dy * dy) / (n - 1);
  }
  return [mx, my, cxx, cxy, cyy];
}

test('"em" with the default settings is the sheet\'s sampleReverseSDE, bit for bit', () => {
  const score = gaussianScore(
    [1, -1],
    [
      [0.3, 0.1],
      [0.1, 0.2],
    ],
  );
  const cfg = { ...defaultSamplerConfig(), nSamples: 500, seed: 42 };
  const viaRegistry = sampleWith("em", score, {
    ...defaultSamplerRunConfig(),
    nSamples: 500,
    seed: 42,
  });
  assert.equal(viaRegistry.nfe, 1000);
  assert.deepEqual(viaRegistry.x, sampleReverseSDE(score, cfg).x);
});

test("every sampler reproduces the mean and covariance of N(αμ, α²Σ + σ²I) at t = ε", () => {
  const mu = [2, -1];
  const S = [
    [0.5, 0.3],
    [0.3, 0.4],
  ];
  const score = gaussianScore(mu, S, schedule);
  const a = alpha(tMin, schedule),
    s2 = sigma(tMin, schedule) ** 2;
  const C = [a * a * S[0][0] + s2, a * a * S[0][1], a * a * S[1][1] + s2];
  const want = [a * mu[0], a * mu[1], C[0], C[1], C[2]];
  const n = 4000;
  // Monte Carlo standard errors of the five moments for n normal samples.
  const se = [
    Math.sqrt(C[0] / n),
    Math.sqrt(C[2] / n),
    C[0] * Math.sqrt(2 / (n - 1)),
    Math.sqrt((C[0] * C[2] + C[1] ** 2) / (n - 1)),
    C[2] * Math.sqrt(2 / (n - 1)),
  ];
  // Discretisation allowance at 200 NFE (rk45 at rtol 1e-5): the measured bias of the coarsest
  // (EM, PC, DPM-Solver-1) is below 0.015 here; the higher-order ones are far below.
  const disc: Record<string, number> = { em: 0.02, pc: 0.02, "ode-euler": 0.015, dpm1: 0.02 };
  for (const name of samplerNames) {
    const cfg: SamplerRunConfig = { ...defaultSamplerRunConfig(), nSamples: n, seed: 17 };
    if (name === "rk45") cfg.rtol = 1e-5;
    else cfg.nfe = 200;
    const r = sampleWith(name, score, cfg);
    assert.ok(r.nfe <= (name === "rk45" ? 400 : 200), `${name}: nfe ${r.nfe}`);
    const got = moments(r.x);
    got.forEach((g, k) => {
      const tol = 4 * se[k] + (disc[name] ?? 0.005);
      assert.ok(
        Math.abs(g - want[k]) <= tol,
        `${name} moment ${k}: got ${g}, want ${want[k]} ± ${tol.toFixed(4)}`,
      );
    });
  }
});

/** Exact PF-ODE transport of x1 from t = 1 to tMin for data N(μ, diag(d)) (module comment). */
function exactFlow(x1: Float64Array, mu: number[], d: number[]): Float64Array {
  const v = (t: number, j: number) => alpha(t, schedule) ** 2 * d[j] + sigma(t, schedule) ** 2;
  return x1.map((x, k) => {
    const j = k % 2;
    const scale = Math.sqrt(v(tMin, j) / v(1, j));
    return alpha(tMin, schedule) * mu[j] + scale * (x - alpha(1, schedule) * mu[j]);
  });
}

const maxAbsDiff = (a: Float64Array, b: Float64Array) =>
  a.reduce((m, v, k) => Math.max(m, Math.abs(v - b[k])), 0);

/** Least-squares slope of log(error) against log(steps): the observed order is −slope. */
function observedOrder(steps: number[], errors: number[]): number {
  const X = steps.map(Math.log),
    Y = errors.map(Math.log);
  const mx = X.reduce((a, b) => a + b) / X.length,
    my = Y.reduce((a, b) => a + b) / Y.length;
  let sxy = 0,
    sxx = 0;
  X.forEach((x, i) => {
    sxy += (x - mx) * (Y[i] - my);
    sxx += (x - mx) ** 2;
  });
  return -sxy / sxx;
}

test("orders vs the PF-ODE closed form: Euler 1, Heun 2, RK4 4, DPM-Solver 1, 2, ++2M 2", () => {
  const mu = [1, -0.5],
    d = [0.25, 2];
  const score = gaussianScore(mu, [
    [d[0], 0],
    [0, d[1]],
  ]);
  const x1 = priorSample(50, 3);
  const exact = exactFlow(x1, mu, d);
  const steps = [40, 80, 160, 320];
  const cases: [string, number, (N: number) => Float64Array][] = [
    ["euler", 1, (N) => probabilityFlowSample(score, x1, "euler", N, { tMin, schedule }).x],
    ["heun", 2, (N) => probabilityFlowSample(score, x1, "heun", N, { tMin, schedule }).x],
    ["rk4", 4, (N) => probabilityFlowSample(score, x1, "rk4", N, { tMin, schedule }).x],
    ["dpm1", 1, (N) => dpmSolverSample("dpm1", score, x1, N, tMin, schedule).x],
    ["dpm2", 2, (N) => dpmSolverSample("dpm2", score, x1, N, tMin, schedule).x],
    ["dpmpp2m", 2, (N) => dpmSolverSample("dpmpp2m", score, x1, N, tMin, schedule).x],
  ];
  for (const [name, order, run] of cases) {
    const errors = steps.map((N) => maxAbsDiff(run(N), exact));
    const p = observedOrder(steps, errors);
    assert.ok(Math.abs(p - order) < 0.15, `${name}: observed order ${p}, errors ${errors}`);
  }
});

test("RK45 reports its NFE; a tighter tolerance costs more NFE and lowers the error", () => {
  const mu = [1, -0.5],
    d = [0.25, 2];
  const score = gaussianScore(mu, [
    [d[0], 0],
    [0, d[1]],
  ]);
  const x1 = priorSample(50, 3);
  const exact = exactFlow(x1, mu, d);
  let calls = 0;
  const counted: typeof score = (x, t, n) => (calls++, score(x, t, n));
  const runs = [1e-3, 1e-5, 1e-7].map((rtol) => {
    calls = 0;
    const r = probabilityFlowSampleRK45(counted, x1, { tMin, schedule, rtol });
    assert.equal(r.nfe, calls, "reported NFE = score calls");
    return { nfe: r.nfe, err: maxAbsDiff(r.x, exact), rtol };
  });
  for (let k = 1; k < runs.length; k++) {
    assert.ok(runs[k].nfe > runs[k - 1].nfe, JSON.stringify(runs));
    assert.ok(runs[k].err < runs[k - 1].err / 5, JSON.stringify(runs));
  }
  // The global error follows the tolerance (|x| ≲ 3 here, so the per-step scale is ≲ 4·rtol).
  for (const r of runs) assert.ok(r.err < 5 * r.rtol, JSON.stringify(runs));
});

test("DPM-Solver-1's step is DDIM's x_s = α_s x̂0 + σ_s ε̂, x̂0 = (x_t − σ_t ε̂)/α_t", () => {
  const sch = { betaMin: 0.1, betaMax: 20 }; // α(t) = exp(−½(0.1 t + ½·19.9 t²)) below
  const score = gaussianMixtureScore(
    [0.4, 0.6],
    [
      [-1, 0],
      [1, 0.5],
    ],
    [
      [
        [0.1, 0],
        [0, 0.1],
      ],
      [
        [0.2, 0.05],
        [0.05, 0.1],
      ],
    ],
    sch,
  );
  const x = priorSample(30, 8);
  for (const [t, s] of [
    [1, 0.7],
    [0.5, 0.45],
    [0.05, 0.001],
  ]) {
    const got = dpmSolver1Step(score, x, t, s, sch);
    // DDIM (η = 0), written from its definition: predict ε and x0, then re-noise to s.
    const sc = score(x, t);
    const at = Math.exp(-0.5 * (0.1 * t + 0.5 * 19.9 * t * t));
    const as = Math.exp(-0.5 * (0.1 * s + 0.5 * 19.9 * s * s));
    const st = Math.sqrt(1 - at * at),
      ss = Math.sqrt(1 - as * as);
    const ddim = x.map((xk, k) => {
      const eps = -st * sc[k];
      const x0 = (xk - st * eps) / at;
      return as * x0 + ss * eps;
    });
    assert.ok(maxAbsDiff(got, ddim) < 1e-12, `t=${t}→${s}: ${maxAbsDiff(got, ddim)}`);
  }
});

test("λ(t) = log(α/σ) and its inverse; the λ grid is uniform from t = 1 to tMin", () => {
  for (const t of [1e-3, 0.01, 0.3, 0.99, 1]) {
    assert.ok(
      Math.abs(timeOfLambda(lambda(t, schedule), schedule) - t) < 1e-12 * Math.max(1, 1 / t),
    );
  }
  const g = lambdaGrid(10, tMin, schedule);
  assert.equal(g[0], 1);
  assert.equal(g[10], tMin);
  const l = Array.from(g, (t) => lambda(t, schedule));
  for (let k = 1; k < 10; k++) assert.ok(Math.abs(l[k + 1] - 2 * l[k] + l[k - 1]) < 1e-9);
});

test("stepsForBudget: the most steps within the budget; rk45 and too small budgets throw", () => {
  assert.equal(stepsForBudget("em", 20), 20);
  assert.equal(stepsForBudget("pc", 21), 10);
  assert.equal(stepsForBudget("ode-heun", 20), 10);
  assert.equal(stepsForBudget("ode-rk4", 10), 2);
  assert.equal(stepsForBudget("dpm2", 21), 10);
  assert.equal(stepsForBudget("dpmpp2m", 20), 20);
  assert.throws(() => stepsForBudget("ode-rk4", 3), /nfe=3/);
  assert.throws(() => stepsForBudget("rk45", 20), /rtol.*nfe=20/);
  assert.throws(() => stepsForBudget("em", 2.5), /nfe=2.5/);
  assert.equal(stepsForBudget(fastSampler.sampler, fastSampler.nfe), 20);
  assert.equal(stepsForBudget(sheetSampler.sampler, sheetSampler.nfe), 1000);
  for (const name of samplerNames) {
    if (name === "rk45") continue;
    const r = sampleWith(name, gaussianScore(), {
      ...defaultSamplerRunConfig(),
      nSamples: 3,
      nfe: 20,
    });
    assert.equal(r.nfe, stepsForBudget(name, 20) * samplers[name].nfePerStep, name);
    assert.ok(r.nfe <= 20, name);
  }
});

test("settings are validated with errors naming the bad value", () => {
  const sc = gaussianScore();
  const base = { ...defaultSamplerRunConfig(), nSamples: 3 };
  assert.throws(() => sampleWith("dpmpp2n", sc, base), /sampler="dpmpp2n"; did you mean "dpmpp2m"/);
  assert.throws(() => sampleWith("em", sc, { ...base, steps: 5, nfe: 20 }), /steps=5, nfe=20/);
  assert.throws(() => sampleWith("em", sc, { ...base, rtol: 1e-3 }), /rtol=0.001/);
  assert.throws(() => sampleWith("rk45", sc, { ...base, nfe: 20 }), /nfe=20/);
  assert.throws(() => sampleWith("rk45", sc, { ...base, rtol: -1 }), /rtol=-1/);
  assert.throws(() => sampleWith("em", sc, { ...base, nfe: 0 }), /nfe=0/);
  assert.throws(() => sampleWith("ode-heun", sc, { ...base, steps: 0 }), /steps=0/);
  assert.throws(() => sampleWith("dpm1", sc, { ...base, tMin: 0 }), /tMin=0/);
  assert.throws(() => sampleWith("dpm1", sc, { ...base, seed: -1 }), /seed=-1/);
  assert.throws(
    () => sampleWith("dpm1", sc, { ...base, nfes: 20 } as SamplerRunConfig),
    /Unknown key "nfes".*"nfe"/,
  );
});

test("deterministic under a seed; another seed gives other samples", () => {
  const score = gaussianScore([0.5, 0.5]);
  for (const name of samplerNames) {
    const cfg: SamplerRunConfig = { ...defaultSamplerRunConfig(), nSamples: 20, seed: 5 };
    if (name !== "rk45") cfg.nfe = 20;
    const a = sampleWith(name, score, cfg).x;
    assert.deepEqual(sampleWith(name, score, cfg).x, a, name);
    assert.notDeepEqual(sampleWith(name, score, { ...cfg, seed: 6 }).x, a, name);
  }
});

test("SDE-DPM-Solver++(1) given x̂0 is the DDPM posterior step q(x_s | x_t, x0 = x̂0)", () => {
  const sch = { betaMin: 0.1, betaMax: 20 };
  // α(t) = exp(−½(0.1 t + ½·19.9 t²)), σ² = 1 − α², written out here, not taken from sde.ts
  const al = (t: number) => Math.exp(-0.5 * (0.1 * t + 0.5 * 19.9 * t * t));
  const x = priorSample(25, 4);
  const x0 = priorSample(25, 5).map((v) => 0.5 * v + 0.3);
  const z = priorSample(25, 6);
  for (const [t, s] of [
    [1, 0.8],
    [0.5, 0.3],
    [0.05, 0.001],
  ]) {
    const at = al(t),
      as = al(s);
    const vt = 1 - at * at,
      vs = 1 - as * as;
    // A score whose Tweedie estimate is x0 exactly: s = (α_t x0 − x)/σ_t².
    const score = (p: Float32Array | Float64Array) => p.map((v, k) => (at * x0[k] - v) / vt);
    const D = dataPrediction(score, x, t, sch);
    assert.ok(maxAbsDiff(D, x0) < 1e-9);
    const got = dpmppSdeUpdate(x, D, t, s, sch, z);
    // DDPM posterior: α_{t|s} = α_t/α_s, σ²_{t|s} = σ_t² − α²_{t|s} σ_s²,
    // mean = α_{t|s} σ_s²/σ_t² x_t + α_s σ²_{t|s}/σ_t² x0, variance σ_s² σ²_{t|s}/σ_t².
    const ats = at / as;
    const v2 = vt - ats * ats * vs;
    const post = x.map(
      (xk, k) =>
        ((ats * vs) / vt) * xk + ((as * v2) / vt) * x0[k] + Math.sqrt((vs * v2) / vt) * z[k],
    );
    assert.ok(maxAbsDiff(got, post) < 1e-12, `t=${t}→${s}: ${maxAbsDiff(got, post)}`);
  }
});

test("SDE-DPM-Solver++(2M) beats (1) on the Gaussian's covariance at 10 NFE", () => {
  const mu = [0.5, -0.5];
  const S = [
    [0.05, 0],
    [0, 0.3],
  ];
  const score = gaussianScore(mu, S, schedule);
  const a = alpha(tMin, schedule),
    s2 = sigma(tMin, schedule) ** 2;
  const want = [a * mu[0], a * mu[1], a * a * S[0][0] + s2, 0, a * a * S[1][1] + s2];
  const err = (name: string) => {
    const cfg = { ...defaultSamplerRunConfig(), nSamples: 20000, seed: 3, nfe: 10 };
    const got = moments(sampleWith(name, score, cfg).x);
    return Math.abs(got[2] - want[2]) / want[2] + Math.abs(got[4] - want[4]) / want[4];
  };
  const e1 = err("dpmpp1-sde"),
    e2 = err("dpmpp2m-sde");
  assert.ok(e2 < 0.5 * e1, `relative covariance error: 2M ${e2}, first order ${e1}`);
});
