"""Join an ili experiment from Python.

A simulator that ili's coordinator (``ili run --bind``) sends θ batches to::

    import numpy as np
    from ili_fleet import serve

    def simulate(theta, seeds):          # theta: (n, d) float64, seeds: (n,) uint64
        return theta @ np.ones((theta.shape[1], 3)) + np.random.default_rng(int(seeds[0])).normal(size=(len(theta), 3))

    serve(simulate, "tcp://coordinator:5555", key="worker.key", server_key="coordinator.pub")

A producer that draws θ itself and streams (θ, x) pairs in (taken while a round draws
from the prior)::

    from ili_fleet import stream
    stream(lambda: draw_and_simulate(100), "ipc:///tmp/ili.sock")

The wire format is ``schemas/fleet-protocol.md`` in the ili repository.
"""

from .protocol import Message, ProtocolError, decode, encode, PROTOCOL
from .worker import Stopped, serve, stream

__all__ = ["serve", "stream", "Stopped", "Message", "ProtocolError", "encode", "decode", "PROTOCOL"]
