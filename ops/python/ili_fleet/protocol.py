"""Messages of the ili-fleet/1 protocol as frames: tag/version, type, JSON header, arrays."""

import json
from dataclasses import dataclass, field

import numpy as np

PROTOCOL = b"ili-fleet/1"
TYPES = {"hello", "welcome", "task", "result", "pairs", "ack", "heartbeat", "job", "job-done", "error", "shutdown"}
DTYPES = {"<f4": np.dtype("<f4"), "<f8": np.dtype("<f8")}


class ProtocolError(ValueError):
    """Frames that are not a valid message."""


@dataclass
class Message:
    type: str
    header: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)   # name -> 2-D numpy array, in header order


def encode(message):
    """The frames of ``message``: arrays are sent little-endian, C order, 2-D."""
    if message.type not in TYPES:
        raise ProtocolError("unknown message type %r" % message.type)
    header = dict(message.header)
    frames = []
    if message.arrays:
        described = []
        for name, array in message.arrays.items():
            array = np.asarray(array)
            if array.ndim == 1:
                array = array.reshape(len(array), -1)
            if array.ndim != 2:
                raise ProtocolError("array %s must be 2-D (rows × values), not %d-D" % (name, array.ndim))
            dtype = "<f4" if array.dtype == np.float32 else "<f8"
            data = np.ascontiguousarray(array, dtype=DTYPES[dtype])
            described.append({"name": name, "shape": list(data.shape), "dtype": dtype})
            frames.append(data.tobytes())
        header["arrays"] = described
    return [PROTOCOL, message.type.encode(), json.dumps(header).encode()] + frames


def decode(frames):
    """The message ``frames`` carry; raises ProtocolError naming what is wrong."""
    if len(frames) < 3:
        raise ProtocolError("a message has at least 3 frames, got %d" % len(frames))
    frames = [bytes(f) for f in frames]
    if frames[0] != PROTOCOL:
        raise ProtocolError("frame 0 is %r, expected %r" % (frames[0][:32], PROTOCOL))
    kind = frames[1].decode("ascii", "replace")
    if kind not in TYPES:
        raise ProtocolError("unknown message type %r" % kind)
    try:
        header = json.loads(frames[2].decode("utf-8"))
    except ValueError as error:
        raise ProtocolError("the %s header is not JSON: %s" % (kind, error))
    if not isinstance(header, dict):
        raise ProtocolError("the %s header is not a JSON object" % kind)
    described = header.get("arrays", [])
    if len(described) != len(frames) - 3:
        raise ProtocolError("the header describes %d arrays but %d frames follow" % (len(described), len(frames) - 3))
    arrays = {}
    for d, frame in zip(described, frames[3:]):
        dtype = DTYPES.get(d.get("dtype"))
        shape = d.get("shape")
        if dtype is None or not isinstance(shape, list) or len(shape) != 2 or min(shape) < 0:
            raise ProtocolError("array %r has a bad dtype or shape" % d.get("name"))
        if shape[0] * shape[1] * dtype.itemsize != len(frame):
            raise ProtocolError("array %r of shape %s needs %d bytes, got %d"
                                % (d.get("name"), shape, shape[0] * shape[1] * dtype.itemsize, len(frame)))
        arrays[d["name"]] = np.frombuffer(frame, dtype=dtype).reshape(shape)
    return Message(kind, header, arrays)
