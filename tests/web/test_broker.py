"""The shared queue's scripts against a real Redis (Debian's redis-server): the races
between web processes and workers are decided here, so each is tested directly."""
import time

import pytest

from app.web import broker
from tests.web.helpers import needs_redis

pytestmark = needs_redis


@pytest.fixture
def queue():
    from bench.cluster import running_redis
    with running_redis() as server:
        q = broker.SharedQueue(broker.connect(server.url))
        q.web_heartbeat("web-a")
        yield q


def admit(q, job_id, cost=1.0, max_queue=3, max_seconds=100.0, web="web-a", replacing=None):
    code, value, replaced = q.admit(job_id, cost, {"kind": "complete", "sid": f"sid-{job_id}", "web": web,
                                                   "payload": "{}", "time_limit": "30"},
                                    max_queue, max_seconds, replacing)
    return (code, value, replaced) if replacing else (code, value)


def test_admission_counts_the_whole_queue_and_its_work(queue):
    assert admit(queue, "a") == (0, 0)
    assert admit(queue, "b") == (0, 1)
    assert queue.claim("a", "w0")["sid"] == "sid-a"
    assert admit(queue, "c") == (0, 2), "the running job and b are ahead of it"
    assert admit(queue, "d") == (0, 3)
    assert admit(queue, "e") == (1, 3), "three waiting: full"
    assert queue.counts() == {"waiting": 3, "running": 1}
    assert admit(queue, "g", cost=98.0, max_queue=10) == (2, 3), "3 s queued + 98 s > 100 s of work"


def test_a_job_is_claimed_once_and_ends_once(queue):
    admit(queue, "a")
    assert queue.claim("a", "w0") is not None
    assert queue.claim("a", "w1") is None, "a second worker (a redelivered task) does not run it again"
    state = queue.states(["a"])["a"]
    assert state.running_for is not None and state.alive and state.position is None and state.final is None
    assert queue.finish("a", "done") is True
    assert queue.finish("a", "lost") is False, "only the first end is sent"
    assert queue.states(["a"])["a"].final == "done"


def test_cancelling_a_waiting_job_dequeues_it_and_a_running_one_is_signalled(queue):
    admit(queue, "a")
    admit(queue, "b")
    assert queue.cancel("b", "cancelled by the user") == "dequeued"
    assert queue.claim("b", "w0") is None, "a worker never runs a job cancelled while it waited"
    assert queue.states(["a"])["a"].position == 0
    queue.claim("a", "w0")
    assert queue.stop_reason("a") is None
    assert queue.cancel("a", "the client disconnected") == "signalled"
    assert queue.stop_reason("a") == "the client disconnected"
    queue.finish("a", "cancelled")
    assert queue.cancel("a", "again") == "over"


def test_a_job_ended_by_its_web_process_tells_its_worker_to_stop(queue):
    admit(queue, "a")
    queue.claim("a", "w0")
    assert queue.finish("a", "lost") is True, "the web process gave it up"
    assert queue.stop_reason("a"), "the worker, still alive after all, stops at its next chunk"
    assert queue.finish("a", "done", "done", {"image": b"png"}) is False, "and its end is not sent twice"
    assert queue.counts() == {"waiting": 0, "running": 0}


def test_a_replacement_takes_the_waiting_jobs_place_only_if_admitted(queue):
    admit(queue, "a")
    admit(queue, "b")
    admit(queue, "c")                                   # full: 3 waiting
    assert admit(queue, "d", replacing="c") == (0, 2, True), "c's place, not a fourth slot"
    assert queue.states(["c"])["c"].final == "cancelled" and queue.claim("c", "w0") is None
    assert admit(queue, "b2", replacing="b") == (0, 1, True), "a replacement keeps the old job's place"
    assert admit(queue, "e", cost=99.0, replacing="d") == (2, 2, False), "refused: d stays"
    assert queue.states(["d"])["d"].position == 2
    queue.claim("a", "w0")
    assert admit(queue, "f", replacing="a") == (0, 3, False), "a running job is not replaced in the queue"


def test_stranded_entries_are_swept(queue):
    admit(queue, "a", web="web-gone")                   # its web process died before a worker came
    admit(queue, "b")
    queue.claim("b", "w0")
    queue.redis.delete(broker.alive_key("b"), broker.web_key("web-a"))   # worker and web process both died
    assert queue.sweep() == 2
    assert queue.counts() == {"waiting": 0, "running": 0}
    states = queue.states(["a", "b"])
    assert states["a"].final == "orphaned" and states["b"].final == "lost"
    assert not queue.redis.exists(broker.job_key("a"), broker.job_key("b"))
    assert queue.redis.hlen(broker.COST) == 0


def test_a_dead_workers_heartbeat_lapses(queue, monkeypatch):
    monkeypatch.setattr(broker, "HEARTBEAT_TTL", 0.3)
    admit(queue, "a")
    queue.claim("a", "w0")
    assert queue.states(["a"])["a"].alive
    time.sleep(0.5)
    state = queue.states(["a"])["a"]
    assert state.running_for >= 0.5 and not state.alive, "no beat for longer than the TTL: the web process calls it lost"


def test_a_job_whose_web_process_has_gone_is_not_run(queue):
    admit(queue, "a", web="web-gone")
    assert queue.claim("a", "w0") == "orphaned"
    assert queue.states(["a"])["a"].final == "orphaned"


def test_payloads_keep_their_bytes():
    payload = {"model": "m", "mask": b"\x89PNG\x00\xff", "params": {"steps": 3}, "list": [b"a", 1]}
    assert broker.decode_payload(broker.encode_payload(payload)) == payload
