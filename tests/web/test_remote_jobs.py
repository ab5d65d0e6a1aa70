"""The web process's watcher in the distributed mode, one situation at a time: a real
Redis (Debian's redis-server), a RemoteJobManager with a recording socket, and the
shared state set up by hand (no Celery, no worker)."""
import time
import types

import pytest

from app.web import broker
from app.web.jobs import Job
from app.web.protocol import ERROR_CODES, EVENTS
from tests.web.helpers import needs_redis

pytestmark = needs_redis


class Socket:
    """Records what the manager emits."""

    def __init__(self):
        self.sent = []

    def emit(self, event, payload, to=None, **_):
        self.sent.append((event, payload))

    def errors(self):
        return [p for e, p in self.sent if e == EVENTS["ERROR"]]


@pytest.fixture
def manager():
    from app.web.remote_jobs import RemoteJobManager
    from bench.cluster import running_redis
    with running_redis() as server:
        m = RemoteJobManager(Socket(), registry=None, broker_url=server.url, time_limit=5.0)
        m.queue.web_heartbeat(m.name)
        yield m


def track(manager, job_id, sid="sid-1"):
    """A job admitted by this manager for a connected client, as submit leaves it."""
    request = types.SimpleNamespace(kind="complete", describe=lambda: "test")
    job = Job(sid, request, "127.0.0.1", 1.0, id=job_id)
    manager.clients[sid] = "127.0.0.1"
    code, position, _ = manager.queue.admit(job_id, 1.0, {"kind": "complete", "sid": sid, "web": manager.name,
                                                          "payload": "{}", "time_limit": "5"}, 8, 1000.0)
    assert code == 0
    manager.active[sid], manager.tracked[job_id] = job, job
    manager.positions[job_id], manager.moved_at[job_id] = position, 0.0
    return job


def test_a_worker_s_end_is_sent_once_by_the_web_process(manager):
    job = track(manager, "a")
    manager.queue.claim("a", "w0")
    manager.queue.finish("a", "done", EVENTS["DONE"], {"job": "a", "image": b"\x89PNG", "steps": 3})
    manager._poll_once()
    manager._poll_once()
    done = [p for e, p in manager.socketio.sent if e == EVENTS["DONE"]]
    assert done == [{"job": "a", "image": b"\x89PNG", "steps": 3}] and job.finished and not manager.active


def test_a_job_dequeued_by_a_cancel_is_ended_even_if_the_canceller_has_not_said_so(manager):
    track(manager, "a")
    assert manager.queue.cancel("a", "cancelled by the user") == "dequeued"   # e.g. another request's cancel
    manager._poll_once()
    manager._poll_once()
    assert [e["code"] for e in manager.socketio.errors()] == [ERROR_CODES["CANCELLED"]]


def test_a_job_no_worker_takes_ends_unavailable(manager, monkeypatch):
    monkeypatch.setattr(manager, "stuck_after", 0.0)
    track(manager, "a")
    manager._poll_once()
    (error,) = manager.socketio.errors()
    assert error["code"] == ERROR_CODES["UNAVAILABLE"] and "no worker" in error["message"]
    assert manager.queue.claim("a", "w0") is None, "a worker that comes later does not run it"


def test_a_job_whose_worker_stopped_beating_is_lost_and_its_worker_told_to_stop(manager, monkeypatch):
    monkeypatch.setattr(broker, "HEARTBEAT_TTL", 0.2)
    track(manager, "a")
    manager.queue.claim("a", "w0")
    manager._poll_once()
    assert manager.socketio.errors() == [], "beating: running"
    time.sleep(0.4)
    manager._poll_once()
    (error,) = manager.socketio.errors()
    assert error["code"] == ERROR_CODES["WORKER_LOST"]
    assert manager.queue.stop_reason("a"), "were the worker only slow, it stops at its next chunk"


def test_a_sweep_that_ended_a_job_still_reaches_its_client(manager):
    job = track(manager, "a")
    manager.queue.finish("a", "lost")         # say, another web process's sweep
    manager._poll_once()
    assert [e["code"] for e in manager.socketio.errors()] == [ERROR_CODES["WORKER_LOST"]] and job.finished


def test_jobs_given_up_in_an_outage_are_ended_in_redis_when_it_returns(manager, monkeypatch):
    job = track(manager, "a")
    manager.queue.claim("a", "w0")
    real = manager.queue.states

    def down(ids):
        raise broker.redis.ConnectionError("down")

    monkeypatch.setattr(manager.queue, "states", down)
    monkeypatch.setattr(broker, "OUTAGE_GRACE", 0.0)
    manager._poll_once()
    manager._poll_once()
    (error,) = manager.socketio.errors()
    assert error["code"] == ERROR_CODES["UNAVAILABLE"] and job.finished
    monkeypatch.setattr(manager.queue, "states", real)
    manager._poll_once()
    assert manager.queue.stop_reason("a"), "the worker still on it stops"
    assert len(manager.socketio.errors()) == 1
