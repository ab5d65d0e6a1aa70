"""The distributed mode for real: Debian's redis-server on a free loopback port, two
web processes (python wsgi.py with REGEN_BROKER) and two workers (python -m
app.worker), clients on python-socketio. The tests share one cluster and run in
file order: the last two take a worker and then Redis away."""
import json
import re
import threading
import time
import urllib.request

import pytest

from app.web.protocol import ERROR_CODES, EVENTS
from bench.cluster import read_text
from bench.server import InOrderClient
from tests.web.helpers import complete_payload, needs_redis
from tests.web.test_real_server import Recorder

pytestmark = needs_redis

LIMITS = {"REGEN_MAX_QUEUE": 6, "REGEN_MAX_JOBS_PER_ADDRESS": 1000, "REGEN_COMPLETE_RATE": "100000/60",
          "REGEN_MAX_CONNECTIONS_PER_ADDRESS": 1000, "REGEN_MAX_QUEUE_SECONDS": 100000, "REGEN_JOB_TIME_LIMIT": 60}
SHORT = {"steps": 40, "restarts": 2, "seed": 0}
LONG = {"steps": 5000, "restarts": 2, "fast": False}     # minutes of work: only ever cancelled


@pytest.fixture(scope="module")
def cluster(tiny_models):
    from bench.cluster import running_cluster  # noqa: PLC0415 (imports redis, which only this mode needs)
    with running_cluster(tiny_models[0], webs=2, workers=2, **LIMITS) as c:
        yield c


class Client:
    """A connected client with its recorded events."""

    def __init__(self, url):
        self.sio = InOrderClient()
        self.rec = Recorder(self.sio)
        self.sio.connect(url, transports=["websocket"])

    def submit(self, params):
        self.rec.events.clear()
        self.rec.finished.clear()
        ack = self.sio.call(EVENTS["COMPLETE"], complete_payload(params=params), timeout=30)
        return ack

    def wait_progress(self, timeout=60):
        deadline = time.monotonic() + timeout
        while EVENTS["PROGRESS"] not in self.rec.names():
            assert time.monotonic() < deadline and not self.rec.finished.is_set(), self.rec.names()
            time.sleep(0.05)

    def end(self, timeout=60):
        assert self.rec.finished.wait(timeout), f"no done/error in {timeout} s: {self.rec.names()}"
        return self.rec.events[-1]

    def close(self):
        if self.sio.connected:
            self.sio.disconnect()


def worker_lines(cluster, pattern):
    """{worker name: [matches of pattern in its log]}."""
    return {w.name: re.findall(pattern, read_text(w.log)) for w in cluster.workers}


def workers_present(url):
    """The workers a web process's /healthz counts."""
    with urllib.request.urlopen(url + "/healthz", timeout=10) as reply:
        return json.load(reply)["jobs"]["workers"]


def ran_on(cluster, job_id):
    return [name for name, found in worker_lines(cluster, rf"job {job_id} started").items() if found]


def test_clients_on_both_web_processes_are_served_at_once_by_either_worker(cluster):
    a, b = Client(cluster.webs[0].url), Client(cluster.webs[1].url)
    try:
        acks = [a.submit(SHORT), b.submit(SHORT)]
        for client, ack in zip((a, b), acks):
            assert "error" not in ack and ack["position"] in (0, 1)
            name, done = client.end()
            names = client.rec.names()
            assert names[0] == EVENTS["QUEUED"] and EVENTS["PROGRESS"] in names and name == EVENTS["DONE"], names
            assert done["job"] == ack["job"] and done["image"][:8] == b"\x89PNG\r\n\x1a\n" and done["steps"] == 40
        runners = [ran_on(cluster, ack["job"]) for ack in acks]
        assert all(len(r) == 1 for r in runners), f"each job ran on exactly one worker: {runners}"
        assert runners[0] != runners[1], "two jobs at once go to the two workers"
    finally:
        a.close()
        b.close()


def test_web_processes_list_the_models_and_estimate_with_the_workers_costs(cluster):
    from app.web import broker, remote_jobs, roster  # noqa: PLC0415 (imports redis, which only this mode needs)
    for web in cluster.webs:
        text = read_text(web.log)
        assert "listed model tiny" in text and "loaded model" not in text, "no search in a web process"
    client = Client(cluster.webs[1].url)
    try:     # an instant request is answered by the web process itself, with its G
        reply = client.sio.call(EVENTS["SAMPLES"], {"model": "tiny", "count": 3, "seed": 1}, timeout=30)
        assert len(reply["samples"]) == 3 and sum(reply["sizes"]) == len(reply["images"])
    finally:
        client.close()
    assert workers_present(cluster.webs[0].url) == 2
    workers = roster.Roster(broker.connect(cluster.redis.url))
    costs = workers.costs()
    assert costs["complete:tiny"]["fixed"] > 0 and costs["complete:tiny-gray"]["per_candidate"] > 0
    # a (made-up) slow worker's figures: a 40-step search would now take minutes, so it is refused
    workers.beat("slow", {"complete:tiny": {"fixed": 5.0, "per_candidate": 1.0}})
    client = Client(cluster.webs[0].url)
    try:
        deadline = time.monotonic() + 3 * remote_jobs.COSTS_EVERY
        while (ack := client.submit(SHORT)).get("error", {}).get("code") != ERROR_CODES["TOO_COSTLY"]:
            assert time.monotonic() < deadline, f"the web process never read the slow worker's costs: {ack}"
            client.end()
            time.sleep(0.5)
        workers.withdraw("slow")
        deadline = time.monotonic() + 3 * remote_jobs.COSTS_EVERY
        while "error" in (ack := client.submit(SHORT)):
            assert time.monotonic() < deadline, f"the web process kept the slow worker's costs: {ack}"
            time.sleep(0.5)
        assert client.end()[0] == EVENTS["DONE"]
    finally:
        client.close()


def test_positions_and_busy_come_from_the_shared_queue(cluster):
    clients = [Client(cluster.webs[i % 2].url) for i in range(9)]
    try:
        for c in clients[:2]:                      # both workers busy
            c.submit(LONG)
            c.wait_progress()
        acks = [c.submit(LONG) for c in clients[2:8]]   # 6 waiting, from both web processes
        assert [ack.get("position") for ack in acks] == [2, 3, 4, 5, 6, 7]
        refused = clients[8].submit(LONG)
        assert refused["error"]["code"] == ERROR_CODES["BUSY"], "a full shared queue is full for every web process"
        clients[2].sio.emit(EVENTS["CANCEL"], {})
        name, err = clients[2].end(10)
        assert err["code"] == ERROR_CODES["CANCELLED"]
        deadline = time.monotonic() + 10
        while [e for n, e in clients[7].rec.events if n == EVENTS["QUEUED"]][-1]["position"] != 6:
            assert time.monotonic() < deadline, clients[7].rec.events
            time.sleep(0.05)
    finally:
        for c in clients:
            c.close()
    time.sleep(2)   # the workers drop the disconnected clients' jobs


def test_cancel_stops_the_workers_job_within_a_chunk(cluster):
    c = Client(cluster.webs[1].url)
    try:
        ack = c.submit(LONG)
        c.wait_progress()
        sent = time.monotonic()
        c.sio.emit(EVENTS["CANCEL"], {"job": ack["job"]})
        name, err = c.end(10)
        assert name == EVENTS["ERROR"] and err["code"] == ERROR_CODES["CANCELLED"] and err["job"] == ack["job"]
        assert time.monotonic() - sent < 3, "a chunk is a fraction of a second"
        progress_after = len(c.rec.names())
        time.sleep(0.5)
        assert len(c.rec.names()) == progress_after, "nothing more arrives for a cancelled job"
        assert any(worker_lines(cluster, rf"job {ack['job']} cancelled").values())
    finally:
        c.close()


def test_disconnect_cancels_the_job_on_its_worker(cluster):
    c = Client(cluster.webs[0].url)
    ack = c.submit(LONG)
    c.wait_progress()
    c.close()
    deadline = time.monotonic() + 10
    while not any(worker_lines(cluster, rf"job {ack['job']} cancelled").values()):
        assert time.monotonic() < deadline, "the worker is still running a job whose client left"
        time.sleep(0.1)


def test_thirty_clients_each_end_in_done_or_busy(cluster):
    clients = [Client(cluster.webs[i % 2].url) for i in range(30)]
    results, lock = [], threading.Lock()

    def one(c):
        ack = c.submit({"steps": 10, "restarts": 1, "seed": 0})
        if "error" in ack:
            outcome = ack["error"]["code"]
        else:
            try:
                outcome = c.end(90)[1].get("code", "done")
            except AssertionError:
                outcome = "hang"
        with lock:
            results.append((ack.get("job"), outcome))

    threads = [threading.Thread(target=one, args=(c,)) for c in clients]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        for c in clients:
            c.close()
    outcomes = [o for _, o in results]
    assert len(results) == 30 and set(outcomes) <= {"done", ERROR_CODES["BUSY"]}, outcomes
    assert outcomes.count("done") >= 8, "the queue and both workers were used"
    for job_id, outcome in results:
        if outcome == "done":
            assert sum(len(v) for v in worker_lines(cluster, rf"job {job_id} done").values()) == 1, \
                f"job {job_id} ran once"


def test_a_job_past_its_time_limit_is_stopped_by_its_worker(cluster, tiny_models):
    from bench.server import running_server
    with running_server(tiny_models[0], REGEN_BROKER=cluster.redis.url, **{**LIMITS, "REGEN_JOB_TIME_LIMIT": 2}) as web:
        c = Client(web.url)
        try:
            ack = c.submit(LONG)
            c.wait_progress()
            name, err = c.end(15)
            assert name == EVENTS["ERROR"] and err["code"] == ERROR_CODES["TIMEOUT"] and err["job"] == ack["job"]
            assert "2 s limit" in err["message"]
            assert any(worker_lines(cluster, rf"job {ack['job']} timeout").values())
        finally:
            c.close()


def test_a_killed_worker_ends_its_job_with_worker_lost_and_the_other_goes_on(cluster):
    c = Client(cluster.webs[0].url)
    try:
        ack = c.submit(LONG)
        c.wait_progress()
        (runner,) = ran_on(cluster, ack["job"])
        victim = next(w for w in cluster.workers if w.name == runner)
        killed = time.monotonic()
        victim.kill()
        name, err = c.end(15)
        assert name == EVENTS["ERROR"] and err["code"] == ERROR_CODES["WORKER_LOST"] and err["job"] == ack["job"]
        assert time.monotonic() - killed < 8, "heartbeat TTL (3 s) + polling, not a time limit"
        again = c.submit(SHORT)
        assert "error" not in again
        assert c.end(60)[0] == EVENTS["DONE"]
        assert ran_on(cluster, again["job"]) == [w.name for w in cluster.workers if w is not victim]
        assert not any(worker_lines(cluster, rf"job {ack['job']} (done|cancelled)").values()), \
            "the lost job was not run again"
        # the killed worker, silent since, drops out of the count and the estimates
        from app.web import broker, roster  # noqa: PLC0415 (imports redis, which only this mode needs)
        deadline = killed + roster.WORKER_TTL + 2 * roster.WORKER_BEAT_EVERY
        while workers_present(cluster.webs[0].url) != 1:
            assert time.monotonic() < deadline, "the killed worker is still counted"
            time.sleep(0.5)
        assert list(roster.Roster(broker.connect(cluster.redis.url)).present()) == \
            [w.name for w in cluster.workers if w is not victim]
        assert time.monotonic() - killed > roster.WORKER_TTL - roster.WORKER_BEAT_EVERY, "not before it fell silent"
    finally:
        c.close()


def test_a_redis_outage_says_unavailable_and_the_web_processes_recover(cluster):
    c = Client(cluster.webs[1].url)
    try:
        ack = c.submit(LONG)
        c.wait_progress()
        cluster.redis.stop()
        name, err = c.end(15)
        assert name == EVENTS["ERROR"] and err["code"] == ERROR_CODES["UNAVAILABLE"] and err["job"] == ack["job"]
        asked = time.monotonic()
        refused = c.submit(SHORT)
        assert refused["error"]["code"] == ERROR_CODES["UNAVAILABLE"] and time.monotonic() - asked < 10
        cluster.redis.start()              # back, and empty
        deadline = time.monotonic() + 15   # the worker that ran it has stopped it, not carried on
        while not any(worker_lines(cluster, rf"job {ack['job']}(: the job queue is unreachable| cancelled)").values()):
            assert time.monotonic() < deadline, "a worker is still on a job its client was told is over"
            time.sleep(0.2)
        time.sleep(1)                      # the web processes' next poll finds Redis back
        ack = c.submit(SHORT)
        assert "error" not in ack, ack
        # it waits in the queue until a worker's Celery consumer has reconnected (it retries
        # at growing intervals), then runs as usual
        name, done = c.end(90)
        assert name == EVENTS["DONE"] and done["job"] == ack["job"]
        # the worker left is counted again, with its figures, once it has beaten into the emptied Redis
        from app.web import broker, roster  # noqa: PLC0415 (imports redis, which only this mode needs)
        deadline = time.monotonic() + 3 * roster.WORKER_BEAT_EVERY
        while workers_present(cluster.webs[0].url) != 1 or not roster.Roster(broker.connect(cluster.redis.url)).costs():
            assert time.monotonic() < deadline, "the worker left never came back to the emptied queue"
            time.sleep(0.5)
    finally:
        c.close()
