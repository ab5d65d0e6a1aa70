"""The worker's beats (app/worker.py), with a stand-in roster: no Redis, no models."""
import threading
import time

import redis

from app.worker import Beat, Worker


class Recorder:
    """A roster that records the worker's calls; a beat takes `delay` seconds."""

    def __init__(self, delay=0.0, failures=0):
        self.calls, self.delay, self.failures = [], delay, failures
        self.beaten = threading.Event()

    def beat(self, name, costs=None):
        if self.failures:
            self.failures -= 1
            raise redis.ConnectionError("down")
        time.sleep(self.delay)
        self.calls.append(("beat", name, costs))
        self.beaten.set()

    def withdraw(self, name):
        self.calls.append(("withdraw", name))


def test_a_beat_comes_at_once_then_on_time_and_survives_an_unreachable_redis():
    roster = Recorder(failures=2)
    with Beat(lambda: roster.beat("w"), 0.05, "test-beat"):
        assert roster.beaten.wait(2), "no beat after two failed ones"
        time.sleep(0.3)
    beats = len(roster.calls)
    assert 3 <= beats <= 8, f"every 0.05 s for about 0.3 s: {beats}"
    time.sleep(0.2)
    assert len(roster.calls) == beats, "no beat once the block has ended"


def worker(roster):
    w = Worker.__new__(Worker)   # the beats need only these (no models, no Redis)
    w.name, w.roster, w.costs = "w1", roster, {"complete:faces": {"fixed": 0.01, "per_candidate": 0.002}}
    return w


def test_a_worker_beats_with_its_costs_and_withdraws_after_its_last_beat():
    roster = Recorder(delay=0.3)    # the first beat is still in flight when the worker stops
    with worker(roster).presence():
        pass
    assert roster.calls == [("beat", "w1", {"complete:faces": {"fixed": 0.01, "per_candidate": 0.002}}),
                            ("withdraw", "w1")], "a beat after the withdrawal would bring a stopped worker back"
