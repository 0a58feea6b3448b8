"""The sbi side of the SBI-benchmark task comparison: trains NPE (MAF), NLE (MAF
likelihood) or NRE-B (ResNet classifier, 10 atoms) with sbi's defaults on ili's θ/x files
for the Lotka-Volterra or SIR task, with the task's log-normal prior, draws samples at each
observation and prints one JSON line with the timings.

    sbi_task.py --task lotka_volterra|sir --method npe|nle|nre --theta T --x X \
                --obs O1 [O2 ...] --out-prefix P [--threads N] [--seed S]

Samples go to P1.npy, P2.npy, ... in the order of --obs. Run it in a scratch directory:
sbi writes sbi-logs/ into the working directory."""
import argparse, json, math, time

import numpy as np
import torch

# log θ ~ N(loc, scale²) per parameter, as the tasks define their priors.
PRIORS = {
    "lotka_volterra": ([-0.125, -3.0, -0.125, -3.0], [0.5, 0.5, 0.5, 0.5]),
    "sir": ([math.log(0.4), math.log(0.125)], [0.5, 0.2]),
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--task", choices=sorted(PRIORS), required=True)
    p.add_argument("--method", choices=["npe", "nle", "nre"], required=True)
    p.add_argument("--theta", required=True)
    p.add_argument("--x", required=True)
    p.add_argument("--obs", nargs="+", required=True)
    p.add_argument("--out-prefix", required=True)
    p.add_argument("--num-samples", type=int, default=10_000)
    p.add_argument("--chains", type=int, default=20)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    import sbi
    from sbi.inference import NLE, NPE, NRE_B
    from sbi.inference.posteriors import MCMCPosteriorParameters
    from sbi.neural_nets import classifier_nn, likelihood_nn, posterior_nn

    loc, scale = PRIORS[a.task]
    prior = torch.distributions.Independent(
        torch.distributions.LogNormal(torch.tensor(loc), torch.tensor(scale)), 1)
    theta = torch.tensor(np.load(a.theta), dtype=torch.float32)
    x = torch.tensor(np.load(a.x), dtype=torch.float32)
    # sbi's train() defaults, written out: batch 200, lr 5e-4, validation 0.1, patience 20.
    settings = dict(training_batch_size=200, learning_rate=5e-4, validation_fraction=0.1,
                    stop_after_epochs=20)
    if a.method == "npe":
        inference = NPE(prior=prior, density_estimator=posterior_nn(model="maf", hidden_features=50, num_transforms=5),
                        show_progress_bars=False)
    elif a.method == "nle":
        inference = NLE(prior=prior, density_estimator=likelihood_nn(model="maf", hidden_features=50, num_transforms=5),
                        show_progress_bars=False)
    else:
        inference = NRE_B(prior=prior, classifier=classifier_nn(model="resnet", hidden_features=50),
                          show_progress_bars=False)
        settings["num_atoms"] = 10
    t0 = time.perf_counter()
    # sbi drops rows with NaN or infinite x by default, as ili does (failed ODE solves).
    inference.append_simulations(theta, x).train(**settings)
    train_seconds = time.perf_counter() - t0
    summary = inference._summary

    if a.method == "npe":
        posterior = inference.build_posterior()
    else:
        params = MCMCPosteriorParameters(method="slice_np_vectorized", num_chains=a.chains,
                                         warmup_steps=a.warmup, thin=1, init_strategy="resample")
        posterior = inference.build_posterior(sample_with="mcmc", posterior_parameters=params)
    sample_seconds = []
    for k, path in enumerate(a.obs):
        xo = torch.tensor(np.load(path), dtype=torch.float32).reshape(1, -1)
        t0 = time.perf_counter()
        s = posterior.sample((a.num_samples,), x=xo, show_progress_bars=False)
        sample_seconds.append(time.perf_counter() - t0)
        np.save(f"{a.out_prefix}{k + 1}.npy", s.numpy().astype(np.float32))
    # sbi's MCMC prints a message without a newline: start the JSON on its own line.
    print()
    print(json.dumps({"impl": f"sbi {sbi.__version__}", "task": a.task, "method": a.method,
                      "train_seconds": train_seconds, "epochs": int(summary["epochs_trained"][-1]),
                      "sample_seconds": sample_seconds}))


if __name__ == "__main__":
    main()
