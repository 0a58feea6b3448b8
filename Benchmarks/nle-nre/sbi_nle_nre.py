"""The sbi side of the NLE/NRE benchmark: trains NLE (MAF likelihood) or NRE-B (ResNet
classifier, 10 atoms) with sbi's defaults on the given files, draws samples with sbi's
vectorized slice sampler at each observation, and prints one JSON line with the timings.

    sbi_nle_nre.py --method nle|nre --theta T --x X --obs O1 [O2 ...] --out-prefix P

Samples go to P1.npy, P2.npy, ... Run it in a scratch directory: sbi writes sbi-logs/
into the working directory."""
import argparse, json, time

import numpy as np
import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--method", choices=["nle", "nre"], required=True)
    p.add_argument("--theta", required=True)
    p.add_argument("--x", required=True)
    p.add_argument("--obs", nargs="+", required=True)
    p.add_argument("--out-prefix", required=True)
    p.add_argument("--num-samples", type=int, default=10_000)
    p.add_argument("--chains", type=int, default=20)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--thin", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    import sbi
    from sbi.inference import NLE, NRE_B
    from sbi.inference.posteriors import MCMCPosteriorParameters
    from sbi.neural_nets import classifier_nn, likelihood_nn
    from sbi.utils import BoxUniform

    theta = torch.tensor(np.load(a.theta), dtype=torch.float32)
    x = torch.tensor(np.load(a.x), dtype=torch.float32)
    prior = BoxUniform(low=-torch.ones(2), high=torch.ones(2))
    settings = dict(training_batch_size=200, learning_rate=5e-4, validation_fraction=0.1,
                    stop_after_epochs=20)
    if a.method == "nle":
        estimator = likelihood_nn(model="maf", hidden_features=50, num_transforms=5)
        inference = NLE(prior=prior, density_estimator=estimator, show_progress_bars=False)
    else:
        estimator = classifier_nn(model="resnet", hidden_features=50)
        inference = NRE_B(prior=prior, classifier=estimator, show_progress_bars=False)
        settings["num_atoms"] = 10
    t0 = time.perf_counter()
    inference.append_simulations(theta, x).train(**settings)
    train_seconds = time.perf_counter() - t0
    summary = inference._summary
    # sbi records the best validation loss: for NLE the negative mean log-likelihood,
    # for NRE-B the mean cross-entropy of the 1-out-of-10 classification.
    best_loss = float(summary["best_validation_loss"][-1])
    if a.method == "nre":
        # sbi's NRE loss is already a batch mean, and its validation loop divides the sum
        # of those means by the number of validation rows again: undo that, so the figure
        # is the cross-entropy per pair that ili reports.
        best_loss *= settings["training_batch_size"]

    # sbi 0.27 takes the sampler settings as MCMCPosteriorParameters (mcmc_parameters=
    # dicts are deprecated). thin=1 explicitly: no thinning.
    params = MCMCPosteriorParameters(method="slice_np_vectorized", num_chains=a.chains,
                                     warmup_steps=a.warmup, thin=a.thin,
                                     init_strategy="resample")
    posterior = inference.build_posterior(sample_with="mcmc", posterior_parameters=params)
    sample_seconds = []
    for k, path in enumerate(a.obs):
        xo = torch.tensor(np.load(path), dtype=torch.float32).reshape(1, -1)
        t0 = time.perf_counter()
        s = posterior.sample((a.num_samples,), x=xo, show_progress_bars=False)
        sample_seconds.append(time.perf_counter() - t0)
        np.save(f"{a.out_prefix}{k + 1}.npy", s.numpy().astype(np.float32))
    # sbi prints its convergence message without a newline: start the JSON on its own line.
    print()
    print(json.dumps({"impl": f"sbi {sbi.__version__}", "method": a.method,
                      "train_seconds": train_seconds,
                      "epochs": int(summary["epochs_trained"][-1]),
                      "best_validation_loss": best_loss,
                      "best_validation_score": -best_loss,
                      "sample_seconds": sample_seconds,
                      "sampler": {"method": "slice_np_vectorized", "chains": a.chains,
                                  "warmup": a.warmup, "thin": a.thin,
                                  "init_strategy": "resample"}}))


if __name__ == "__main__":
    main()
