"""Payload builders, event waiting and the Redis skip for the socket tests."""
import os
import shutil
import time

import numpy as np
import pytest

from app.engine import imageio
from app.web.protocol import EVENTS
from bench.server import job_payload

# the distributed mode's tests need a real redis-server; REQUIRE_REDIS=1 makes its absence a failure
needs_redis = pytest.mark.skipif(
    shutil.which("redis-server") is None and not os.environ.get("REQUIRE_REDIS"),
    reason="redis-server is not installed (apt-get install redis-server; .ci/run installs it)")


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
