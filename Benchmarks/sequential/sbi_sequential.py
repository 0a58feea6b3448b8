"""The sbi side of the sequential benchmark: two moons, R rounds of N simulations focused
on one observation, with SNPE-C (sbi's NPE with the atomic loss after the first round) or
SNLE, each with sbi's defaults. Writes 10,000 posterior samples at the observation and
prints one JSON line with the wall time."""
import argparse, json, math, time

import numpy as np
import torch


def two_moons(theta):
    """The SBI benchmark's two-moons simulator."""
    n = theta.shape[0]
    a = (torch.rand(n) - 0.5) * math.pi
    r = 0.1 + 0.01 * torch.randn(n)
    p = torch.stack([r * torch.cos(a) + 0.25, r * torch.sin(a)], dim=1)
    s = 1 / math.sqrt(2)
    u = torch.stack([-torch.abs(theta[:, 0] + theta[:, 1]) * s, (-theta[:, 0] + theta[:, 1]) * s], dim=1)
    return p + u


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", choices=["snpe", "snle"], required=True)
    ap.add_argument("--obs", required=True)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--per-round", type=int, default=1000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    import sbi
    from sbi.inference import NLE, NPE
    from sbi.utils import BoxUniform

    prior = BoxUniform(low=-torch.ones(2), high=torch.ones(2))
    xo = torch.tensor(np.load(a.obs), dtype=torch.float32).reshape(1, -1)
    t0 = time.perf_counter()
    inference = NPE(prior=prior, show_progress_bars=False) if a.method == "snpe" else NLE(prior=prior, show_progress_bars=False)
    proposal = prior
    epochs = []
    for r in range(a.rounds):
        theta = proposal.sample((a.per_round,))
        x = two_moons(theta)
        if a.method == "snpe":
            estimator = inference.append_simulations(theta, x, proposal=proposal).train()
            posterior = inference.build_posterior(estimator)
        else:
            estimator = inference.append_simulations(theta, x).train()
            posterior = inference.build_posterior(estimator)
        epochs.append(int(inference._summary["epochs_trained"][-1]))
        proposal = posterior.set_default_x(xo)
    train_and_rounds = time.perf_counter() - t0
    t1 = time.perf_counter()
    samples = posterior.sample((10_000,), x=xo, show_progress_bars=False)
    sample_seconds = time.perf_counter() - t1
    np.save(a.out, samples.numpy().astype(np.float32))
    print(json.dumps({"impl": f"sbi {sbi.__version__}", "method": a.method, "seconds": train_and_rounds + sample_seconds,
                      "rounds_seconds": train_and_rounds, "sample_seconds": sample_seconds, "epochs": epochs}))


if __name__ == "__main__":
    main()
