"""LtU-ILI's three-parameter toy, written in Python/numpy, as an ili simulator two ways.

    θ ~ U(0, 1)³,   x_t = 3 θ₀ sin t + θ₁ t² − 2 θ₂ t + ε_t,   ε_t ~ N(0, 1),   t = 0, 1, …, 9

ili's exec contract (what `ili run config.yaml` runs, in this folder): a θ batch as a
.npy array on standard input, the x batch as a .npy array on standard output, a seed for
the batch in ILI_SEED:

    python3 simulator.py < theta.npy > x.npy

A fleet worker (needs pyzmq and ops/python's ili_fleet on PYTHONPATH, or `pip install
ops/python`), serving the coordinator of `ili run config.yaml --bind tcp://…`:

    python3 simulator.py --connect tcp://coordinator:5555 --name py-1 \
        --key keys/py-1.key --server-key keys/coordinator.pub

Row i's noise comes from its own generator, seeded with the task's seed (the fleet sends
one per row). The exec contract gives one seed per batch: its first row uses it as is and
row i > 0 uses the seed sequence (ILI_SEED, i), so a batch of one θ gives the same x both
ways.
"""

import argparse
import io
import os
import signal
import sys
import threading

import numpy as np

T = np.arange(10.0)


def simulate(theta, seeds):
    """x for each row of θ (n × 3), row i's noise drawn from a generator seeded by seeds[i]."""
    theta = np.asarray(theta, dtype=np.float64).reshape(-1, 3)
    if len(seeds) != len(theta):
        raise ValueError("%d seeds for %d θ rows" % (len(seeds), len(theta)))
    mean = 3 * theta[:, :1] * np.sin(T) + theta[:, 1:2] * T ** 2 - 2 * theta[:, 2:3] * T
    noise = np.stack([np.random.default_rng(int(seed)).standard_normal(T.size) for seed in seeds]) \
        if len(seeds) else np.zeros((0, T.size))
    return mean + noise


def batch_seeds(seed, n):
    """One seed per row from the exec contract's one seed per batch."""
    return [seed] + [int(np.random.SeedSequence([seed, i]).generate_state(1, np.uint64)[0]) for i in range(1, n)]


def exec_contract():
    theta = np.load(io.BytesIO(sys.stdin.buffer.read()))   # a pipe cannot seek, which np.load wants
    theta = theta.reshape(1, -1) if theta.ndim == 1 else theta
    x = simulate(theta, batch_seeds(int(os.environ.get("ILI_SEED", "0")), len(theta)))
    np.save(sys.stdout.buffer, x)


def fleet_worker(arguments):
    from ili_fleet import serve   # only the worker needs pyzmq

    name = arguments.name
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    counts = {"batches": 0, "simulations": 0}

    def counted(theta, seeds):
        x = simulate(theta, seeds)
        counts["batches"] += 1
        counts["simulations"] += len(x)
        if counts["batches"] == 1:
            say("first batch: %d simulations" % len(x))
        return x

    def say(line):
        print("simulator.py %s: %s" % (name, line), flush=True)

    # launch-local starts the coordinator once each Python worker has said this (imports done).
    say("joining %s" % arguments.connect)
    reason = serve(counted, arguments.connect, name=name, credit=arguments.credit, key=arguments.key,
                   server_key=arguments.server_key, insecure=arguments.insecure, stop=stop, log=say)
    say("simulated %d simulations in %d batches; %s" % (
        counts["simulations"], counts["batches"],
        "stopped by a signal" if reason is None else "the coordinator ended the experiment: %s" % reason))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connect", metavar="ENDPOINT",
                        help="serve the fleet coordinator at ENDPOINT; without it, the exec contract (stdin → stdout)")
    parser.add_argument("--name", default=None, help="the worker's name in the coordinator's log and registry")
    parser.add_argument("--key", help="this worker's key pair (the .key of `ili keys generate`), for tcp")
    parser.add_argument("--server-key", help="the coordinator's public key (its .pub), for tcp")
    parser.add_argument("--credit", type=int, default=2, help="task batches held at once (default 2)")
    parser.add_argument("--insecure", action="store_true", help="tcp without CURVE, on a trusted loopback only")
    arguments = parser.parse_args()
    if arguments.connect is None:
        exec_contract()
    else:
        arguments.name = arguments.name or "ltu-toy-python@%s:%d" % (os.uname().nodename, os.getpid())
        fleet_worker(arguments)


if __name__ == "__main__":
    main()
