"""Payload builders and event waiting for the socket tests."""
import time

import numpy as np

from app.engine import imageio
from app.web.protocol import EVENTS
from bench.server import job_payload


def hole_png(size=16, box=(4, 12, 4, 12)):
    hole = np.zeros((size, size), np.uint8)
    y0, y1, x0, x1 = box
    hole[y0:y1, x0:x1] = 255
    return imageio.encode_png(hole)


def complete_payload(**overrides):
    """A short job on the tiny model's first sample, with `overrides` of its keys."""
    return {**job_payload("tiny", 16, {"steps": 10, "restarts": 2, "seed": 0}, mask=hole_png()), **overrides}


def wait_for(sio, names, timeout=60.0):
    """Collect events until one named in `names` arrives; returns all received (name, payload)."""
    names = {names} if isinstance(names, str) else set(names)
    got, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        for msg in sio.get_received():
            got.append((msg["name"], msg["args"][0] if msg["args"] else None))
            if msg["name"] in names:
                return got
        time.sleep(0.02)
    raise AssertionError(f"no {names} within {timeout} s; got {[n for n, _ in got]}")


def terminal(events):
    return [(n, p) for n, p in events if n in (EVENTS["DONE"], EVENTS["ERROR"])]
