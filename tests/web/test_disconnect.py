"""A client that disconnects mid-job frees the worker for the next client."""
import time

from app.web import socketio
from app.web.protocol import EVENTS
from tests.web.helpers import complete_payload, wait_for


def test_disconnect_mid_job_frees_the_worker(app):
    jobs = app.extensions["regen"]["jobs"]
    first = socketio.test_client(app)
    first.emit(EVENTS["COMPLETE"], complete_payload(params={"steps": 5000, "restarts": 2, "fast": False}))
    wait_for(first, EVENTS["PROGRESS"])
    first.disconnect()
    deadline = time.monotonic() + 10
    while jobs.stats()["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert jobs.stats() == {"waiting": 0, "running": 0, "workers": 1, "clients": 0}, "freed within one chunk"
    second = socketio.test_client(app)
    second.emit(EVENTS["COMPLETE"], complete_payload())
    assert wait_for(second, EVENTS["DONE"])[-1][0] == EVENTS["DONE"]
    second.disconnect()


def test_job_time_limit(make_app):
    app = make_app(JOB_TIME_LIMIT=0.5)
    client = socketio.test_client(app)
    client.emit(EVENTS["COMPLETE"], complete_payload(params={"steps": 5000, "restarts": 2, "fast": False}))
    error = wait_for(client, EVENTS["ERROR"], timeout=30)[-1][1]
    assert error["code"] == "timeout" and "0.5 s limit" in error["message"]
    client.disconnect()
