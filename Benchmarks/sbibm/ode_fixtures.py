"""Noise-free Lotka-Volterra and SIR summaries from scipy's DOP853 at tight tolerances:
the independent solutions Tests/ILIInferenceTests/ODETaskTests.swift checks ili's
integrator against. Prints Swift array literals.

    Benchmarks/.venv/bin/python Benchmarks/sbibm/ode_fixtures.py
"""
import numpy as np
from scipy.integrate import solve_ivp

# Populations fall to 1e-16 on some prior draws, so the absolute tolerance is far below them.
TOL = dict(method="DOP853", rtol=1e-13, atol=1e-30)


def lotka_volterra(theta):
    a, b, c, d = theta
    f = lambda t, u: [a * u[0] - b * u[0] * u[1], -c * u[1] + d * u[0] * u[1]]
    times = np.arange(10) * 2.1
    sol = solve_ivp(f, (0, 20), [30.0, 1.0], t_eval=times, **TOL)
    return np.concatenate([sol.y[0], sol.y[1]])


def sir(theta, n=1e6):
    b, g = theta
    f = lambda t, u: [-b * u[0] * u[1] / n, b * u[0] * u[1] / n - g * u[1], g * u[1]]
    times = np.arange(10) * 17.0
    sol = solve_ivp(f, (0, 160), [n - 1, 1.0, 0.0], t_eval=times, **{**TOL, "atol": 1e-9})
    return sol.y[1]


def show(name, theta, values):
    print(f"// {name} at θ = {list(theta)}")
    print("[" + ", ".join("%.12g" % v for v in values) + "]")


for theta in ([0.6859157, 0.10761319, 0.88789904, 0.116794825],  # sbibm observation 1's true θ
              [2.4, 0.02, 0.3, 0.1],                              # fast prey, slow predators: large swings
              [0.5, 0.12, 2.2, 0.01]):                            # predators die out
    show("lotka_volterra", theta, lotka_volterra(theta))
for theta in ([0.61479264, 0.19172086],                           # sbibm observation 1's true θ
              [0.25, 0.18],
              [1.6, 0.09]):
    show("sir", theta, sir(theta))
