import os
import sys
import tempfile
import threading
import time

import pytest
import zmq

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from ili_fleet import Message, decode, encode  # noqa: E402


class FakeCoordinator:
    """A ROUTER on an ipc endpoint that records what workers send and replies as the test says."""

    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix="ili-fleet-test-")
        self.endpoint = "ipc://%s/coordinator.sock" % self.directory
        self.context = zmq.Context.instance()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.bind(self.endpoint)

    def receive(self, kind=None, timeout=20.0):
        """The next (peer, message) of type ``kind``, answering heartbeats silently."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.socket.poll(100):
                continue
            frames = self.socket.recv_multipart()
            message = decode(frames[1:])
            if kind is None or message.type == kind:
                return frames[0], message
        raise AssertionError("no %s message within %.0f s" % (kind or "", timeout))

    def send(self, peer, message):
        self.socket.send_multipart([peer] + encode(message))

    def welcome(self, peer, heartbeat_ms=200, timeout_ms=2000):
        self.send(peer, Message("welcome", {"experiment": "e", "theta_dim": 2, "x_shape": [3], "heartbeat_ms": heartbeat_ms,
                                            "timeout_ms": timeout_ms, "max_message_bytes": 1 << 20, "prior": None}))

    def close(self):
        self.socket.close()


@pytest.fixture
def coordinator():
    fake = FakeCoordinator()
    yield fake
    fake.close()


@pytest.fixture
def in_thread():
    """Runs a function on a thread and returns a getter for its result."""
    threads = []

    def start(function, *args, **kwargs):
        box = {}

        def body():
            try:
                box["result"] = function(*args, **kwargs)
            except BaseException as error:  # reported by the getter
                box["error"] = error
        thread = threading.Thread(target=body, daemon=True)
        thread.start()
        threads.append(thread)

        def result(timeout=30):
            thread.join(timeout)
            assert not thread.is_alive(), "the worker did not return"
            if "error" in box:
                raise box["error"]
            return box.get("result")
        return result
    return start
