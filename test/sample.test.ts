import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../src/random";
import { createScoreModel, defaultModelConfig, scoreFnFromModel } from "../src/model";
import { defaultSchedule, alpha, sigma } from "../src/schedule";
import {
  sampleReverseSDE,
  sampleReverseSDEAsync,
  eulerMaruyamaStep,
  gaussianScore,
  gaussianMixtureScore,
  defaultSamplerConfig,
  SamplerConfig,
  ScoreFn,
} from "../src/sample";

// 4000 samples × 500 steps: standard errors of means ≈ 0.016·std, of variances ≈ 0.022·var.
const cfg: SamplerConfig = { ...defaultSamplerConfig(), steps: 500, nSamples: 4000, seed: 123 };

function moments(x: Float64Array) {
  const n = x.length / 2;
  let mx = 0,
    my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[2 * i];
    my += x[2 * i + 1];
  }
  mx /= n;
  my /= n;
  let cxx = 0,
    cxy = 0,
    cyy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[2 * i] - mx,
      dy = x[2 * i + 1] - my;
    cxx += dx * dx;
    cxy += dx * dy;
    cyy += dy * dy;
  }
  return { mean: [mx, my], cov: [cxx / (n - 1), cxy / (n - 1), cyy / (n - 1)] };
}

function close(actual: number, expected: number, tol: number, what: string) {
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: got ${actual}, expected ${expected} ± ${tol}`,
  );
}

test("Gaussian data N(0, I): exact score −x, samples reproduce mean 0 and covariance I", () => {
  const { x } = sampleReverseSDE(gaussianScore(), cfg);
  const { mean, cov } = moments(x);
  close(mean[0], 0, 0.06, "mean x");
  close(mean[1], 0, 0.06, "mean y");
  close(cov[0], 1, 0.08, "var x");
  close(cov[1], 0, 0.06, "cov xy");
  close(cov[2], 1, 0.08, "var y");
});

test("non-standard Gaussian N((2, −1), anisotropic Σ): moments recovered", () => {
  const mu = [2, -1];
  const S = [
    [0.5, 0.3],
    [0.3, 0.4],
  ]; // eigenvalues ≈ 0.75, 0.15; correlation ≈ 0.67
  const { x } = sampleReverseSDE(gaussianScore(mu, S, cfg.schedule), { ...cfg, seed: 7 });
  const { mean, cov } = moments(x);
  close(mean[0], 2, 0.04, "mean x");
  close(mean[1], -1, 0.04, "mean y");
  close(cov[0], 0.5, 0.04, "var x");
  close(cov[1], 0.3, 0.03, "cov xy");
  close(cov[2], 0.4, 0.03, "var y");
});

test("2-D Gaussian mixture (weights 0.3/0.7): component weights and means recovered", () => {
  const w = [0.3, 0.7];
  const mus = [
    [-2, 1],
    [2, -0.5],
  ];
  const covs = [
    [
      [0.2, 0],
      [0, 0.2],
    ],
    [
      [0.3, -0.1],
      [-0.1, 0.15],
    ],
  ];
  const { x } = sampleReverseSDE(gaussianMixtureScore(w, mus, covs, cfg.schedule), {
    ...cfg,
    seed: 11,
  });
  const n = x.length / 2;
  const count = [0, 0],
    sum = [
      [0, 0],
      [0, 0],
    ];
  for (let i = 0; i < n; i++) {
    const d = mus.map((m) => Math.hypot(x[2 * i] - m[0], x[2 * i + 1] - m[1]));
    const k = d[0] < d[1] ? 0 : 1;
    count[k]++;
    sum[k][0] += x[2 * i];
    sum[k][1] += x[2 * i + 1];
  }
  // Weight s.e. = √(0.21/4000) ≈ 0.007; the components are > 9 std apart so nearest-mean labels are exact.
  close(count[0] / n, 0.3, 0.03, "weight of component 0");
  for (let k = 0; k < 2; k++) {
    close(sum[k][0] / count[k], mus[k][0], 0.06, `mean x of component ${k}`);
    close(sum[k][1] / count[k], mus[k][1], 0.06, `mean y of component ${k}`);
  }
});

test("gaussianMixtureScore equals a finite-difference gradient of the log of the noised mixture density", () => {
  const s = defaultSchedule();
  const w = [0.2, 0.8],
    mus = [
      [-1, 0.5],
      [1.5, -1],
    ],
    covs = [
      [
        [0.3, 0.1],
        [0.1, 0.2],
      ],
      [
        [0.05, 0],
        [0, 0.5],
      ],
    ];
  const logp = (px: number, py: number, t: number) => {
    const a = alpha(t, s),
      s2 = sigma(t, s) ** 2;
    let p = 0;
    for (let k = 0; k < 2; k++) {
      const c00 = a * a * covs[k][0][0] + s2,
        c01 = a * a * covs[k][0][1],
        c11 = a * a * covs[k][1][1] + s2;
      const det = c00 * c11 - c01 * c01;
      const dx = px - a * mus[k][0],
        dy = py - a * mus[k][1];
      const q = (c11 * dx * dx - 2 * c01 * dx * dy + c00 * dy * dy) / det;
      p += (w[k] / (2 * Math.PI * Math.sqrt(det))) * Math.exp(-0.5 * q);
    }
    return Math.log(p);
  };
  const score = gaussianMixtureScore(w, mus, covs, s);
  const rng = new Rng(3);
  for (const t of [0.01, 0.1, 0.5, 1]) {
    const pts = rng.normalArray(20) as Float64Array;
    const sc = score(pts, t, 10);
    const h = 1e-5;
    for (let i = 0; i < 10; i++) {
      const [px, py] = [pts[2 * i], pts[2 * i + 1]];
      const gx = (logp(px + h, py, t) - logp(px - h, py, t)) / (2 * h);
      const gy = (logp(px, py + h, t) - logp(px, py - h, t)) / (2 * h);
      assert.ok(
        Math.abs(sc[2 * i] - gx) < 1e-5 * (1 + Math.abs(gx)),
        `t=${t}: score x ${sc[2 * i]} vs ${gx}`,
      );
      assert.ok(
        Math.abs(sc[2 * i + 1] - gy) < 1e-5 * (1 + Math.abs(gy)),
        `t=${t}: score y ${sc[2 * i + 1]} vs ${gy}`,
      );
    }
  }
  // Far from all means (log-sum-exp must not underflow to 0/0).
  const far = score(new Float64Array([300, -400]), 0.01, 1);
  assert.ok(Number.isFinite(far[0]) && Number.isFinite(far[1]), `far score ${far}`);
});

test("the grid: starts from N(0, I) at t = 1, ends at tMin with the noise-free mean of the last step", () => {
  const small: SamplerConfig = { ...cfg, steps: 4, nSamples: 3, seed: 5 };
  const score = gaussianScore(
    [1, 1],
    [
      [0.5, 0],
      [0, 0.5],
    ],
    small.schedule,
  );
  const seen: number[] = [];
  const { x, trajectory } = sampleReverseSDE(score, small, {
    saveAt: [1, 0.5, 0],
    onProgress: (p) => seen.push(p.t),
    progressEvery: 1,
  });
  const dt = (1 - small.tMin) / 4;
  assert.deepEqual(
    trajectory.map((s) => s.t),
    [1, small.tMin + 2 * dt, small.tMin],
  );
  assert.deepEqual(
    seen,
    [3, 2, 1, 0].map((i) => small.tMin + i * dt),
  );
  assert.deepEqual(trajectory[0].x, new Rng(5).normalArray(6)); // x_N is the seed's first normals
  assert.deepEqual(trajectory[2].x, x);
  // The last step is noise-free: from the recorded state at t_1 = tMin + Δt, one step without noise
  // reproduces the final samples exactly.
  const again = sampleReverseSDE(score, small, { saveAt: [small.tMin + dt] });
  const xMean = eulerMaruyamaStep(
    again.trajectory[0].x,
    small.tMin + dt,
    dt,
    score,
    small.schedule,
    new Rng(0),
    false,
  ).xMean;
  assert.deepEqual(xMean, x);
  // Seeded: the same config gives identical samples, another seed different ones.
  assert.deepEqual(again.x, x);
  assert.notDeepEqual(sampleReverseSDE(score, { ...small, seed: 6 }).x, x);
});

test("eulerMaruyamaStep: xMean = x + (½βx + βs)dt, and the noise has variance β dt", () => {
  const s = defaultSchedule();
  const t = 0.5,
    dt = 0.01,
    b = s.betaMin + t * (s.betaMax - s.betaMin);
  const constScore: ScoreFn = (x) => new Float64Array(x.length).fill(0.25);
  const n = 20000;
  const x0 = new Float64Array(2 * n).fill(1);
  const { x, xMean } = eulerMaruyamaStep(x0, t, dt, constScore, s, new Rng(9), true);
  close(xMean[0], 1 + (0.5 * b * 1 + b * 0.25) * dt, 1e-14, "xMean");
  let v = 0;
  for (let k = 0; k < 2 * n; k++) v += (x[k] - xMean[k]) ** 2;
  close(v / (2 * n), b * dt, 0.03 * b * dt, "noise variance");
});

test("config and inputs are validated with errors naming the bad value", () => {
  const sc = gaussianScore();
  assert.throws(() => sampleReverseSDE(sc, { ...cfg, steps: 0 }), /steps=0/);
  assert.throws(() => sampleReverseSDE(sc, { ...cfg, steps: 2.5 }), /steps=2.5/);
  assert.throws(() => sampleReverseSDE(sc, { ...cfg, tMin: 1 }), /tMin=1/);
  assert.throws(() => sampleReverseSDE(sc, { ...cfg, tMin: 0 }), /tMin=0/);
  assert.throws(() => sampleReverseSDE(sc, { ...cfg, nSamples: -3 }), /nSamples=-3/);
  assert.throws(
    () => sampleReverseSDE(sc, { ...cfg, schedule: { betaMin: 2, betaMax: 1 } }),
    /betaMax=1, betaMin=2/,
  );
  assert.throws(() => sampleReverseSDE(sc, cfg, { saveAt: [1.5] }), /got 1.5/);
  assert.throws(
    () =>
      gaussianMixtureScore(
        [0.5, -0.5],
        [
          [0, 0],
          [1, 1],
        ],
        [
          [
            [1, 0],
            [0, 1],
          ],
          [
            [1, 0],
            [0, 1],
          ],
        ],
      ),
    /weights\[1\]=-0.5/,
  );
  assert.throws(
    () =>
      gaussianScore(
        [0, 0],
        [
          [1, 2],
          [2, 1],
        ],
      ),
    /covs\[0\]/,
  );
});

test("a tfjs ScoreModel plugs in through scoreFnFromModel (float32 scores) without leaking tensors", async () => {
  await tf.setBackend("cpu");
  const model = createScoreModel(defaultModelConfig(), 0);
  const score = scoreFnFromModel(model);
  const before = tf.memory().numTensors;
  const { x } = sampleReverseSDE(score, { ...cfg, steps: 20, nSamples: 50 });
  assert.equal(tf.memory().numTensors, before, "sampling leaked tensors");
  assert.equal(x.length, 100);
  assert.ok(x.every(Number.isFinite));
  model.dispose();
});

test("exact scores reject a time outside [0, 1] and a wrongly shaped x, naming them", () => {
  const score = gaussianMixtureScore(
    [1, 1],
    [
      [0, 0],
      [1, 1],
    ],
    [
      [
        [1, 0],
        [0, 1],
      ],
      [
        [1, 0],
        [0, 1],
      ],
    ],
  );
  assert.throws(
    () => score(new Float64Array(4), 2, 2),
    /Expected t to be a number in \[0, 1\].*but got t=2/,
  );
  assert.throws(() => score(new Float64Array(4), -0.1, 2), /t=-0\.1/);
  assert.throws(() => score(new Float64Array(3), 0.5, 2), /n×2 = 4 numbers.*but got x\.length=3/);
});

test("the async sampler gives the sync sampler's samples, and stops when aborted", async () => {
  const score = gaussianScore();
  const cfg = { ...defaultSamplerConfig(), steps: 50, nSamples: 30 };
  const sync = sampleReverseSDE(score, cfg, { saveAt: [1, 0.5, 0] });
  const asyncRun = await sampleReverseSDEAsync(score, cfg, { saveAt: [1, 0.5, 0], yieldEvery: 3 });
  assert.ok(asyncRun !== null);
  assert.deepEqual(asyncRun.x, sync.x);
  assert.deepEqual(asyncRun.trajectory, sync.trajectory);
  const controller = new AbortController();
  let last = 0;
  const aborted = await sampleReverseSDEAsync(score, cfg, {
    signal: controller.signal,
    progressEvery: 1,
    onProgress: (p) => {
      last = p.step;
      if (p.step === 20) controller.abort();
    },
  });
  assert.equal(aborted, null);
  assert.ok(last >= 20 && last < 50, `stopped at step ${last}`);
});
