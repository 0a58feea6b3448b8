"""examples/python-fleet/simulator.py, both ways it runs: ili's exec contract and a fleet worker."""

import importlib.util
import io
import os
import signal
import subprocess
import sys

import numpy as np

from ili_fleet import Message

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "..", "examples", "python-fleet", "simulator.py")
ENVIRONMENT = dict(os.environ, PYTHONPATH=os.path.join(HERE, ".."))


def load_example():
    spec = importlib.util.spec_from_file_location("python_fleet_simulator", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_exec(theta, seed):
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(theta, dtype=np.float64))
    done = subprocess.run([sys.executable, SCRIPT], input=buffer.getvalue(), capture_output=True, timeout=60,
                          env=dict(ENVIRONMENT, ILI_SEED=str(seed), ILI_BATCH_SIZE=str(len(theta))))
    assert done.returncode == 0, done.stderr.decode()
    return np.load(io.BytesIO(done.stdout))


def test_the_exec_contract_simulates_the_toy_with_unit_noise_seeded_per_batch():
    example = load_example()
    theta = np.random.default_rng(0).uniform(size=(400, 3))
    x = run_exec(theta, 2**64 - 1)
    assert x.shape == (400, 10) and x.dtype == np.float64
    t = np.arange(10.0)
    noise = x - (3 * theta[:, :1] * np.sin(t) + theta[:, 1:2] * t ** 2 - 2 * theta[:, 2:3] * t)
    assert abs(noise.mean()) < 0.05 and abs(noise.std() - 1) < 0.05
    # Same seed, same x; another seed, other noise; rows do not share their noise.
    np.testing.assert_array_equal(run_exec(theta, 2**64 - 1), x)
    assert not np.allclose(run_exec(theta, 5), x)
    assert abs(np.corrcoef(noise[0], noise[1])[0, 1]) < 0.9
    # A batch of one θ gives the same x as the fleet's task with that seed.
    np.testing.assert_array_equal(run_exec(theta[:1], 7), example.simulate(theta[:1], np.array([7], dtype=np.uint64)))


def test_the_fleet_worker_simulates_each_row_with_its_seed_and_leaves_on_shutdown(coordinator):
    example = load_example()
    worker = subprocess.Popen([sys.executable, SCRIPT, "--connect", coordinator.endpoint, "--name", "py-toy"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=ENVIRONMENT)
    try:
        peer, hello = coordinator.receive("hello", timeout=60)
        assert hello.header["worker"] == "py-toy" and hello.header["kind"] == "simulator"
        coordinator.welcome(peer)
        theta = np.array([[0.1, 0.2, 0.3], [0.7, 0.3, 0.8]])
        seeds = [11, 2**64 - 2]
        coordinator.send(peer, Message("task", {"batch": "b", "experiment": "e", "round": 0, "task_ids": ["b/0", "b/1"],
                                                "seeds": seeds, "x_count": 10}, {"theta": theta}))
        _, result = coordinator.receive("result")
        assert result.header["failures"] == [None, None]
        np.testing.assert_array_equal(result.arrays["x"], example.simulate(theta, np.array(seeds, dtype=np.uint64)))
        coordinator.send(peer, Message("shutdown", {"reason": "experiment done"}))
        output, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, output.decode()
    assert "simulator.py py-toy: simulated 2 simulations in 1 batches; the coordinator ended the experiment: experiment done" \
        in output.decode()


def test_the_fleet_worker_stops_on_sigterm_and_says_what_it_did(coordinator):
    worker = subprocess.Popen([sys.executable, SCRIPT, "--connect", coordinator.endpoint, "--name", "py-term"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=ENVIRONMENT)
    try:
        coordinator.receive("hello", timeout=60)
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, output.decode()
    assert "simulated 0 simulations in 0 batches; stopped by a signal" in output.decode()
