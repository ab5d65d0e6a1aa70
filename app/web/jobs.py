"""The job queue: one queue, N workers, at most one active job per client.

Every accepted job ends in exactly one `done` or `error` event. Engine work
never runs on the socket loop: each chunk goes through `blocking` (eventlet's
tpool in eventlet mode, a plain call on a worker thread in threading mode).
"""
import collections
import dataclasses
import logging
import threading
import time
import uuid

from app.engine import baselines, imageio
from app.engine.completion import Result, to_float
from app.web.protocol import ERROR_CODES, EVENTS

log = logging.getLogger(__name__)


class Busy(Exception):
    pass


@dataclasses.dataclass(eq=False)   # jobs are compared by identity, never by their image arrays
class Job:
    sid: str
    request: object                       # validation.JobRequest
    id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex[:12])
    submitted: float = dataclasses.field(default_factory=time.monotonic)
    cancel_reason: str | None = None      # set once: why the job must stop
    finished: bool = False                # a done/error has been sent


def _blocking_call_for(async_mode):
    if async_mode == "eventlet":
        from eventlet import tpool
        return tpool.execute
    return lambda fn, *args: fn(*args)


class JobManager:
    def __init__(self, socketio, registry, workers=1, max_queue=8, time_limit=120.0, async_mode="threading"):
        self.socketio, self.registry = socketio, registry
        self.workers, self.max_queue, self.time_limit = workers, max_queue, time_limit
        self.blocking = _blocking_call_for(async_mode)
        self.lock = threading.Lock()
        self.wakeup = threading.Condition(self.lock)
        self.waiting = collections.deque()   # jobs not yet started, in order
        self.active = {}                      # sid -> the client's current job (waiting or running)
        self.running = 0
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

    # -- client actions -------------------------------------------------------------

    def submit(self, sid, request):
        """Queue a job for a client, cancelling its previous one. Raises Busy if full."""
        self.start()
        job = Job(sid, request)
        with self.lock:
            if len(self.waiting) >= self.max_queue:
                raise Busy(f"the server is busy: {len(self.waiting)} jobs are waiting; try again shortly")
            old = self.active.get(sid)
            self.active[sid] = job
            self.waiting.append(job)
            position = len(self.waiting) - 1
            self.wakeup.notify()
        if old is not None:
            self._cancel_job(old, "replaced by a newer job")
        self._emit(EVENTS["QUEUED"], {"job": job.id, "position": position}, sid)
        return job

    def cancel(self, sid, job_id=None, reason="cancelled by the user"):
        """Cancel the client's current job (if job_id is given, only if it matches)."""
        with self.lock:
            job = self.active.get(sid)
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
            return {"waiting": len(self.waiting), "running": self.running, "workers": self.workers}

    # -- internals ------------------------------------------------------------------

    def _cancel_job(self, job, reason):
        with self.lock:
            if job.cancel_reason is None:
                job.cancel_reason = reason
            queued = job in self.waiting
            if queued:
                self.waiting.remove(job)
        if queued:   # a running job reports its own end at the next chunk
            self._finish(job, EVENTS["ERROR"], {"code": ERROR_CODES["CANCELLED"], "message": reason})
            self._announce_positions()

    def _finish(self, job, event, payload):
        """Send a job's one terminal event."""
        with self.lock:
            if job.finished:
                return
            job.finished = True
            if self.active.get(job.sid) is job:
                del self.active[job.sid]
        self._emit(event, {"job": job.id, **payload}, job.sid)

    def _emit(self, event, payload, sid):
        self.socketio.emit(event, payload, to=sid)

    def _announce_positions(self):
        with self.lock:
            positions = [(job, i) for i, job in enumerate(self.waiting)]
        for job, i in positions:
            self._emit(EVENTS["QUEUED"], {"job": job.id, "position": i}, job.sid)

    def _next_job(self):
        with self.wakeup:
            while not self.waiting:
                if self.stopping:
                    return None
                self.wakeup.wait(timeout=1.0)
            job = self.waiting.popleft()
            self.running += 1
            return job

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
                                                    "message": "the completion failed on the server"})
            finally:
                with self.lock:
                    self.running -= 1

    def _run(self, job):
        req = job.request
        entry = self.registry.entries[req.model]
        started = time.monotonic()
        steps = iter(entry.completer.iterate(to_float(req.image), req.mask, req.params))
        try:
            while True:
                if job.cancel_reason:
                    return self._finish(job, EVENTS["ERROR"], {"code": ERROR_CODES["CANCELLED"],
                                                               "message": job.cancel_reason})
                if time.monotonic() - started > self.time_limit:
                    return self._finish(job, EVENTS["ERROR"], {
                        "code": ERROR_CODES["TIMEOUT"],
                        "message": f"the job ran past the {self.time_limit:g} s limit; try fewer steps"})
                item = self.blocking(next, steps)
                if isinstance(item, Result):
                    return self._done(job, item, started)
                self._emit(EVENTS["PROGRESS"], {
                    "job": job.id, "step": item.step, "steps": item.steps,
                    "losses": item.best_losses(), "image": imageio.encode_png(item.image)}, job.sid)
        finally:
            steps.close()

    def _done(self, job, result, started):
        req = job.request
        baseline = baselines.inpaint(req.image, req.mask, "telea")
        self._finish(job, EVENTS["DONE"], {
            "image": imageio.encode_png(result.image), "baseline": imageio.encode_png(baseline),
            "losses": result.losses, "seconds": round(time.monotonic() - started, 3),
            "steps": result.steps, "stopped_early": result.early_stopped})
