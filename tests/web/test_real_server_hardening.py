"""Hardening faults that only show on a real server (python wsgi.py), in both async modes."""
import gc
import json
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request

import pytest

from app.web.protocol import ERROR_CODES, EVENTS
from bench.server import ROOT, InOrderClient, free_port, running_server
from tests.web.helpers import complete_payload

# python-socketio's client leaves the sockets of quickly closed connections to the garbage
# collector (ResourceWarning in whichever test runs next); that is the client's, not the server's.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")



@pytest.fixture(autouse=True)
def collect_client_sockets():
    """Collect those sockets here, where the warning is ignored, not in the next module."""
    yield
    gc.collect()


MODES = ["eventlet", "threading"]
LONG = {"steps": 5000, "restarts": 2, "fast": False}


def healthz(url):
    return json.loads(urllib.request.urlopen(url + "/healthz", timeout=10).read())


def ping_seconds(client):
    started = time.monotonic()
    client.call(EVENTS["PING"], {}, timeout=30)
    return time.monotonic() - started


def connect(url):
    client = InOrderClient(reconnection=False)
    client.connect(url, transports=["websocket"], wait_timeout=10)
    return client


@pytest.mark.parametrize("mode", MODES)
def test_clients_that_leave_at_once_leave_no_orphan_jobs(tiny_models, mode):
    # 12 clients on 12 threads, each closing right after its complete (the race: the
    # complete's handler against the disconnect); the per-address job limit is lifted
    # so that all 12 jobs are admitted
    with running_server(tiny_models[0], mode=mode, REGEN_MAX_JOBS_PER_ADDRESS=100) as server:
        def send_and_leave():
            client = connect(server.url)
            client.emit(EVENTS["COMPLETE"], complete_payload(params=LONG))
            client.disconnect()

        threads = [threading.Thread(target=send_and_leave) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            jobs = healthz(server.url)["jobs"]
            if jobs["running"] == 0 and jobs["waiting"] == 0:
                break
            time.sleep(0.2)
        assert jobs["running"] == 0 and jobs["waiting"] == 0, f"orphans: {jobs}"
        fresh = connect(server.url)
        try:
            ack = fresh.call(EVENTS["COMPLETE"], complete_payload(), timeout=30)
            assert "error" not in ack and ack["position"] == 0
        finally:
            fresh.disconnect()


@pytest.mark.parametrize("mode", MODES)
def test_an_oversized_socket_message_is_dropped_without_stalling_a_bystander(tiny_models, mode):
    with running_server(tiny_models[0], mode=mode) as server:
        bystander, attacker = connect(server.url), connect(server.url)
        try:
            attacker.emit(EVENTS["COMPLETE"], complete_payload(image=b"\0" * (11 * 1024 * 1024)))
            time.sleep(0.2)
            assert ping_seconds(bystander) < 1.0
            deadline = time.monotonic() + 10
            while attacker.connected and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not attacker.connected, "the server closes a socket that sends past its limit"
            assert healthz(server.url)["status"] == "ok"
        finally:
            bystander.disconnect()
            attacker.disconnect()
            if attacker.eio.ws is not None:   # the server closed it; close our end too
                attacker.eio.ws.close()


@pytest.mark.parametrize("mode", MODES)
def test_malformed_packets_are_answered_and_logged_in_one_line(tiny_models, mode):
    bad = ['42["complete",{"model":', "4" + "2" + "1" * 150 + '["ping",{}]', "42" + "[" * 20000 + "]" * 20000,
           "7junk", '42[{"a":' * 500]
    with running_server(tiny_models[0], mode=mode) as server:
        client = connect(server.url)
        errors = []
        client.on(EVENTS["ERROR"], errors.append)
        try:
            for packet in bad:
                client.eio.send(packet)
            deadline = time.monotonic() + 10
            while len(errors) < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert errors and all(e["code"] == ERROR_CODES["BAD_REQUEST"] for e in errors)
            assert ping_seconds(client) < 5, "the connection still works"
        finally:
            client.disconnect()
        with open(server.log) as f:
            log = f.read()
    assert "Traceback" not in log
    assert 1 <= log.count("malformed packet") <= len(bad)
    # a quiet start: none of TensorFlow's or eventlet's notes at the default level
    for noise in ("oneDNN", "remapper", "Eventlet is deprecated", "absl::InitializeLog"):
        assert noise not in log, noise


@pytest.mark.parametrize("mode", MODES)
def test_a_rebinding_host_cannot_open_a_socket(tiny_models, mode):
    with running_server(tiny_models[0], mode=mode) as server:
        port = server.url.rsplit(":", 1)[1]
        request = urllib.request.Request(server.url + "/socket.io/?EIO=4&transport=polling",
                                         headers={"Host": f"evil.example:{port}",
                                                  "Origin": f"http://evil.example:{port}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 421
        ok = urllib.request.Request(server.url + "/api/models", headers={"Host": f"localhost:{port}"})
        assert urllib.request.urlopen(ok, timeout=10).status == 200


SERVE_RAISING_APP = textwrap.dedent("""
    import sys
    from app.web.serve import serve

    def app(environ, start_response):
        raise ZeroDivisionError("secret detail of the server")

    serve(app, None, "127.0.0.1", int(sys.argv[1]), sys.argv[2])
""")


def test_an_exception_that_escapes_the_app_sends_no_traceback():
    """eventlet.wsgi.server's own default is debug=True (threading mode uses Werkzeug, which never sends one)."""
    mode = "eventlet"
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE_RAISING_APP, str(port), mode], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, body = time.monotonic() + 30, None
        while body is None and time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
            except urllib.error.HTTPError as exc:
                body = exc.read().decode("latin-1")
            except OSError:
                time.sleep(0.2)
        assert body is not None, "the server answered"
        assert "Traceback" not in body and "secret detail" not in body
    finally:
        proc.terminate()
        proc.wait(10)
