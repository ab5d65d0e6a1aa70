"""The shared queue's scripts against a real Redis (Debian's redis-server): the races
between web processes and workers are decided here, so each is tested directly."""
import os
import shutil
import time

import pytest

from app.web import broker

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None and not os.environ.get("REQUIRE_REDIS"),
    reason="redis-server is not installed (apt-get install redis-server; .ci/run installs it)")


@pytest.fixture
def queue():
    from bench.cluster import running_redis
    with running_redis() as server:
        q = broker.SharedQueue(broker.connect(server.url))
        q.web_heartbeat("web-a")
        yield q


def admit(q, job_id, cost=1.0, max_queue=3, max_seconds=100.0, web="web-a"):
    return q.admit(job_id, cost, {"kind": "complete", "sid": f"sid-{job_id}", "web": web, "payload": "{}",
                                  "time_limit": "30"}, max_queue, max_seconds)


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
    assert state.running and state.alive and state.position is None and state.final is None
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
    assert queue.cancel_reason("a") is None
    assert queue.cancel("a", "the client disconnected") == "signalled"
    assert queue.cancel_reason("a") == "the client disconnected"
    queue.finish("a", "cancelled")
    assert queue.cancel("a", "again") == "over"


def test_a_dead_workers_heartbeat_lapses(queue, monkeypatch):
    monkeypatch.setattr(broker, "HEARTBEAT_TTL", 0.3)
    admit(queue, "a")
    queue.claim("a", "w0")
    assert queue.states(["a"])["a"].alive
    time.sleep(0.5)
    state = queue.states(["a"])["a"]
    assert state.running and not state.alive, "no beat for longer than the TTL: the web process calls it lost"


def test_a_job_whose_web_process_has_gone_is_not_run(queue):
    admit(queue, "a", web="web-gone")
    assert queue.claim("a", "w0") == "orphaned"
    assert queue.states(["a"])["a"].final == "orphaned"


def test_payloads_keep_their_bytes():
    payload = {"model": "m", "mask": b"\x89PNG\x00\xff", "params": {"steps": 3}, "list": [b"a", 1]}
    assert broker.decode_payload(broker.encode_payload(payload)) == payload
