"""The distributed mode on one machine, for its tests and `bench.server_load --broker`:
a real Redis (Debian's redis-server) on a free loopback port, web processes
(python wsgi.py with REGEN_BROKER) and workers (python -m app.worker), each a
process started as users start it."""
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types

from bench.server import ROOT, free_port, running_server, stop_process

REDIS = shutil.which("redis-server")


@contextlib.contextmanager
def running_redis(port=None):
    """Yield (url, port, restart()) of a throwaway redis-server that keeps nothing on
    disk; restart() stops it and starts it again, empty, on the same port."""
    if REDIS is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = port or free_port()
    workdir = tempfile.mkdtemp(prefix="regen-redis-")
    state = {}

    def start():
        state["proc"] = subprocess.Popen(
            [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", workdir, "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis
        client = redis.Redis(port=port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop():
        state["proc"].terminate()
        state["proc"].wait(timeout=10)

    def restart(down_seconds=0.0):
        stop()
        time.sleep(down_seconds)
        start()

    start()
    try:
        yield types.SimpleNamespace(url=f"redis://127.0.0.1:{port}/0", port=port, restart=restart, stop=stop,
                                    start=start)
    finally:
        if state["proc"].poll() is None:
            stop()
        shutil.rmtree(workdir, ignore_errors=True)


def read_text(path):
    with open(path) as f:
        return f.read()


@contextlib.contextmanager
def running_worker(models_dir, broker, name, timeout=180, **env):
    """Yield (pid, name, log, kill()) of `python -m app.worker`, once it takes jobs."""
    environ = {**{k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},
               "REGEN_MODELS": models_dir, "REGEN_BROKER": broker, "PYTHONUNBUFFERED": "1",
               **{k: str(v) for k, v in env.items()}}
    log = tempfile.NamedTemporaryFile("w", prefix=f"regen-worker-{name}-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "-m", "app.worker", "--name", name], cwd=ROOT, env=environ,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while "ready." not in read_text(log.name):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {name} did not start; see {log.name}")
            time.sleep(0.2)
        yield types.SimpleNamespace(pid=proc.pid, name=name, log=log.name, proc=proc,
                                    kill=lambda: (proc.send_signal(signal.SIGKILL), proc.wait(10)))
    finally:
        stop_process(proc)
        log.close()


@contextlib.contextmanager
def running_cluster(models_dir, webs=2, workers=2, mode="eventlet", broker=None, **env):
    """Redis (a throwaway redis-server, or the one at `broker`), `webs` web processes and
    `workers` workers on 127.0.0.1: yields (redis, webs [server namespaces with .url],
    workers [worker namespaces])."""
    with contextlib.ExitStack() as stack:
        queue = types.SimpleNamespace(url=broker) if broker else stack.enter_context(running_redis())
        servers = [stack.enter_context(running_server(models_dir, mode=mode, REGEN_BROKER=queue.url, **env))
                   for _ in range(webs)]
        pool = [stack.enter_context(running_worker(models_dir, queue.url, f"w{i}", **env)) for i in range(workers)]
        yield types.SimpleNamespace(redis=queue, webs=servers, workers=pool)
