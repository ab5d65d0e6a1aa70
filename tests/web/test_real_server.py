"""The same flow against a real server (python wsgi.py) with a python-socketio client,
in both async modes."""
import os
import tempfile
import threading

import pytest
import socketio as sio_client

from app.web.protocol import ERROR_CODES, EVENTS
from bench.server import InOrderClient, running_server
from tests.web.helpers import complete_payload


class Recorder:
    def __init__(self, client, terminal_events=(EVENTS["DONE"], EVENTS["ERROR"])):
        self.events, self.finished = [], threading.Event()
        for name in EVENTS.values():
            client.on(name, self._handler(name, name in terminal_events))

    def _handler(self, name, is_terminal):
        def handle(payload):
            self.events.append((name, payload))
            if is_terminal:
                self.finished.set()
        return handle

    def names(self):
        return [n for n, _ in self.events]


@pytest.mark.parametrize("mode", ["eventlet", "threading"])
def test_complete_over_a_real_socket(tiny_models, mode):
    with running_server(tiny_models[0], mode=mode) as server:
        url = server.url
        client = InOrderClient()
        rec = Recorder(client)
        client.connect(url, transports=["websocket"])
        try:
            client.emit(EVENTS["COMPLETE"], complete_payload(params={"steps": 30, "restarts": 2, "seed": 0}))
            assert rec.finished.wait(60), rec.names()
            names = rec.names()
            assert names[0] == EVENTS["QUEUED"] and names[-1] == EVENTS["DONE"]
            assert EVENTS["PROGRESS"] in names
            done = rec.events[-1][1]
            assert done["image"][:8] == b"\x89PNG\r\n\x1a\n" and done["steps"] == 30

            # cancel mid-job
            rec.events.clear()
            rec.finished.clear()
            client.emit(EVENTS["COMPLETE"], complete_payload(params={"steps": 5000, "restarts": 2, "fast": False}))
            while EVENTS["PROGRESS"] not in rec.names():
                rec.finished.wait(0.05)
            client.emit(EVENTS["CANCEL"], {})
            assert rec.finished.wait(30)
            assert rec.events[-1][0] == EVENTS["ERROR"]
            assert rec.events[-1][1]["code"] == ERROR_CODES["CANCELLED"]
        finally:
            client.disconnect()


def test_other_origins_are_refused_unless_listed(tiny_models):
    # Long-polling sends exactly the Origin given here (the websocket client adds its own).
    evil = {"Origin": "http://evil.example"}
    with running_server(tiny_models[0], mode="eventlet") as server:
        client = InOrderClient()
        with pytest.raises(sio_client.exceptions.ConnectionError):
            client.connect(server.url, headers=evil, transports=["polling"], wait_timeout=5)
        same = InOrderClient()
        same.connect(server.url, headers={"Origin": server.url}, transports=["polling"])
        same.disconnect()
    with running_server(tiny_models[0], mode="eventlet", CORS_ORIGINS="http://evil.example") as server:
        client = InOrderClient()
        client.connect(server.url, headers=evil, transports=["polling"])
        client.disconnect()


def test_the_server_log_is_a_temporary_file_outside_the_models(tiny_models):
    before = set(os.listdir(tiny_models[0]))
    with running_server(tiny_models[0], mode="threading") as server:
        log_files = [f for f in os.listdir(tempfile.gettempdir()) if f.startswith(f"regen-server-{server.url.rsplit(':', 1)[1]}-")]
        assert len(log_files) == 1
    assert set(os.listdir(tiny_models[0])) == before
    assert not os.path.exists(os.path.join(tempfile.gettempdir(), log_files[0])), "removed after a clean stop"
