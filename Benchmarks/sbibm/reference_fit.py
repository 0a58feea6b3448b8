"""How well the benchmark's reference posterior samples explain their observation under
the model as ili implements it (noise-free summary from scipy's DOP853, then the task's
noise): for Lotka-Volterra the chi-square of the log-residuals over the 20 values (noise
scale 0.1; about 20 if the model is the benchmark's), for SIR the binomial deviance over
the 10 counts. A 10% change of θ is printed alongside to show the scale.

    Benchmarks/.venv/bin/python Benchmarks/sbibm/reference_fit.py [--files DIR] [--obs 1,2,3] [--draws 100]
"""
import argparse, os

import numpy as np
from scipy.integrate import solve_ivp


def lotka_volterra(theta):
    a, b, c, d = theta
    sol = solve_ivp(lambda t, u: [a * u[0] - b * u[0] * u[1], -c * u[1] + d * u[0] * u[1]], (0, 20), [30.0, 1.0],
                    t_eval=np.arange(10) * 2.1, method="DOP853", rtol=1e-10, atol=1e-14)
    return np.clip(np.concatenate([sol.y[0], sol.y[1]]), 1e-10, 1e4)


def sir_probabilities(theta, n=1e6):
    b, g = theta
    sol = solve_ivp(lambda t, u: [-b * u[0] * u[1] / n, b * u[0] * u[1] / n - g * u[1]], (0, 160), [n - 1, 1.0],
                    t_eval=np.arange(10) * 17.0, method="DOP853", rtol=1e-10, atol=1e-9)
    return np.clip(sol.y[1] / n, 1e-300, 1 - 1e-16)


def lv_chi_square(theta, x):
    return float((((np.log(x) - np.log(lotka_volterra(theta))) / 0.1) ** 2).sum())


def sir_deviance(theta, x, trials=1000):
    p = sir_probabilities(theta)
    # 2 Σ [k log(k / np) + (n − k) log((n − k) / (n(1 − p)))], with 0 log 0 = 0.
    k = x
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(k > 0, k * np.log(k / (trials * p)), 0.0)
        b = np.where(k < trials, (trials - k) * np.log((trials - k) / (trials * (1 - p))), 0.0)
    return float(2 * (a + b).sum())


def read(path):
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--files", default="Benchmarks/out/sbibm/files")
    p.add_argument("--obs", default="1,2,3")
    p.add_argument("--draws", type=int, default=100)
    a = p.parse_args()
    for task, score in (("lotka_volterra", lv_chi_square), ("sir", sir_deviance)):
        for k in a.obs.split(","):
            d = os.path.join(a.files, task, f"num_observation_{k}")
            x = read(os.path.join(d, "observation.csv"))[0]
            samples = read(os.path.join(d, "reference_posterior_samples.csv"))[: a.draws]
            fit = [score(t, x) for t in samples]
            off = [score(t * 1.1, x) for t in samples[:20]]
            print("%-14s obs %s: reference draws %6.1f (5%%–95%%: %.1f–%.1f), θ × 1.1: %.0f" % (
                task, k, np.mean(fit), *np.percentile(fit, [5, 95]), np.mean(off)))


if __name__ == "__main__":
    main()
