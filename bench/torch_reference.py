"""PyTorch reference for the benchmark: the sheet's DSM training step and reverse-SDE sampler.

Same model (MLP 3-64-64-2, tanh, input concat(x, t)), loss, batch size, optimiser and sampler
as the TypeScript engines, written the way the exercise sheet's PyTorch solution would be.
Prints one JSON object on stdout; bench/bench.ts runs this with Debian's python3-torch.

usage: python3 torch_reference.py [--threads N] [--steps S] [--reps R] [--sample-points P]
  --threads 0 keeps PyTorch's own default thread count.
"""
import argparse
import json
import math
import statistics
import time
import resource

import torch

BETA_MIN, BETA_MAX = 0.1, 20.0
T_MIN, SIGMA_MIN = 1e-3, 1e-5


def alpha_sigma(t):
    integral = BETA_MIN * t + 0.5 * (BETA_MAX - BETA_MIN) * t * t
    alpha = torch.exp(-0.5 * integral)
    sigma = torch.sqrt(1.0 - alpha * alpha)
    return alpha, sigma


def make_moons(n, noise, gen):
    n_out = n // 2
    n_in = n - n_out
    th_o = torch.linspace(0, math.pi, n_out)
    th_i = torch.linspace(0, math.pi, n_in)
    x = torch.cat([
        torch.stack([torch.cos(th_o), torch.sin(th_o)], 1),
        torch.stack([1 - torch.cos(th_i), 1 - torch.sin(th_i) - 0.5], 1),
    ])
    x = x[torch.randperm(n, generator=gen)]
    return x + noise * torch.randn(x.shape, generator=gen)


class ScoreModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(3, 64), torch.nn.Tanh(),
            torch.nn.Linear(64, 64), torch.nn.Tanh(),
            torch.nn.Linear(64, 2))

    def forward(self, x, t):
        return self.net(torch.cat([x, t[:, None]], 1))


def dsm_loss(model, x0, gen):
    n = x0.shape[0]
    t = torch.rand(n, generator=gen) * (1 - T_MIN) + T_MIN
    eps = torch.randn(x0.shape, generator=gen)
    alpha, sigma = alpha_sigma(t)
    sigma = sigma.clamp_min(SIGMA_MIN)
    xt = alpha[:, None] * x0 + sigma[:, None] * eps
    s = model(xt, t)
    return ((s + eps / sigma[:, None]) ** 2).sum(1).mean()


def time_training(model, data, gen, steps, reps, batch):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    results, cpu = [], []
    for rep in range(reps + 1):  # rep 0 is warm-up
        c0 = time.process_time()
        t0 = time.perf_counter()
        for _ in range(steps):
            idx = torch.randint(0, data.shape[0], (batch,), generator=gen)
            loss = dsm_loss(model, data[idx], gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        elapsed = time.perf_counter() - t0
        if rep > 0:
            results.append(elapsed / steps * 1e3)
            cpu.append((time.process_time() - c0) / steps * 1e3)
    return results, cpu, float(loss)


@torch.no_grad()
def sample(model, n, steps, gen):
    x = torch.randn(n, 2, generator=gen)
    dt = (1 - T_MIN) / steps
    for i in range(steps, 0, -1):
        t = T_MIN + i * dt
        beta = BETA_MIN + t * (BETA_MAX - BETA_MIN)
        tt = torch.full((n,), t)
        mean = x + (0.5 * beta * x + beta * model(x, tt)) * dt
        x = mean if i == 1 else mean + math.sqrt(beta * dt) * torch.randn(n, 2, generator=gen)
    return x


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--sample-points", type=int, default=10000)
    p.add_argument("--sample-steps", type=int, default=1000)
    p.add_argument("--sample-reps", type=int, default=3)
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    data = make_moons(10000, 0.05, gen)
    model = ScoreModel()
    train_ms, train_cpu, last_loss = time_training(model, data, gen, a.steps, a.reps, a.batch)
    sample_s, sample_cpu = [], []
    sample(model, a.sample_points, 20, gen)  # warm-up
    for rep in range(a.sample_reps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        sample(model, a.sample_points, a.sample_steps, gen)
        sample_s.append(time.perf_counter() - t0)
        sample_cpu.append(time.process_time() - c0)
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "trainMsPerStep": statistics.median(train_ms),
        "trainMsPerStepAll": train_ms,
        "trainCpuMsPerStep": statistics.median(train_cpu),
        "lastLoss": last_loss,
        "sampleSeconds": statistics.median(sample_s),
        "sampleSecondsAll": sample_s,
        "sampleCpuSeconds": statistics.median(sample_cpu),
        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
