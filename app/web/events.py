"""Socket.IO handlers: validate, then hand over to the job manager."""
import logging
import time

from flask import current_app, request

from app.web import socketio
from app.web.jobs import Busy
from app.web.protocol import ERROR_CODES, EVENTS
from app.web.validation import RequestError, parse_cancel, parse_complete

log = logging.getLogger(__name__)


def _error(code, message, job=None):
    payload = {"code": code, "message": message}
    if job:
        payload["job"] = job
    socketio.emit(EVENTS["ERROR"], payload, to=request.sid)


def _jobs():
    return current_app.extensions["regen"]["jobs"]


@socketio.on(EVENTS["COMPLETE"])
def on_complete(payload=None, *extra):
    cfg = current_app.config
    try:
        if extra:
            raise RequestError(ERROR_CODES["BAD_REQUEST"], "complete takes one object")
        req = parse_complete(payload, current_app.extensions["regen"]["registry"],
                             cfg["MAX_IMAGE_BYTES"], cfg["MAX_IMAGE_PIXELS"])
        _jobs().submit(request.sid, req)
    except RequestError as exc:
        _error(exc.code, exc.message)
    except Busy as exc:
        _error(ERROR_CODES["BUSY"], str(exc))
    except Exception:
        log.exception("complete failed")
        _error(ERROR_CODES["INTERNAL"], "the server could not start the job")


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
    _jobs().cancel(request.sid, reason="the client disconnected")


@socketio.on_error_default
def on_unexpected_error(exc):
    log.exception("socket handler failed: %s", exc)
    _error(ERROR_CODES["INTERNAL"], "the server could not handle that event")
