"""A worker of the distributed mode: `REGEN_BROKER=redis://HOST:6379/0 python -m app.worker`.

Loads every model once (REGEN_MODELS, as the server does), times its searches and
the Lab's (tens of seconds) and leaves those costs in the roster of workers
(`app.web.roster`) for the web processes' estimates, then runs one job at a time from the shared queue: a Celery
worker with the solo pool, so the models, TensorFlow and the job share one process
and a SIGKILL takes them down together.
For each job it claims the job (`app.web.broker.SharedQueue.claim`: a job that
was cancelled while it waited, or whose web process has gone, is skipped),
checks the client's payload again as the web process did, runs the engine's
search and streams `progress` to the job's client through Flask-SocketIO's
message queue; its `done` or `error` it leaves in the queue for the job's web
process to send (see `Worker.end`). Between chunks it checks whether its web
process asked it to stop (cancel, disconnect, a newer job) and the job's time
limit; a thread beats for the job every second so that its web process can tell
a dead worker from a slow one. Another beats for the worker itself, busy or idle,
so that the web processes count the workers present and estimate with their
figures only (a killed worker's drop out). Workers may run on any machine that reaches
Redis and holds the same models folder, a GPU machine included.

    python -m app.worker [--name NAME] [--models DIR] [--loglevel INFO]
"""
import argparse
import contextlib
import logging
import os
import socket
import sys
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

log = logging.getLogger("app.worker")
BEAT_EVERY = 1.0   # seconds between a running job's heartbeats; broker.HEARTBEAT_TTL is 3 of them


class Beat:
    """Call `beat()` at once and then every `every` seconds from a thread, for as long
    as a `with` block runs; leaving it waits for a beat in flight to end. A beat that
    cannot reach Redis is skipped: the next one may."""

    def __init__(self, beat, every, name):
        self.beat, self.every = beat, every
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=name, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()

    def _beat(self):
        import redis
        while True:
            try:
                self.beat()
            except redis.RedisError:
                pass
            if self.done.wait(self.every):
                return


class Worker:
    """The models and the connections one worker process runs jobs with."""

    def __init__(self, broker_url, models_dir, name, registry=None):
        from flask_socketio import SocketIO

        from app.web import broker
        from app.web.config import Config
        from app.web.registry import Registry
        from app.web.roster import Roster

        self.name = name
        connection = broker.connect(broker_url)
        self.queue, self.roster = broker.SharedQueue(connection), Roster(connection)
        # write-only: what it emits reaches the web processes' clients through Redis
        self.emitter = SocketIO(message_queue=broker_url, client_manager=broker.message_queue(broker_url, True))
        self.registry = registry or Registry(models_dir, warm_up=Config.WARM_UP)
        if self.registry.warm_up:   # before any job, so that no job's search slows the timings
            self.registry.calibrate_labs()
        self.costs = self.registry.costs()   # sent with every beat (`presence`)
        self.max_bytes = min(Config.MAX_IMAGE_BYTES, Config.MAX_SOCKET_BYTES)
        self.max_pixels = Config.MAX_IMAGE_PIXELS

    def beat(self):
        """The worker is present, with what its searches cost (measured at start-up): the
        web processes count it and estimate (refuse or admit) jobs by its figures. Sent
        with every beat, so that a Redis that lost its data has them back within one."""
        self.roster.beat(self.name, self.costs)

    @contextlib.contextmanager
    def presence(self):
        """The worker's beat, from its first before any job for as long as the `with`
        block runs (a whole Celery worker's life); on leaving, the beat stops and then
        the worker withdraws from the roster with its figures (in that order: a late
        beat would bring it back)."""
        from app.web.roster import WORKER_BEAT_EVERY
        try:
            with Beat(self.beat, WORKER_BEAT_EVERY, f"presence-{self.name}"):
                yield self
        finally:
            self.withdraw()

    def withdraw(self):
        import redis
        try:
            self.roster.withdraw(self.name)
        except redis.RedisError:
            pass   # Redis is down: the web processes drop it once it has been silent for roster.WORKER_TTL

    def run(self, job_id):
        """Claim and run one job to its one terminal event (if it is still to run)."""
        fields = self.queue.claim(job_id, self.name)
        if fields is None or fields == "orphaned":
            log.info("job %s skipped: %s", job_id, "its web process has gone" if fields else "no longer waiting")
            return
        log.info("job %s started: %s for client %s", job_id, fields["kind"], fields["sid"])
        with Beat(lambda: self.queue.heartbeat(job_id, self.name), BEAT_EVERY, f"heartbeat-{job_id}"):
            self._run(job_id, fields)

    def _run(self, job_id, fields):
        import redis

        from app.engine import imageio
        from app.engine.driver import drive
        from app.web import broker
        from app.web.broker import decode_payload
        from app.web.protocol import ERROR_CODES, EVENTS
        from app.web.tasks import TASKS
        from app.web.validation import RequestError

        sid, kind, started = fields["sid"], fields["kind"], time.monotonic()
        time_limit = float(fields["time_limit"])
        why, unreachable = [], []     # (code, message) of a stop; when Redis first failed to answer

        def stop():   # after each progress report: asked to stop (or ended elsewhere), or past the time limit
            try:
                reason = self.queue.stop_reason(job_id)
                unreachable.clear()
            except redis.RedisError:
                unreachable[:] = unreachable or [time.monotonic()]
                if time.monotonic() - unreachable[0] < broker.OUTAGE_GRACE:
                    return False       # a blip: carry on
                why.append((ERROR_CODES["UNAVAILABLE"], "the job queue became unavailable; try again"))
                return True
            if reason:
                why.append((ERROR_CODES["CANCELLED"], reason))
            return bool(reason) or time.monotonic() - started > time_limit

        def report(progress):
            shown = TASKS[kind].report(progress)
            shown["image"] = imageio.encode_png(shown["image"])
            self.emitter.emit(EVENTS["PROGRESS"], {"job": job_id, **shown}, to=sid)

        try:
            task = TASKS[kind]
            req = task.parse(decode_payload(fields["payload"]), self.registry, self.max_bytes, self.max_pixels)
            result = drive(task.start(req, self.registry, stop), report)
            if not result.cancelled:
                done = task.finish(req, result, self.registry)
                return self.end(job_id, sid, "done", EVENTS["DONE"],
                                {**done, "seconds": round(time.monotonic() - started, 3)})
            if why:
                code, message = why[-1]
                return self.end(job_id, sid, "cancelled" if code == ERROR_CODES["CANCELLED"] else "unavailable",
                                EVENTS["ERROR"], {"code": code, "message": message})
            return self.end(job_id, sid, "timeout", EVENTS["ERROR"], {
                "code": ERROR_CODES["TIMEOUT"], "message": f"the job ran past the {time_limit:g} s limit; try fewer steps"})
        except RequestError as exc:
            return self.end(job_id, sid, "refused", EVENTS["ERROR"], {"code": exc.code, "message": exc.message})
        except Exception:   # a fault in one job must not take the worker down
            log.exception("job %s failed", job_id)
            return self.end(job_id, sid, "error", EVENTS["ERROR"], {
                "code": ERROR_CODES["INTERNAL"], "message": f"the {kind} job failed on the server"})

    def end(self, job_id, sid, outcome, event, payload):
        """Leave the job's terminal event in the queue for its web process to send, unless
        the job has already ended (its web process gave it up as lost or past its time).
        The end goes through Redis, not the message queue: a web process whose
        subscription is reconnecting would miss it, and its client would wait forever."""
        import redis
        try:
            won = self.queue.finish(job_id, outcome, event, {"job": job_id, **payload})
        except redis.RedisError as exc:
            log.warning("job %s: the job queue is unreachable, its end is lost (%s)", job_id, exc)
            return
        log.info("job %s %s%s", job_id, outcome, "" if won else " (it had already ended)")


def parse_args(argv=None):
    from app.web.config import Config
    p = argparse.ArgumentParser(prog="python -m app.worker", description=__doc__.split("\n")[0])
    p.add_argument("--name", default=f"{socket.gethostname()}-{os.getpid()}", help="this worker's name in logs")
    p.add_argument("--models", default=Config.MODELS_DIR, help="models folder (default REGEN_MODELS or models/)")
    p.add_argument("--loglevel", default="INFO")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    url = os.environ.get("REGEN_BROKER")
    if not url:
        print("error: set REGEN_BROKER=redis://HOST:PORT/DB to the queue the web processes use", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.loglevel, format=f"%(asctime)s %(levelname)s worker {args.name}: %(message)s")
    from app.web import broker
    worker = Worker(url, args.models, args.name)
    celery = broker.celery_app(url)

    @celery.task(name=broker.TASK)
    def run_job(job_id):
        worker.run(job_id)

    print(f"Regen worker {args.name}: {', '.join(worker.registry.names()) or 'no models'}, queue {url}", flush=True)
    with worker.presence():
        celery.worker_main(["worker", "--pool", "solo", "--concurrency", "1", "--queues", broker.CELERY_QUEUE,
                            "--hostname", f"{args.name}@%h", "--without-gossip", "--without-mingle",
                            "--without-heartbeat", "--loglevel", args.loglevel])
    return 0


if __name__ == "__main__":
    sys.exit(main())
