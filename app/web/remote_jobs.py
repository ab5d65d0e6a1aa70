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
import collections
import logging
import os
import socket
import threading
import time
import uuid

import redis

from app.web import broker, roster
from app.web.jobs import JobManager, Refused
from app.web.protocol import ERROR_CODES, EVENTS

log = logging.getLogger(__name__)

RUN_GRACE = 30.0        # seconds past its time limit before a running job is stopped here, beating or not
SWEEP_EVERY = 5.0       # seconds between sweeps of entries nobody will end (see broker._SWEEP)
COSTS_EVERY = 5.0       # seconds between reads of the costs the workers measured


class Every:
    """A chore done at most once per `seconds` (monotonic clock): `if every.due(): ...`."""

    def __init__(self, seconds):
        self.seconds, self.last = seconds, float("-inf")

    def due(self):
        now = time.monotonic()
        if now - self.last <= self.seconds:
            return False
        self.last = now
        return True


class RemoteJobManager(JobManager):
    """JobManager whose queue is the shared Redis queue and whose workers are elsewhere."""

    def __init__(self, socketio, registry, broker_url, poll=0.1, **limits):
        limits.pop("workers", None)
        super().__init__(socketio, registry, workers=0, **limits)
        self.broker_url, self.poll = broker_url, poll
        connection = broker.connect(broker_url)
        self.queue, self.roster = broker.SharedQueue(connection), roster.Roster(connection)
        self.celery = broker.celery_app(broker_url)
        self.name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.tracked = {}        # job id -> Job admitted here and not yet ended
        self.positions = {}      # job id -> the last position sent to its client
        self.abandoned = set()   # ids of jobs given up during an outage, to end in Redis when it is back
        self.submitting = collections.defaultdict(threading.Lock)   # sid -> one submit at a time
        self.outage_since = None
        self.recovered_at = float("-inf")
        self.sweeps, self.cost_reads = Every(SWEEP_EVERY), Every(COSTS_EVERY)
        self.moved_at = {}       # job id -> when its position last changed (monotonic)
        # a waiting job whose place has not moved for this long has no worker to take it
        self.stuck_after = self.time_limit + RUN_GRACE

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

    def disconnect(self, sid):
        super().disconnect(sid)
        with self.lock:
            self.submitting.pop(sid, None)

    def stats(self):
        try:
            shared = {**self.queue.counts(), "workers": len(self.roster.present())}
        except redis.RedisError:
            shared = {"waiting": None, "running": None, "workers": None}
        with self.lock:
            return {**shared, "clients": len(self.clients), "broker": True}

    # -- admission ----------------------------------------------------------------------

    def submit(self, sid, request, job_id=None, since=None, payload=None):
        """Admit a job into the shared queue in place of the client's previous one and hand
        its id to the workers; returns (job, position). Raises Refused: the client's own
        limits as in the embedded mode, `busy` from the shared queue's limits,
        `unavailable` without Redis. A refused job leaves the previous one as it was."""
        self.start()
        job = self.checked_job(sid, request, job_id, since)
        with self.lock:
            one_at_a_time = self.submitting[sid]
        with one_at_a_time:
            old = self._reserve(sid, job, since)
            try:
                position, replaced = self._admit(job, old, payload)
            except Refused:
                self._release(sid, job, old)
                if job.cancel_reason is not None and old is not None:   # a cancel or disconnect meanwhile
                    self._cancel_job(old, job.cancel_reason)
                raise
        if old is not None:
            if replaced:                 # it left the queue in the same step the new one joined it
                old.cancel_reason = old.cancel_reason or "replaced by a newer job"
                self._end_cancelled(old)
            else:                        # running (or ended): its worker stops it
                self._cancel_job(old, "replaced by a newer job")
        if job.cancel_reason is not None or sid not in self.clients:   # cancelled while it was admitted
            self._cancel_job(job, job.cancel_reason or "the client disconnected")
        else:
            self._emit(EVENTS["QUEUED"], {"job": job.id, "position": position}, sid)
        return job, position

    def _reserve(self, sid, job, since):
        """Make `job` the client's before any I/O, so a cancel finds it and the address's
        count includes it; returns the job it replaces (None if none)."""
        with self.lock:
            self._still_wanted(sid, since)
            old = self.active.get(sid)
            if old is not None and old.finished:
                old = None
            mine = sum(j.address == job.address for j in self.active.values() if j is not old)
            if mine >= self.max_jobs_per_address:
                raise Refused(ERROR_CODES["CLIENT_LIMIT"],
                              f"your address already has {mine} jobs; the limit is {self.max_jobs_per_address}")
            self.active[sid] = job
            return old

    def _release(self, sid, job, old):
        with self.lock:
            if self.active.get(sid) is job:
                if old is not None and not old.finished:
                    self.active[sid] = old
                else:
                    del self.active[sid]

    def _admit(self, job, old, payload):
        """Into Redis, then to the workers; returns (position, whether `old` was replaced)."""
        fields = {"kind": job.request.kind, "sid": job.sid, "address": job.address, "web": self.name,
                  "time_limit": f"{self.time_limit:g}", "payload": broker.encode_payload(payload)}
        try:
            code, value, replaced = self.queue.admit(job.id, job.cost, fields, self.max_queue,
                                                     self.max_queue_seconds, replacing=old.id if old else None)
        except redis.RedisError as exc:
            log.warning("job %s refused: the job queue is unreachable (%s)", job.id, exc)
            raise Refused(ERROR_CODES["UNAVAILABLE"], "the job queue is unavailable; try again shortly") from None
        if code == 1:
            raise Refused(ERROR_CODES["BUSY"], f"the server is busy: {value} jobs are waiting; try again shortly")
        if code == 2:
            raise Refused(ERROR_CODES["BUSY"], f"the server is busy: the queue holds about {value} s of work; "
                          "try again shortly")
        with self.lock:
            self.tracked[job.id] = job
            self.positions[job.id] = value
            self.moved_at[job.id] = time.monotonic()
        try:
            self.celery.send_task(broker.TASK, args=[job.id], queue=broker.CELERY_QUEUE)
        except Exception as exc:   # kombu's errors vary by transport
            log.warning("job %s could not be sent to the workers: %s", job.id, exc)
            self._end_here(job.id, "unavailable")
            if replaced:
                old.cancel_reason = old.cancel_reason or "replaced by a newer job"
                self._end_cancelled(old)
            with self.lock:      # ended without a word: the refusal below is its one error
                ended = job.finished
                job.finished = True
                self._untrack(job.id)
            if ended:            # a cancel meanwhile has already told the client it is over
                return value, replaced
            raise Refused(ERROR_CODES["UNAVAILABLE"], "the job queue is unavailable; try again shortly") from None
        return value, replaced

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
            self.abandoned.add(job.id)
            result = "dequeued"     # the queue is unreachable: end the job here, and in Redis when it is back
        if result == "dequeued":
            self._end_cancelled(job)

    def _end_here(self, job_id, outcome):
        """End a job in Redis from this process (its worker, if any, stops at its next chunk);
        True if this call ended it. Remembered for later if Redis is unreachable."""
        try:
            return self.queue.finish(job_id, outcome)
        except redis.RedisError:
            self.abandoned.add(job_id)
            return False

    # -- following the shared state -----------------------------------------------------

    def _finish(self, job, event, payload, outcome=None):
        super()._finish(job, event, payload, outcome)
        self._forget(job)

    def _forget(self, job):
        with self.lock:
            job.finished = True
            if self.active.get(job.sid) is job:
                del self.active[job.sid]
            self._untrack(job.id)

    def _untrack(self, job_id):
        """Stop following a job (call under the lock)."""
        self.tracked.pop(job_id, None)
        self.positions.pop(job_id, None)
        self.moved_at.pop(job_id, None)

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
            return self._unreachable(jobs, exc)
        if self.outage_since is not None:
            self._reachable()
        try:
            self._end_abandoned()
            self._sweep()
        except redis.RedisError as exc:
            log.warning("the job queue failed mid-poll: %s", exc)
        for job_id, state in states.items():
            self._follow(jobs[job_id], state)
        try:
            self._read_costs()
        except redis.RedisError as exc:
            log.warning("could not read the workers' costs: %s", exc)

    def _sweep(self):
        """Every SWEEP_EVERY s, but not while the web processes' heartbeats may still be
        coming back after an outage (a sweep would take their jobs for orphans)."""
        if time.monotonic() - self.recovered_at > broker.WEB_TTL and self.sweeps.due():
            swept = self.queue.sweep()
            if swept:
                log.warning("dropped %d stranded jobs from the shared queue", swept)

    def _read_costs(self):
        """Every COSTS_EVERY s: estimate jobs with what the workers present measured (until
        one has, with the registry's own figures). Not within two beats of an outage's
        end: the workers' beats lapsed meanwhile, and until each has beaten again the
        figures would be those of whichever came back first."""
        if time.monotonic() - self.recovered_at > 2 * roster.WORKER_BEAT_EVERY and self.cost_reads.due():
            table = self.roster.costs()
            if table:
                self.registry.use_costs(table)

    def _end_abandoned(self):
        """End in Redis the jobs given up here while it did not answer, so that a worker
        still on one stops it."""
        for job_id in list(self.abandoned):
            self.queue.finish(job_id, "unavailable")
            self.abandoned.discard(job_id)

    def _unreachable(self, jobs, exc):
        now = time.monotonic()
        if self.outage_since is None:
            self.outage_since = now
            log.warning("the job queue is unreachable: %s", exc)
        elif now - self.outage_since > broker.OUTAGE_GRACE:
            for job in jobs.values():
                self.abandoned.add(job.id)
                self._finish(job, EVENTS["ERROR"], {"code": ERROR_CODES["UNAVAILABLE"],
                                                    "message": "the job queue became unavailable; try again"},
                             outcome="unavailable")

    def _reachable(self):
        """The queue is back: give heartbeats a full TTL to show up again (the jobs given
        up meanwhile are ended in Redis by `_end_abandoned`)."""
        log.warning("the job queue is reachable again")
        self.outage_since, self.recovered_at = None, time.monotonic()

    def _follow(self, job, state):
        if job.finished:                      # ended here since the poll began
            return
        if state.final is not None:
            return self._ended(job, state)
        if state.position is not None:
            now = time.monotonic()
            if self.positions.get(job.id) != state.position:
                with self.lock:
                    self.positions[job.id], self.moved_at[job.id] = state.position, now
                self._emit(EVENTS["QUEUED"], {"job": job.id, "position": state.position}, job.sid)
            elif now - self.moved_at.get(job.id, now) > self.stuck_after and self._end_here(job.id, "unavailable"):
                self._finish(job, EVENTS["ERROR"], {"code": ERROR_CODES["UNAVAILABLE"],
                                                    "message": "no worker has taken this job; try again later"},
                             outcome="unavailable")
            return
        if state.running_for is not None:
            settled = time.monotonic() - self.recovered_at > broker.HEARTBEAT_TTL + 1.0
            lost = not state.alive and settled
            overdue = state.running_for > self.time_limit + RUN_GRACE
            if not (lost or overdue):
                return
            outcome, code, message = (
                ("lost", "WORKER_LOST", "the worker running this job stopped; try again") if lost else
                ("timeout", "TIMEOUT", f"the job ran past the {self.time_limit:g} s limit; try fewer steps"))
            if self._end_here(job.id, outcome):    # its worker, if alive, stops at its next chunk
                self._finish(job, EVENTS["ERROR"], {"code": ERROR_CODES[code], "message": message}, outcome=outcome)
            return
        if not state.known:   # Redis lost its data (restarted without persistence)
            self._end_here(job.id, "unavailable")    # so that a worker still on it stops
            self._finish(job, EVENTS["ERROR"], {"code": ERROR_CODES["UNAVAILABLE"],
                                                "message": "the job queue was restarted and lost this job; try again"},
                         outcome="unavailable")

    # outcomes a job can be ended with without a worker's event -> (error code, message)
    ENDINGS = {
        "lost": ("WORKER_LOST", "the worker running this job stopped; try again"),
        "timeout": ("TIMEOUT", "the job ran past its time limit; try fewer steps"),
        "unavailable": ("UNAVAILABLE", "the job queue became unavailable; try again"),
        "orphaned": ("UNAVAILABLE", "the job queue lost track of this job; try again"),
    }

    def _ended(self, job, state):
        """Its final is set: send its end (nothing, if this process already has)."""
        if state.end is not None:             # a worker ended it: send what it left
            event, payload = state.end
            self._finish(job, event, {k: v for k, v in payload.items() if k != "job"}, outcome=state.final)
            try:
                self.queue.delivered(job.id)
            except redis.RedisError:
                pass
        elif state.final == "cancelled":      # dequeued by a cancel or a replacement
            self._end_cancelled(job)
        else:                                 # ended without an event: by a sweep, or here
            code, message = self.ENDINGS.get(state.final, ("INTERNAL", "the job ended on the server"))
            self._finish(job, EVENTS["ERROR"], {"code": ERROR_CODES[code], "message": message}, outcome=state.final)
