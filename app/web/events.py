"""Socket.IO handlers: admit, validate (off the loop), then hand over to the job manager.

Every job request (`complete`, the Lab's `dream` and `style`, the latent lab's
`morph` and `project`: one handler per kind in `app.web.tasks.TASKS`) is acknowledged: the callback gets {job, position}
when the job is queued, or {job, error: {code, message}} when it is refused, and
the refusal also arrives as an `error` event carrying that job id, so a page
always knows which job a message is about.
"""
import logging
import time

from flask import current_app, request

from app.web import socketio
from app.web.jobs import Refused, new_job_id
from app.web.latent_requests import INSTANT
from app.web.protocol import ERROR_CODES, EVENTS
from app.web.tasks import TASKS
from app.web.validation import RequestError, parse_cancel

log = logging.getLogger(__name__)


def _error(code, message, job=None):
    payload = {"code": code, "message": message}
    if job:
        payload["job"] = job
    socketio.emit(EVENTS["ERROR"], payload, to=request.sid, ignore_queue=True)   # our own client: never via Redis


def _refuse(code, message, job):
    """Tell the client (event and ack) and log one line."""
    log.info("refused client=%s code=%s: %s", request.remote_addr, code, message[:200])
    _error(code, message, job)
    return {"job": job, "error": {"code": code, "message": message}}


def _jobs():
    return current_app.extensions["regen"]["jobs"]


@socketio.on("connect")
def on_connect(auth=None):
    if not _jobs().connect(request.sid, request.remote_addr or "?"):
        log.info("refused client=%s code=%s: too many connections", request.remote_addr, ERROR_CODES["CLIENT_LIMIT"])
        return False
    return True


def _job_handler(task):
    """The handler of one job kind's request event."""

    def on_request(payload=None, *extra):
        cfg, jobs = current_app.config, _jobs()
        job_id = new_job_id()
        try:
            if extra:
                raise RequestError(ERROR_CODES["BAD_REQUEST"], f"{task.event} takes one object")
            admitted = jobs.admit(request.sid)
            # decoding and checking images is CPU work: never on the socket loop
            req = jobs.blocking(task.parse, payload, current_app.extensions["regen"]["registry"],
                                min(cfg["MAX_IMAGE_BYTES"], cfg["MAX_SOCKET_BYTES"]), cfg["MAX_IMAGE_PIXELS"])
            job, position = jobs.submit(request.sid, req, job_id, since=admitted, payload=payload)
            return {"job": job.id, "position": position}
        except (RequestError, Refused) as exc:
            return _refuse(exc.code, exc.message, job_id)
        except Exception:
            log.exception("%s failed", task.event)
            return _refuse(ERROR_CODES["INTERNAL"], "the server could not start the job", job_id)

    on_request.__name__ = f"on_{task.event}"
    return on_request


for _task in TASKS.values():
    socketio.on(_task.event)(_job_handler(_task))


def _instant_handler(event, parse):
    """The handler of an instant request (samples, generate, arithmetic): a batch of G,
    answered in the acknowledgement; no queue, but a rate of its own, counted in images."""

    def on_request(payload=None, *extra):
        jobs = _jobs()
        try:
            if extra:
                raise RequestError(ERROR_CODES["BAD_REQUEST"], f"{event} takes one object")
            checked = parse(payload, current_app.extensions["regen"]["registry"])
            jobs.admit_instant(request.sid, checked.images)
            return jobs.blocking(checked.answer)
        except (RequestError, Refused) as exc:
            log.info("refused client=%s code=%s: %s", request.remote_addr, exc.code, exc.message[:200])
            return {"error": {"code": exc.code, "message": exc.message}}
        except Exception:
            log.exception("%s failed", event)
            return {"error": {"code": ERROR_CODES["INTERNAL"], "message": f"the server could not answer {event}"}}

    on_request.__name__ = f"on_{event}"
    return on_request


for _event, _parse in INSTANT.items():
    socketio.on(EVENTS[_event.upper()])(_instant_handler(EVENTS[_event.upper()], _parse))


@socketio.on(EVENTS["CANCEL"])
def on_cancel(payload=None, *extra):
    try:
        job_id = parse_cancel(payload)
    except RequestError as exc:
        return _error(exc.code, exc.message)
    _jobs().cancel(request.sid, job_id)


@socketio.on(EVENTS["PING"])
def on_ping(*args):
    """Answered from the event loop at once: a busy worker must never delay it."""
    return {"time": time.time()}


@socketio.on("disconnect")
def on_disconnect(*args):
    _jobs().disconnect(request.sid)


@socketio.on_error_default
def on_unexpected_error(exc):
    log.exception("socket handler failed: %s", exc)
    _error(ERROR_CODES["INTERNAL"], "the server could not handle that event")
