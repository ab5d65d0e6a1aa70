"""The web process's side of the distributed mode (`REGEN_BROKER=redis://...`).

Clients, their checks and their limits are the embedded `JobManager`'s: a client
talks to one web process (nginx's ip_hash keeps an address on one), so what is
per client or per address stays here. The queue is shared: a job is admitted
into Redis against the limits of the whole queue (`app.web.broker`), its id is
sent to the workers through Celery, and a worker (`python -m app.worker`) streams
its `progress` through Flask-SocketIO's message queue straight to the client.
Everything else the client hears comes from this process: `queued` and the
queue positions; the job's one `done` or `error`, which its worker leaves in
Redis; the `error` of a job cancelled while it waited; and the `error` of a job
whose worker died (`worker_lost`) or whose queue went away (`unavailable`). It
never runs engine work.

A watcher task polls the shared state of this process's jobs every `poll`
seconds: that is how it learns that a job has ended (to free the client's slot),
that its position changed, or that its worker stopped beating.
"""
import logging
import os
import socket
import time
import uuid

import redis

from app.web import broker
from app.web.jobs import JobManager, Refused
from app.web.protocol import ERROR_CODES, EVENTS

log = logging.getLogger(__name__)

OUTAGE_GRACE = 3.0      # seconds the queue may be unreachable before this process gives up its jobs
RUN_GRACE = 30.0        # seconds past its time limit before a running job is called lost even if it beats


class RemoteJobManager(JobManager):
    """JobManager whose queue is the shared Redis queue and whose workers are elsewhere."""

    def __init__(self, socketio, registry, broker_url, poll=0.1, **limits):
        limits.pop("workers", None)
        super().__init__(socketio, registry, workers=0, **limits)
        self.broker_url, self.poll = broker_url, poll
        self.queue = broker.SharedQueue(broker.connect(broker_url))
        self.celery = broker.celery_app(broker_url)
        self.name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.tracked = {}        # job id -> Job admitted here and not yet ended
        self.positions = {}      # job id -> the last position sent to its client
        self.outage_since = None

    def start(self):
        with self.lock:
            if self.started:
                return
            self.started = True
        try:
            self.queue.web_heartbeat(self.name)
        except redis.RedisError as exc:
            log.warning("the job queue at %s is unreachable: %s", self.broker_url, exc)
        self.socketio.start_background_task(self._watch)

    def stop(self):
        self.stopping = True

    def stats(self):
        try:
            shared = self.queue.counts()
        except redis.RedisError:
            shared = {"waiting": None, "running": None}
        with self.lock:
            return {**shared, "workers": None, "clients": len(self.clients), "broker": True}

    # -- admission ----------------------------------------------------------------------

    def submit(self, sid, request, job_id=None, since=None, payload=None):
        """Admit a job into the shared queue and hand its id to the workers; returns
        (job, position). Raises Refused: the client's own limits as in the embedded
        mode, `busy` from the shared queue's limits, `unavailable` without Redis."""
        self.start()
        job = self.checked_job(sid, request, job_id, since)
        with self.lock:
            self._still_wanted(sid, since)
            old = self.active.get(sid)
            mine = sum(j.address == job.address for j in self.active.values() if j is not old)
        if mine >= self.max_jobs_per_address:
            raise Refused(ERROR_CODES["CLIENT_LIMIT"],
                          f"your address already has {mine} jobs; the limit is {self.max_jobs_per_address}")
        if old is not None:
            self._cancel_job(old, "replaced by a newer job")
        fields = {"kind": request.kind, "sid": sid, "address": job.address, "web": self.name,
                  "time_limit": f"{self.time_limit:g}", "payload": broker.encode_payload(payload)}
        try:
            code, value = self.queue.admit(job.id, job.cost, fields, self.max_queue, self.max_queue_seconds)
        except redis.RedisError as exc:
            log.warning("job %s refused: the job queue is unreachable (%s)", job.id, exc)
            raise Refused(ERROR_CODES["UNAVAILABLE"], "the job queue is unavailable; try again shortly") from None
        if code == 1:
            raise Refused(ERROR_CODES["BUSY"], f"the server is busy: {value} jobs are waiting; try again shortly")
        if code == 2:
            raise Refused(ERROR_CODES["BUSY"], f"the server is busy: the queue holds about {value} s of work; "
                          "try again shortly")
        with self.lock:
            self.active[sid] = job
            self.tracked[job.id] = job
            self.positions[job.id] = value
            gone = sid not in self.clients
        try:
            self.celery.send_task(broker.TASK, args=[job.id], queue=broker.CELERY_QUEUE)
        except Exception as exc:   # kombu's errors vary by transport
            log.warning("job %s could not be sent to the workers: %s", job.id, exc)
            self._cancel_job(job, "the job queue is unavailable")
            raise Refused(ERROR_CODES["UNAVAILABLE"], "the job queue is unavailable; try again shortly") from None
        if gone:
            self._cancel_job(job, "the client disconnected")
        self._emit(EVENTS["QUEUED"], {"job": job.id, "position": value}, sid)
        return job, value

    def _cancel_job(self, job, reason, already_dequeued=False):
        """Dequeue a waiting job (ended here) or ask its worker to stop it (ended there)."""
        with self.lock:
            if job.cancel_reason is None:
                job.cancel_reason = reason
            if job.finished:
                return
        try:
            result = self.queue.cancel(job.id, job.cancel_reason)
        except redis.RedisError:
            result = "dequeued"     # the queue is gone, and the job with it: end it here
        if result == "dequeued":
            self._end_cancelled(job)

    # -- following the shared state -----------------------------------------------------

    def _finish(self, job, event, payload, outcome=None):
        super()._finish(job, event, payload, outcome)
        self._forget(job)

    def _forget(self, job):
        with self.lock:
            job.finished = True
            if self.active.get(job.sid) is job:
                del self.active[job.sid]
            self.tracked.pop(job.id, None)
            self.positions.pop(job.id, None)

    def _emit(self, event, payload, sid):
        # the client is this process's own: deliver here, not round the message queue
        self.socketio.emit(event, payload, to=sid, ignore_queue=True)

    def _watch(self):
        while not self.stopping:
            self.socketio.sleep(self.poll)
            try:
                self._poll_once()
            except Exception:   # never let the watcher die
                log.exception("watching the shared queue failed")

    def _poll_once(self):
        with self.lock:
            jobs = dict(self.tracked)
        try:
            self.queue.web_heartbeat(self.name)
            states = self.queue.states(jobs) if jobs else {}
        except redis.RedisError as exc:
            now = time.monotonic()
            if self.outage_since is None:
                self.outage_since = now
                log.warning("the job queue is unreachable: %s", exc)
            elif now - self.outage_since > OUTAGE_GRACE:
                for job in jobs.values():
                    self._finish(job, EVENTS["ERROR"], {"code": ERROR_CODES["UNAVAILABLE"],
                                                        "message": "the job queue became unavailable; try again"})
            return
        if self.outage_since is not None:
            log.warning("the job queue is reachable again")
            self.outage_since = None
        for job_id, state in states.items():
            self._follow(jobs[job_id], state)

    def _follow(self, job, state):
        if state.final is not None:
            if state.end is not None:         # a worker ended it: send what it left
                event, payload = state.end
                return self._finish(job, event, {k: v for k, v in payload.items() if k != "job"},
                                    outcome=state.final)
            if state.final == "orphaned":     # this process looked gone to a worker (an outage)
                return self._finish(job, EVENTS["ERROR"], {"code": ERROR_CODES["UNAVAILABLE"],
                                                           "message": "the job queue lost track of this job; try again"})
            return self._forget(job)          # this process ended it (and said so)
        if state.position is not None:
            if self.positions.get(job.id) != state.position:
                self.positions[job.id] = state.position
                self._emit(EVENTS["QUEUED"], {"job": job.id, "position": state.position}, job.sid)
            return
        if state.running is not None:
            overdue = time.time() - state.running > self.time_limit + RUN_GRACE
            if state.alive and not overdue:
                return
            outcome, message = (("lost", "the worker running this job stopped; try again") if not state.alive else
                                ("timeout", f"the job ran past the {self.time_limit:g} s limit; try fewer steps"))
            if self.queue.finish(job.id, outcome):
                if outcome == "timeout":
                    self.queue.cancel(job.id, "past its time limit")
                self._finish(job, EVENTS["ERROR"], {
                    "code": ERROR_CODES["WORKER_LOST" if outcome == "lost" else "TIMEOUT"], "message": message},
                    outcome=outcome)
            return
        if not state.known:   # Redis lost its data (restarted without persistence)
            self._finish(job, EVENTS["ERROR"], {"code": ERROR_CODES["UNAVAILABLE"],
                                                "message": "the job queue was restarted and lost this job; try again"})
