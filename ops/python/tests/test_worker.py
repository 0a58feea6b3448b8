import threading

import numpy as np

from ili_fleet import Message, serve, stream


def task(batch, theta, seeds=None):
    theta = np.asarray(theta, dtype=np.float64)
    return Message("task", {"batch": batch, "experiment": "e", "round": 0, "task_ids": ["%s/%d" % (batch, i) for i in range(len(theta))],
                            "seeds": seeds or list(range(len(theta))), "x_count": 3}, {"theta": theta})


def test_serve_says_hello_simulates_and_stops_on_shutdown(coordinator, in_thread):
    def simulate(theta, seeds):
        return np.column_stack([theta.sum(axis=1), theta[:, 0], seeds.astype(np.float64)])
    result = in_thread(serve, simulate, coordinator.endpoint, name="py-1", credit=3)
    peer, hello = coordinator.receive("hello")
    assert hello.header == {"worker": "py-1", "kind": "simulator", "credit": 3, "capabilities": {"language": "python"}}
    coordinator.welcome(peer)
    coordinator.send(peer, task("b1", [[1.0, 2.0], [3.0, 4.0]], seeds=[7, 2**64 - 1]))
    _, reply = coordinator.receive("result")
    assert reply.header["batch"] == "b1"
    assert reply.header["task_ids"] == ["b1/0", "b1/1"]
    assert reply.header["failures"] == [None, None]
    np.testing.assert_allclose(reply.arrays["x"], [[3, 1, 7], [7, 3, float(2**64 - 1)]])
    coordinator.send(peer, Message("shutdown", {"reason": "experiment done"}))
    assert result() == "experiment done"


def test_a_failing_simulation_is_reported_row_by_row_and_the_worker_goes_on(coordinator, in_thread):
    def simulate(theta, seeds):
        if theta[0, 0] > 5:
            raise RuntimeError("theta too large")
        return np.zeros((len(theta), 3))
    result = in_thread(serve, simulate, coordinator.endpoint, name="py-2")
    peer, _ = coordinator.receive("hello")
    coordinator.welcome(peer)
    coordinator.send(peer, task("bad", [[9.0, 0.0], [1.0, 1.0]]))
    _, reply = coordinator.receive("result")
    assert reply.header["failures"] == ["RuntimeError: theta too large"] * 2
    coordinator.send(peer, task("good", [[1.0, 0.0]]))
    _, reply = coordinator.receive("result")
    assert reply.header["failures"] == [None]
    coordinator.send(peer, Message("shutdown", {"reason": "done"}))
    assert result() == "done"


def test_heartbeats_flow_and_a_silent_coordinator_is_left_and_greeted_again(coordinator, in_thread):
    stop = threading.Event()
    result = in_thread(serve, lambda theta, seeds: np.zeros((len(theta), 3)), coordinator.endpoint, name="py-3", stop=stop)
    peer, _ = coordinator.receive("hello")
    coordinator.welcome(peer, heartbeat_ms=100, timeout_ms=1000)
    coordinator.receive("heartbeat", timeout=5)
    # Silence: the worker gives up on this connection and says hello on a new one.
    second, hello = coordinator.receive("hello", timeout=20)
    assert hello.header["worker"] == "py-3"
    assert second != peer
    stop.set()
    assert result() is None


def test_an_unknown_worker_error_makes_the_worker_say_hello_again(coordinator, in_thread):
    stop = threading.Event()
    result = in_thread(serve, lambda theta, seeds: np.zeros((len(theta), 3)), coordinator.endpoint, name="py-4", stop=stop)
    peer, _ = coordinator.receive("hello")
    coordinator.welcome(peer)
    coordinator.send(peer, Message("error", {"code": "unknown-worker", "message": "say hello again"}))
    again, _ = coordinator.receive("hello", timeout=10)
    assert again == peer
    stop.set()
    result()


def test_stream_keeps_pairs_until_acknowledged_and_resends_them(coordinator, in_thread):
    batches = iter([(np.ones((2, 2)), np.zeros((2, 3))), (np.full((1, 2), 0.5), np.ones((1, 3)))])

    def producer():
        return next(batches)
    result = in_thread(stream, producer, coordinator.endpoint, name="prod")
    peer, hello = coordinator.receive("hello")
    assert hello.header["kind"] == "producer"
    coordinator.welcome(peer)
    _, first = coordinator.receive("pairs")
    assert first.header["task_ids"] == ["prod/0/0", "prod/0/1"]
    np.testing.assert_array_equal(first.arrays["theta"], np.ones((2, 2)))
    # Not taken yet: the same batch comes again after the wait.
    coordinator.send(peer, Message("error", {"code": "not-accepting", "message": "later", "batch": "prod/0", "retry_after_ms": 50}))
    seen = []
    while {"prod/0", "prod/1"} - {m.header["batch"] for m in seen}:
        _, again = coordinator.receive("pairs")
        seen.append(again)
    for message in seen:
        coordinator.send(peer, Message("ack", {"batch": message.header["batch"], "accepted": len(message.header["task_ids"]), "duplicates": 0}))
    assert result() == "the producer has nothing more"
