"""PyTorch side of the nets-step benchmark: the same training step on sbi's own estimators.

For each (model, features, context) it builds sbi's default MAF, NSF or MDN through
sbi's net builders, then times log-prob of a batch + mean + backward + Adam step with
one thread, printing one JSON line per configuration in the format of `ili-bench`.
"""
import argparse
import json
import time

import torch


def build(model, y, c):
    from sbi.neural_nets.net_builders import build_maf, build_mdn, build_nsf
    builder = {"maf": build_maf, "nsf": build_nsf, "mdn": build_mdn}[model]
    estimator = builder(y, c)
    # The wrapped network: an nflows Flow (MAF, NSF) or sbi's MultivariateGaussianMDN
    # (with the z-scoring of the context in the wrapper's embedding net).
    return estimator


def log_prob(model, estimator, y, c):
    # sbi's estimators take (sample, batch, dim) inputs and (batch, dim) conditions.
    return estimator.log_prob(y.unsqueeze(0), c).squeeze(0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="maf")
    parser.add_argument("--features", type=int, default=2)
    parser.add_argument("--context", type=int, default=2)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)
    y = torch.randn(args.batch, args.features)
    c = torch.randn(args.batch, args.context)
    estimator = build(args.model, y, c)
    optimizer = torch.optim.Adam(estimator.parameters(), lr=5e-4)

    def step():
        optimizer.zero_grad()
        loss = -log_prob(args.model, estimator, y, c).mean()
        loss.backward()
        optimizer.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    samples = []
    loss = 0.0
    for _ in range(args.steps):
        start = time.perf_counter()
        loss = step()
        samples.append((time.perf_counter() - start) * 1e3)
    samples.sort()
    n = len(samples)
    median = samples[n // 2] if n % 2 else (samples[n // 2 - 1] + samples[n // 2]) / 2
    print(json.dumps({
        "name": "nets-step", "impl": "pytorch", "model": args.model, "features": args.features,
        "context": args.context, "batch": args.batch, "threads": 1, "median_ms": median,
        "steps": args.steps, "parameters": sum(p.numel() for p in estimator.parameters()),
        "final_loss": loss, "torch": torch.__version__,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
