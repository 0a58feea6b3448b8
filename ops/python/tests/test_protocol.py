import json

import numpy as np
import pytest

from ili_fleet import Message, ProtocolError, decode, encode


def test_frames_are_the_documented_ones():
    frames = encode(Message("result", {"batch": "b1", "task_ids": ["a"], "failures": [None]},
                            {"x": np.array([[1.5, 2.0]], dtype=np.float64)}))
    assert frames[0] == b"ili-fleet/1"
    assert frames[1] == b"result"
    header = json.loads(frames[2])
    assert header["arrays"] == [{"name": "x", "shape": [1, 2], "dtype": "<f8"}]
    assert header["failures"] == [None]
    assert frames[3] == np.array([1.5, 2.0], dtype="<f8").tobytes()


def test_round_trip_keeps_arrays_and_header():
    theta = np.arange(6, dtype=np.float32).reshape(3, 2)
    message = decode(encode(Message("pairs", {"batch": "p", "task_ids": ["1", "2", "3"]}, {"theta": theta, "x": theta * 2})))
    assert message.type == "pairs"
    assert message.header["task_ids"] == ["1", "2", "3"]
    np.testing.assert_array_equal(message.arrays["theta"], theta)
    np.testing.assert_array_equal(message.arrays["x"], theta * 2)
    assert message.arrays["theta"].dtype == np.float32


def test_seeds_survive_as_exact_integers():
    seeds = [0, 2**64 - 1, 12345678901234567890]
    message = decode(encode(Message("task", {"batch": "b", "seeds": seeds})))
    assert message.header["seeds"] == seeds


@pytest.mark.parametrize("frames", [
    [b"ili-fleet/1", b"heartbeat"],
    [b"ili-fleet/2", b"heartbeat", b"{}"],
    [b"ili-fleet/1", b"gossip", b"{}"],
    [b"ili-fleet/1", b"heartbeat", b"[1, 2]"],
    [b"ili-fleet/1", b"result", b'{"arrays": [{"name": "x", "shape": [1, 2], "dtype": "<f4"}]}', b"\x00" * 7],
    [b"ili-fleet/1", b"result", b'{"arrays": [{"name": "x", "shape": [1, 2], "dtype": "<i4"}]}', b"\x00" * 8],
    [b"ili-fleet/1", b"result", b'{"arrays": []}', b"\x00"],
])
def test_bad_frames_are_refused(frames):
    with pytest.raises(ProtocolError):
        decode(frames)
