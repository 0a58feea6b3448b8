"""Simulator and producer workers: connection, heartbeats, reconnection, credit."""

import os
import socket as _socket
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import zmq

from .protocol import Message, ProtocolError, decode, encode


class Stopped(Exception):
    """Raised inside a worker loop when its stop event is set."""


def _read_key_file(path, field):
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line.startswith("#") or "=" not in line:
            continue
        name, value = (part.strip() for part in line.split("=", 1))
        if name == field:
            return value.strip("\"'").encode("ascii")
    raise ValueError("%s holds no `%s = …` line" % (path, field))


class _Connection:
    """A DEALER socket to the coordinator that says hello until welcomed, heartbeats, and
    reconnects with doubling backoff when the coordinator goes silent or forgets us."""

    def __init__(self, endpoint, hello, key=None, server_key=None, insecure=False, log=None,
                 hello_interval=1.0, silence_timeout=10.0, max_backoff=5.0):
        if endpoint.startswith("tcp://") and not (key and server_key) and not insecure:
            raise ValueError("%s: tcp needs CURVE keys (key=worker.key, server_key=coordinator.pub), "
                             "or insecure=True on a trusted loopback" % endpoint)
        self.endpoint, self.hello = endpoint, hello
        self.key, self.server_key, self.log = key, server_key, log or (lambda line: None)
        self.hello_interval, self.silence_timeout, self.max_backoff = hello_interval, silence_timeout, max_backoff
        self.context = zmq.Context.instance()
        self.socket = None
        self.welcome = None
        self.backoff = 0.1
        # Reconnections of many workers spread apart by a fraction fixed per name.
        self.spread = 0.5 + (zlib.crc32(hello["worker"].encode()) % 1000) / 2000.0
        self._open()

    def _open(self):
        sock = self.context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 2000)
        sock.setsockopt(zmq.IMMEDIATE, 1)
        if self.endpoint.startswith("tcp://") and self.key:
            sock.curve_publickey = _read_key_file(self.key, "public-key")
            sock.curve_secretkey = _read_key_file(self.key, "secret-key")
            sock.curve_serverkey = _read_key_file(self.server_key, "public-key")
        sock.connect(self.endpoint)
        self.socket = sock
        self.welcome = None
        self.heartbeat = 1.0
        self.timeout = self.silence_timeout
        self.last_heard = time.monotonic()
        self.last_sent = -1e9
        self.next_hello = -1e9

    def reconnect(self, reason):
        delay = min(self.max_backoff, self.backoff) * self.spread
        self.log("reconnecting in %.1f s: %s" % (delay, reason))
        self.socket.close(linger=0)
        time.sleep(delay)
        self.backoff = min(self.max_backoff, self.backoff * 2)
        self._open()

    def send(self, message):
        try:
            self.socket.send_multipart(encode(message), flags=zmq.NOBLOCK)
            self.last_sent = time.monotonic()
            return True
        except zmq.Again:
            return False

    def poll(self, timeout):
        """Keeps the connection alive and returns the next message for the caller (or None)."""
        now = time.monotonic()
        if self.welcome is None and now >= self.next_hello:
            # Until the connection (and its CURVE handshake) is made a send is refused, not
            # queued: try again shortly rather than a whole hello interval later.
            sent = self.send(Message("hello", self.hello))
            self.next_hello = now + (self.hello_interval if sent else min(self.hello_interval, 0.05))
        if self.welcome is not None and now - self.last_sent >= self.heartbeat:
            self.send(Message("heartbeat", {}))
        if now - self.last_heard > self.timeout:
            self.reconnect("no welcome within %.0f s" % self.timeout if self.welcome is None
                           else "the coordinator was silent for %.0f s" % (now - self.last_heard))
            return Message("reconnected", {})
        wait = min(timeout, self.heartbeat / 2, self.hello_interval / 2)
        if self.welcome is None:
            wait = min(wait, max(0.0, self.next_hello - now))
        if not self.socket.poll(int(wait * 1000)):
            return None
        try:
            message = decode(self.socket.recv_multipart())
        except ProtocolError as error:
            self.log("unreadable message from the coordinator: %s" % error)
            return None
        self.last_heard = time.monotonic()
        if message.type == "welcome":
            self.welcome = message.header
            self.heartbeat = max(1, message.header["heartbeat_ms"]) / 1000.0
            self.timeout = max(1, message.header["timeout_ms"]) / 1000.0
            self.backoff = 0.1
            self.log("connected: experiment %s" % message.header["experiment"])
            return message
        if message.type == "heartbeat":
            return None
        if message.type == "error":
            header = message.header
            if header.get("code") == "unknown-worker":
                self.welcome = None
                self.next_hello = -1e9
            else:
                self.log("the coordinator refused a message (%s): %s" % (header.get("code"), header.get("message")))
        return message

    def close(self):
        self.socket.close()


def _default_name(kind):
    return "%s-python@%s:%d" % (kind, _socket.gethostname(), os.getpid())


def serve(simulate, endpoint, *, name=None, credit=2, key=None, server_key=None, insecure=False,
          stop=None, log=None, silence_timeout=10.0):
    """Simulates the θ batches the coordinator at ``endpoint`` sends, until it ends the
    experiment (returns its reason) or ``stop`` (a threading.Event) is set (returns None).

    ``simulate(theta, seeds)`` gets θ as an (n, d) float64 array and one uint64 seed per row,
    and returns x as an (n, m) array (rows of NaN are recorded as failed simulations). An
    exception fails the whole batch, row by row, with its message; the worker goes on.
    ``key``/``server_key`` are the files of ``ili keys generate`` (CURVE, for tcp).
    """
    name = name or _default_name("simulate")
    connection = _Connection(endpoint, {"worker": name, "kind": "simulator", "credit": int(credit),
                                        "capabilities": {"language": "python"}},
                             key, server_key, insecure, log, silence_timeout=silence_timeout)
    pool = ThreadPoolExecutor(max_workers=1)
    queue, running, finished = [], None, []

    def run(task):
        theta, seeds = task.arrays["theta"], np.asarray(task.header["seeds"], dtype=np.uint64)
        n, m = len(theta), int(task.header["x_count"])
        failures = [None] * n
        try:
            x = np.asarray(simulate(theta, seeds), dtype=np.float64).reshape(n, -1)
            if x.shape[1] != m:
                raise ValueError("simulate returned rows of %d values; the experiment's x has %d" % (x.shape[1], m))
        except Exception as error:  # a failed batch is reported, never fatal
            x = np.full((n, m), np.nan)
            failures = ["%s: %s" % (type(error).__name__, error)] * n
        return Message("result", {"batch": task.header["batch"], "task_ids": task.header["task_ids"],
                                  "failures": failures}, {"x": x})

    try:
        while True:
            if stop is not None and stop.is_set():
                return None
            if running is not None and running.done():
                finished.append(running.result())
                running = None
            while finished and connection.welcome is not None:
                if not connection.send(finished[0]):
                    break
                finished.pop(0)
            if running is None and queue:
                running = pool.submit(run, queue.pop(0))
            message = connection.poll(0.05 if running is not None else 0.25)
            if message is None:
                continue
            if message.type == "task":
                queue.append(message)
            elif message.type in ("welcome", "reconnected"):
                queue.clear()   # tasks of an old connection went to other workers
            elif message.type == "shutdown":
                return message.header.get("reason", "")
    finally:
        pool.shutdown(wait=True)
        connection.close()


def stream(producer, endpoint, *, name=None, key=None, server_key=None, insecure=False, stop=None, log=None,
           max_unacknowledged=4, silence_timeout=10.0):
    """Streams the (θ, x) batches ``producer()`` returns to the coordinator at ``endpoint``
    until it ends the experiment (returns its reason) or ``stop`` is set (returns None).
    ``producer`` is called for each new batch and returns (theta, x), arrays of one row per
    pair; it may raise StopIteration when it has nothing more. Each batch is kept until the
    coordinator acknowledges it (committed to the registry) and sent again after a
    reconnection or when the coordinator is not taking pairs yet, so none is lost, and
    resending is harmless (pairs are matched by their task ids).
    """
    name = name or _default_name("produce")
    connection = _Connection(endpoint, {"worker": name, "kind": "producer", "credit": 0,
                                        "capabilities": {"language": "python"}},
                             key, server_key, insecure, log, silence_timeout=silence_timeout)
    unacknowledged = {}          # batch id -> Message
    sequence = 0
    exhausted = False
    retry_at = 0.0
    try:
        while True:
            if stop is not None and stop.is_set():
                return None
            now = time.monotonic()
            if (connection.welcome is not None and not exhausted and len(unacknowledged) < max_unacknowledged
                    and now >= retry_at):
                try:
                    theta, x = producer()
                except StopIteration:
                    exhausted = True
                else:
                    theta, x = np.asarray(theta), np.asarray(x)
                    batch = "%s/%d" % (name, sequence)
                    ids = ["%s/%d" % (batch, i) for i in range(len(theta))]
                    sequence += 1
                    message = Message("pairs", {"batch": batch, "task_ids": ids},
                                      {"theta": theta.reshape(len(theta), -1), "x": x.reshape(len(x), -1)})
                    unacknowledged[batch] = message
                    connection.send(message)
            if exhausted and not unacknowledged:
                return "the producer has nothing more"
            message = connection.poll(0.05)
            if message is None:
                continue
            if message.type == "ack":
                unacknowledged.pop(message.header.get("batch"), None)
            elif message.type == "error" and message.header.get("code") == "not-accepting":
                retry_at = time.monotonic() + message.header.get("retry_after_ms", 1000) / 1000.0
                pending = unacknowledged.get(message.header.get("batch"))
                if pending is not None:
                    _resend_later(connection, pending, retry_at)
            elif message.type in ("welcome",):
                for pending in unacknowledged.values():
                    connection.send(pending)
            elif message.type == "shutdown":
                return message.header.get("reason", "")
    finally:
        connection.close()


def _resend_later(connection, message, when):
    """Sends ``message`` again at ``when`` (on the caller's next polls)."""
    delay = max(0.0, when - time.monotonic())
    time.sleep(min(delay, 1.0))
    connection.send(message)
