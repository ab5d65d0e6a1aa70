"""The job queue: one queue, N workers, at most one active job per client.

Every accepted job ends in exactly one `done` or `error` event. Jobs belong to
live connections only: a client that has disconnected can no longer submit
(its late `complete` is dropped), and a worker skips a job whose client is gone,
so nobody's queue slot is held by a closed socket.

Admission is by cost: a job's cost is its estimated seconds (for a completion,
every step at the model's search cost measured at start, `Entry.cost`, with fewer
candidates after each halving, then the second stage; each kind's own in `tasks`). One job
may cost at most `max_job_seconds`; the waiting jobs together `max_queue_seconds`,
and at most `max_queue` of them. Each address may hold `max_jobs_per_address`
jobs and send `complete_rate` = (N, seconds) completes per window. Replacing a
client's own waiting job does not count against the queue's length (it takes the
old job's place). A `cancel` without a job id that arrives while the client's
`complete` is still being checked (each event runs in its own task) cancels that
job too: it is refused at submit rather than left to run for nobody.

Jobs come in kinds (`app.web.tasks.TASKS`: complete, dream, style, morph,
project); a job's
kind says how to cost, start, report and finish it, and everything else here is
the same for every kind.

Engine work never runs on the socket loop: each chunk, each PNG encode and the
Telea baseline go through `blocking` (eventlet's tpool in eventlet mode, a plain
call on a worker thread in threading mode).
"""
import collections
import dataclasses
import logging
import threading
import time
import uuid

from app.engine import imageio
from app.engine.driver import drive
from app.web.protocol import ERROR_CODES, EVENTS
from app.web.tasks import TASKS

log = logging.getLogger(__name__)


class Refused(Exception):
    """A job not admitted: `code` from protocol.ERROR_CODES and a message for the user."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def new_job_id():
    return uuid.uuid4().hex[:12]


@dataclasses.dataclass(eq=False)   # jobs are compared by identity, never by their image arrays
class Job:
    sid: str
    request: object                       # validation.JobRequest, DreamRequest or StyleRequest
    address: str = "?"
    cost: float = 0.0                     # estimated seconds
    id: str = dataclasses.field(default_factory=new_job_id)
    submitted: float = dataclasses.field(default_factory=time.monotonic)
    cancel_reason: str | None = None      # set once: why the job must stop
    finished: bool = False                # a done/error has been sent


def blocking_call_for(async_mode):
    """How to run a blocking call without stalling the socket loop."""
    if async_mode == "eventlet":
        from eventlet import tpool
        return tpool.execute
    return lambda fn, *args, **kwargs: fn(*args, **kwargs)


class RateWindow:
    """At most `count` events per `seconds` for each key (a sliding window)."""

    def __init__(self, count, seconds):
        self.count, self.seconds = count, seconds
        self.times = collections.defaultdict(collections.deque)

    def allow(self, key, now=None, weight=1):
        """Count `weight` events for key; False (and none counted) if they do not fit in
        the window. Not thread-safe: the job manager calls it under its lock."""
        now = time.monotonic() if now is None else now
        for old_key in [k for k, t in self.times.items() if t and now - t[-1] > self.seconds]:
            del self.times[old_key]          # forget addresses that have gone quiet
        times = self.times[key]
        while times and now - times[0] > self.seconds:
            times.popleft()
        if len(times) + weight > self.count:
            return False
        times.extend([now] * weight)
        return True


class JobManager:
    def __init__(self, socketio, registry, workers=1, max_queue=8, time_limit=120.0, async_mode="threading",
                 max_job_seconds=60.0, max_queue_seconds=300.0, max_jobs_per_address=4,
                 max_connections_per_address=32, complete_rate=(30, 60.0), instant_rate=(3000, 60.0)):
        self.socketio, self.registry = socketio, registry
        self.workers, self.max_queue, self.time_limit = workers, max_queue, time_limit
        self.max_job_seconds, self.max_queue_seconds = max_job_seconds, max_queue_seconds
        self.max_jobs_per_address = max_jobs_per_address
        self.max_connections_per_address = max_connections_per_address
        self.rate = RateWindow(*complete_rate)
        self.instant_rate = RateWindow(*instant_rate)   # samples, generate, arithmetic: sliders send many
        self.blocking = blocking_call_for(async_mode)
        self.lock = threading.Lock()
        self.wakeup = threading.Condition(self.lock)
        self.waiting = collections.deque()   # jobs not yet started, in order
        self.running = []                     # jobs a worker is on
        self.active = {}                      # sid -> the client's current job (waiting or running)
        self.clients = {}                     # live sid -> its address
        self.cancelled_at = {}                # sid -> when it last cancelled with no job to cancel
        self.started = False
        self.stopping = False

    def start(self):
        """Start the workers; idempotent."""
        with self.lock:
            if self.started:
                return
            self.started = True
        for _ in range(self.workers):
            self.socketio.start_background_task(self._worker)

    # -- connections ----------------------------------------------------------------

    def connect(self, sid, address):
        """Register a live client; False if its address already holds too many connections."""
        with self.lock:
            if sum(a == address for a in self.clients.values()) >= self.max_connections_per_address:
                return False
            self.clients[sid] = address
        return True

    def disconnect(self, sid):
        """Forget a client and cancel its job: nothing it queued may outlive it."""
        with self.lock:
            self.clients.pop(sid, None)
        self.cancel(sid, reason="the client disconnected")
        with self.lock:
            self.cancelled_at.pop(sid, None)

    # -- client actions -------------------------------------------------------------

    def cost(self, request):
        """Estimated seconds of a job, as its kind measures them (see app.web.tasks)."""
        return TASKS[request.kind].cost(request, self.registry)

    def admit(self, sid):
        """Checks that need no decoded payload (run before any decoding); raises Refused.
        Returns the time of admission, for `submit(since=...)`."""
        with self.lock:
            address = self.clients.get(sid)
            allowed = address is not None and self.rate.allow(address)
        if address is None:
            raise Refused(ERROR_CODES["CANCELLED"], "the client is not connected")
        if not allowed:
            raise Refused(ERROR_CODES["RATE_LIMITED"],
                          f"more than {self.rate.count} completes in {self.rate.seconds:g} s; wait a little")
        return time.monotonic()

    def admit_instant(self, sid, images=1):
        """Admit an instant request (no job) of `images` passes of G: a live client within
        the instant rate, which counts images; raises Refused."""
        with self.lock:
            address = self.clients.get(sid)
            allowed = address is not None and self.instant_rate.allow(address, weight=images)
        if address is None:
            raise Refused(ERROR_CODES["CANCELLED"], "the client is not connected")
        if not allowed:
            raise Refused(ERROR_CODES["RATE_LIMITED"], f"more than {self.instant_rate.count} generated images in "
                          f"{self.instant_rate.seconds:g} s; wait a little")

    def _still_wanted(self, sid, since):
        """Raise Refused if the client has gone, or cancelled after `since` (call under the lock)."""
        if sid not in self.clients:          # it disconnected while its payload was being checked
            raise Refused(ERROR_CODES["CANCELLED"], "the client is not connected")
        if since is not None and self.cancelled_at.get(sid, float("-inf")) >= since:
            raise Refused(ERROR_CODES["CANCELLED"], "cancelled by the user")

    def checked_job(self, sid, request, job_id=None, since=None):
        """A Job for a live client's request, if nothing about the client or the job
        itself refuses it (the queue's limits are the caller's); raises Refused."""
        with self.lock:
            self._still_wanted(sid, since)
            address = self.clients[sid]
        job = Job(sid, request, address, self.cost(request), **({"id": job_id} if job_id else {}))
        if job.cost > self.max_job_seconds:
            raise Refused(ERROR_CODES["TOO_COSTLY"],
                          f"this {TASKS[request.kind].title} would take about {job.cost:.0f} s; the limit is "
                          f"{self.max_job_seconds:g} s: {TASKS[request.kind].cheaper}")
        return job

    def submit(self, sid, request, job_id=None, since=None, payload=None):
        """Queue a job for a live client, replacing its previous one; returns (job, position).
        `since`: when its `complete` was admitted; a cancel after that refuses it.
        `payload`: the request as the client sent it (the distributed mode queues that).
        Raises Refused (with a code) if the job is not admitted."""
        self.start()
        job = self.checked_job(sid, request, job_id, since)
        address = job.address
        with self.lock:
            self._still_wanted(sid, since)
            old = self.active.get(sid)
            replacing = old is not None and old in self.waiting
            others = [j for j in self.waiting if j is not old]
            if not replacing:
                if len(self.waiting) >= self.max_queue:
                    raise Refused(ERROR_CODES["BUSY"], f"the server is busy: {len(self.waiting)} jobs are waiting; "
                                  "try again shortly")
                mine = sum(j.address == address for j in list(self.active.values()) if j is not old)
                if mine >= self.max_jobs_per_address:
                    raise Refused(ERROR_CODES["CLIENT_LIMIT"],
                                  f"your address already has {mine} jobs; the limit is {self.max_jobs_per_address}")
            if sum(j.cost for j in others) + job.cost > self.max_queue_seconds and others:
                raise Refused(ERROR_CODES["BUSY"], "the server is busy: the queue holds "
                              f"about {sum(j.cost for j in others):.0f} s of work; try again shortly")
            if replacing:                # take the old job's place: the queue does not grow
                self.waiting[self.waiting.index(old)] = job
                old.cancel_reason = "replaced by a newer job"
            else:
                self.waiting.append(job)
            self.active[sid] = job
            position = len(self.running) + self.waiting.index(job)
            self.wakeup.notify()
        if old is not None:
            self._cancel_job(old, "replaced by a newer job", already_dequeued=replacing)
        self._emit(EVENTS["QUEUED"], {"job": job.id, "position": position}, sid)
        return job, position

    def cancel(self, sid, job_id=None, reason="cancelled by the user"):
        """Cancel the client's current job (if job_id is given, only if it matches)."""
        with self.lock:
            job = self.active.get(sid)
            if job is None and job_id is None:
                # "my job", but none is queued yet: perhaps its complete is still being
                # checked (each event runs in its own task); remember, so submit refuses it
                self.cancelled_at[sid] = time.monotonic()
        if job is not None and (job_id is None or job.id == job_id):
            self._cancel_job(job, reason)
            return True
        return False

    def stop(self):
        """Let the workers end once their current job is over (used by tests)."""
        with self.wakeup:
            self.stopping = True
            self.wakeup.notify_all()

    def stats(self):
        with self.lock:
            return {"waiting": len(self.waiting), "running": len(self.running), "workers": self.workers,
                    "clients": len(self.clients)}

    # -- internals ------------------------------------------------------------------

    def _cancel_job(self, job, reason, already_dequeued=False):
        with self.lock:
            if job.cancel_reason is None:
                job.cancel_reason = reason
            queued = already_dequeued or job in self.waiting
            if job in self.waiting:
                self.waiting.remove(job)
        if queued:   # a running job reports its own end at the next chunk
            self._end_cancelled(job)
            self._announce_positions()

    def _abandoned(self, job):
        """Cancelled, replaced, or its client has gone: the job must not go on."""
        return job.cancel_reason is not None or job.sid not in self.clients

    def _end_cancelled(self, job):
        """End a job that must not go on: its cancel reason, or its client has gone."""
        self._finish(job, EVENTS["ERROR"], {"code": ERROR_CODES["CANCELLED"],
                                            "message": job.cancel_reason or "the client disconnected"})

    def _finish(self, job, event, payload, outcome=None):
        """Send a job's one terminal event (to a client that is still there) and log it."""
        with self.lock:
            if job.finished:
                return
            job.finished = True
            if self.active.get(job.sid) is job:
                del self.active[job.sid]
            live = job.sid in self.clients
        log.info("job %s client=%s kind=%s %s outcome=%s seconds=%.2f", job.id, job.address, job.request.kind,
                 job.request.describe(), outcome or payload.get("code", event), time.monotonic() - job.submitted)
        if live:
            self._emit(event, {"job": job.id, **payload}, job.sid)

    def _emit(self, event, payload, sid):
        self.socketio.emit(event, payload, to=sid)

    def _announce_positions(self):
        with self.lock:
            ahead = len(self.running)
            positions = [(job, ahead + i) for i, job in enumerate(self.waiting)]
        for job, i in positions:
            self._emit(EVENTS["QUEUED"], {"job": job.id, "position": i}, job.sid)

    def _next_job(self):
        """The next job to run (now counted as running), or None once stopping."""
        while True:
            with self.wakeup:
                while not self.waiting:
                    if self.stopping:
                        return None
                    self.wakeup.wait(timeout=1.0)
                job = self.waiting.popleft()
                if not self._abandoned(job):
                    self.running.append(job)
                    return job
            # the client left (or the job was cancelled) while it waited: never run it
            self._end_cancelled(job)

    def _worker(self):
        while True:
            job = self._next_job()
            if job is None:
                return
            self._announce_positions()
            try:
                self._run(job)
            except Exception:   # a fault in one job must not take the worker down
                log.exception("job %s failed", job.id)
                self._finish(job, EVENTS["ERROR"], {"code": ERROR_CODES["INTERNAL"],
                                                    "message": f"the {job.request.kind} job failed on the server"})
            finally:
                with self.lock:
                    self.running.remove(job)

    def _run(self, job):
        req = job.request
        task = TASKS[req.kind]
        started = time.monotonic()

        def stop():   # asked after each progress report, on the engine's thread
            return self._abandoned(job) or time.monotonic() - started > self.time_limit

        def report(progress):
            shown = task.report(progress)
            shown["image"] = self.blocking(imageio.encode_png, shown["image"])
            self._emit(EVENTS["PROGRESS"], {"job": job.id, **shown}, job.sid)

        result = drive(task.start(req, self.registry, stop), report, call=self.blocking)
        if not result.cancelled:
            done = self.blocking(task.finish, req, result, self.registry)
            return self._finish(job, EVENTS["DONE"], {**done, "seconds": round(time.monotonic() - started, 3)},
                                outcome="done")
        if self._abandoned(job):
            return self._end_cancelled(job)
        return self._finish(job, EVENTS["ERROR"], {
            "code": ERROR_CODES["TIMEOUT"],
            "message": f"the job ran past the {self.time_limit:g} s limit; try fewer steps"})
