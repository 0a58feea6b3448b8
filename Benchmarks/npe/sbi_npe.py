"""The sbi side of the NPE benchmark: trains NPE with a MAF on the given files, samples
at each observation, and prints one JSON line with the timings."""
import argparse, json, time

import numpy as np
import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--theta", required=True)
    p.add_argument("--x", required=True)
    p.add_argument("--obs", nargs="+", required=True)
    p.add_argument("--out-prefix", required=True)
    p.add_argument("--num-samples", type=int, default=10_000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    import sbi
    from sbi.inference import NPE
    from sbi.neural_nets import posterior_nn
    from sbi.utils import BoxUniform

    theta = torch.tensor(np.load(a.theta), dtype=torch.float32)
    x = torch.tensor(np.load(a.x), dtype=torch.float32)
    prior = BoxUniform(low=-torch.ones(2), high=torch.ones(2))
    estimator = posterior_nn(model="maf", hidden_features=50, num_transforms=5)
    inference = NPE(prior=prior, density_estimator=estimator, show_progress_bars=False)
    t0 = time.perf_counter()
    inference.append_simulations(theta, x).train(training_batch_size=200, learning_rate=5e-4,
                                                 validation_fraction=0.1, stop_after_epochs=20)
    train_seconds = time.perf_counter() - t0
    summary = inference._summary
    # sbi records the best validation loss, the negative mean log-probability.
    best_loss = summary.get("best_validation_loss", [float("nan")])
    # The MAF's random permutations, as ili's config records them (with two features a
    # draw decides which feature each step conditions, a large part of a seed's C2ST).
    permutations = [m._permutation.tolist() for m in inference._neural_net.net._transform.modules()
                    if type(m).__name__ == "RandomPermutation"]
    posterior = inference.build_posterior()
    sample_seconds = []
    for k, path in enumerate(a.obs):
        xo = torch.tensor(np.load(path), dtype=torch.float32).reshape(1, -1)
        t0 = time.perf_counter()
        s = posterior.sample((a.num_samples,), x=xo, show_progress_bars=False)
        sample_seconds.append(time.perf_counter() - t0)
        np.save(f"{a.out_prefix}{k + 1}.npy", s.numpy().astype(np.float32))
    print(json.dumps({"impl": f"sbi {sbi.__version__}", "train_seconds": train_seconds,
                      "epochs": int(summary["epochs_trained"][-1]),
                      "best_validation_log_prob": -float(best_loss[-1]) if len(best_loss) else float("nan"),
                      "sample_seconds": sample_seconds, "permutations": permutations}))


if __name__ == "__main__":
    main()
