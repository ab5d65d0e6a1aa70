"""Client-side infrastructure shared by the server benchmarks (bench/server_*.py,
bench/socket_stall.py) and the real-server tests (tests/web/test_real_server*.py,
tests/web/test_load.py, tests/e2e): start a real Regen server (python wsgi.py) on
a free loopback port, talk to it with an in-order Socket.IO client, build payloads."""
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types
import urllib.request

import engineio
import socketio

from app.engine import imageio
from app.engine.masks import hole_image, preset_mask

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _InOrderEngineIO(engineio.Client):
    def _trigger_event(self, event, *args, **kwargs):
        if event == "message":
            kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)


class InOrderClient(socketio.Client):
    """A Socket.IO client that reads messages in the order they arrive, on its reader thread.

    python-socketio's threaded client hands every Engine.IO message to a new thread, so the
    attachment of a binary event (Regen's progress and done carry PNGs) can be read before
    its header: a ValueError in a stray thread, and the event lost. Handlers therefore run
    on the reader thread and must not wait on the server themselves (no `call` inside one)."""

    def _engineio_client_class(self):
        return _InOrderEngineIO


def disconnect_all(clients):
    """Disconnect Socket.IO clients at once, each on its own thread: a threading-mode
    server leaves the websocket closing handshake unanswered, so each client's
    disconnect waits out websocket-client's 3 s close timeout, one after another."""
    threads = [threading.Thread(target=c.disconnect) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def job_payload(model, size, params, sample="000", mask=None):
    """A `complete` event's payload: a gallery sample of a size x size model, a mask
    (PNG bytes, white = hole; default a centre hole) and the search params."""
    if mask is None:
        mask = imageio.encode_png(hole_image(preset_mask("center", size)))
    return {"model": model, "sample": sample, "mask": mask, "params": params}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc, timeout=15):
    """Ask a child process to end (SIGTERM), then kill it if it has not within `timeout` s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def running_server(models_dir, mode="eventlet", timeout=120, **env):
    """Yield (url, pid, log: its output file) of a server started as users start it; stop it afterwards.

    The server's output goes to a temporary log file, removed once the server
    stops unless it failed to start (the error names the file)."""
    port = free_port()
    # as users start it: TensorFlow's log level is wsgi.py's own unless a test sets one
    inherited = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    environ = {**inherited, "HOST": "127.0.0.1", "PORT": str(port), "ASYNC_MODE": mode,
               "REGEN_MODELS": models_dir, "PYTHONUNBUFFERED": "1", **{k: str(v) for k, v in env.items()}}
    log = tempfile.NamedTemporaryFile("w", prefix=f"regen-server-{port}-", suffix=".log", delete=False)
    started = False
    proc = subprocess.Popen([sys.executable, "wsgi.py"], cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    raise RuntimeError(f"server did not start; see {log.name}") from None
                time.sleep(0.3)
        started = True
        yield types.SimpleNamespace(url=url, pid=proc.pid, log=log.name)
    finally:
        stop_process(proc)
        log.close()
        if started:
            os.unlink(log.name)
