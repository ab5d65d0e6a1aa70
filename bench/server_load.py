"""Many clients at once against a real server.

    python -m bench.server_load [--model faces] [--clients 20] [--steps 100] [--restarts 4]
        [--mode eventlet|threading] [--broker local|redis://... --webs 2 --workers 1] [--json OUT]

Starts `python wsgi.py` on a free loopback port (with `--broker`: the distributed
mode, Redis, `--webs` web processes and `--workers` workers, `bench.cluster`;
`local` starts a throwaway redis-server); N python-socketio
clients connect and submit a job at the same moment. Every client must end with
`done` or with an `error` whose code is `busy`; none may hang; the server must
still answer /healthz; and no job may be lost: every accepted job (one that got
`queued`) ends in exactly one `done` or `error`. Bounded in count and time; it
stops by itself. Reports accepted, done, busy, errors, p50/p95 time to done,
the wait in the queue (from `queued` to the first `progress`), jobs done per
minute, a bystander's ping round trip (one more client pinging every 50 ms
throughout) and the web processes' memory before and after. The clients all come from 127.0.0.1,
so the per-address limits are lifted to stand for N users (LOAD_ENV).
"""
import argparse
import contextlib
import json
import os
import sys
import threading
import time
import types
import urllib.request

import numpy as np

from app.engine import manifest as model_format
from app.web.protocol import ERROR_CODES, EVENTS
from bench.server import InOrderClient, disconnect_all, job_payload, running_server
from bench.output import command_line, model_stamp, write_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# N clients on one loopback address stand for N users: lift the per-address limits
LOAD_ENV = {"REGEN_MAX_JOBS_PER_ADDRESS": 1000, "REGEN_MAX_CONNECTIONS_PER_ADDRESS": 1000,
            "REGEN_COMPLETE_RATE": "1000/60"}


class Bystander:
    """A client that pings every `interval` s until stopped; round trips in ms."""

    def __init__(self, url, interval=0.05):
        self.client, self.interval = InOrderClient(), interval
        self.client.connect(url, transports=["websocket"])
        self.times, self.stopped = [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped.is_set():
            started = time.perf_counter()
            self.client.call(EVENTS["PING"], {}, timeout=60)
            self.times.append(1000 * (time.perf_counter() - started))
            self.stopped.wait(self.interval)

    def stop(self):
        self.stopped.set()
        self.thread.join(70)
        self.client.disconnect()
        t = np.array(self.times or [float("nan")])
        return {"n": len(self.times), "p50": float(np.percentile(t, 50)), "p95": float(np.percentile(t, 95)),
                "max": float(t.max())}


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class LoadClient:
    def __init__(self, url):
        self.client = InOrderClient()
        self.events = []
        self.ended = threading.Event()
        for name in (EVENTS["QUEUED"], EVENTS["DONE"], EVENTS["ERROR"]):
            self.client.on(name, self._record(name))
        self.first_progress = None
        self.client.on(EVENTS["PROGRESS"], self._progress)
        self.client.connect(url, transports=["websocket"])

    def _record(self, name):
        def handler(msg):
            self.events.append((name, msg, time.perf_counter()))
            if name != EVENTS["QUEUED"]:
                self.ended.set()
        return handler

    def _progress(self, msg):
        if self.first_progress is None:
            self.first_progress = time.perf_counter()

    def outcome(self):
        ends = [(n, m) for n, m, _ in self.events if n != EVENTS["QUEUED"]]
        return ends


@contextlib.contextmanager
def serving(models_dir, mode, env, broker=None, webs=1, workers=1):
    """Yield (urls, web pids): one embedded server, or with `broker` the distributed mode."""
    if not broker:
        with running_server(models_dir, mode=mode, **env) as server:
            yield [server.url], [server.pid]
        return
    from bench.cluster import running_cluster
    with running_cluster(models_dir, webs=webs, workers=workers, mode=mode,
                         broker=None if broker == "local" else broker, **env) as cluster:
        yield [w.url for w in cluster.webs], [w.pid for w in cluster.webs]


def run_load(models_dir, model, size, clients=20, steps=100, restarts=4, timeout=600, mode="eventlet",
             broker=None, webs=1, workers=1, **env):
    """Returns the report dict; raises AssertionError if a contract is broken."""
    job = job_payload(model, size, {"steps": steps, "restarts": restarts})
    with serving(models_dir, mode, {**LOAD_ENV, **env}, broker, webs, workers) as (urls, pids):
        server = types.SimpleNamespace(url=urls[0], pid=pids[0])
        before = sum(rss_mb(pid) for pid in pids)
        bystander = Bystander(server.url)
        loads = [LoadClient(urls[i % len(urls)]) for i in range(clients)]
        barrier = threading.Barrier(clients)
        started = {}

        def submit(c):
            barrier.wait()
            started[c] = time.perf_counter()
            c.client.emit(EVENTS["COMPLETE"], job)

        threads = [threading.Thread(target=submit, args=(c,)) for c in loads]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        deadline = time.perf_counter() + timeout
        for c in loads:
            c.ended.wait(max(0.0, deadline - time.perf_counter()))
        time.sleep(0.5)   # let any duplicate terminal event arrive, so it would be counted
        pings = bystander.stop()
        health = [json.loads(urllib.request.urlopen(url + "/healthz", timeout=10).read()) for url in urls]
        after = sum(rss_mb(pid) for pid in pids)
        disconnect_all([c.client for c in loads])

    hangs = sum(not c.ended.is_set() for c in loads)
    accepted = [c for c in loads if any(n == EVENTS["QUEUED"] for n, _, _ in c.events)]
    lost = sum(len(c.outcome()) != 1 for c in accepted)
    done = [c for c in loads if c.outcome() and c.outcome()[0][0] == EVENTS["DONE"]]
    busy = [c for c in loads if c.outcome() and c.outcome()[0][1].get("code") == ERROR_CODES["BUSY"]]
    other_errors = [c.outcome()[0][1] for c in loads
                    if c.outcome() and c.outcome()[0][0] == EVENTS["ERROR"] and c not in busy]
    ends = [next(t for n, _, t in c.events if n == EVENTS["DONE"]) for c in done]
    times = [t - started[c] for t, c in zip(ends, done)]
    waits = [c.first_progress - started[c] for c in done if c.first_progress is not None]
    span = (max(ends) - min(started.values())) if ends else None
    return {
        "mode": mode, "clients": clients, "steps": steps, "restarts": restarts,
        "broker": bool(broker), "webs": len(urls), "workers": workers if broker else None,
        "bystander_ping_ms": pings,
        "accepted": len(accepted), "done": len(done), "busy": len(busy), "errors": len(other_errors),
        "error_details": other_errors[:5], "hangs": hangs, "lost": lost,
        "crashed": any(h.get("status") != "ok" for h in health),
        "jobs_per_minute": round(60 * len(done) / span, 2) if span else None,
        "queue_wait_s": {"p50": float(np.percentile(waits, 50)) if waits else None,
                         "p95": float(np.percentile(waits, 95)) if waits else None},
        "time_to_done_s": {"p50": float(np.percentile(times, 50)) if times else None,
                           "p95": float(np.percentile(times, 95)) if times else None},
        "server_rss_mb": {"before": round(before, 1), "after": round(after, 1)},   # all web processes
    }


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.server_load", description=__doc__.split("\n")[0])
    p.add_argument("--model", default="faces")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--restarts", type=int, default=4)
    p.add_argument("--mode", choices=["eventlet", "threading"], default="eventlet")
    p.add_argument("--models-dir", default=os.path.join(ROOT, "models"))
    p.add_argument("--broker", help="the distributed mode: 'local' (a throwaway redis-server) or a redis:// URL")
    p.add_argument("--webs", type=int, default=2, help="with --broker: web processes")
    p.add_argument("--workers", type=int, default=1, help="with --broker: workers")
    p.add_argument("--json")
    args = p.parse_args(argv)
    command = command_line("bench.server_load", argv)
    size = model_format.read(os.path.join(args.models_dir, args.model)).image_shape[0]
    report = run_load(args.models_dir, args.model, size, args.clients, args.steps, args.restarts, mode=args.mode,
                      broker=args.broker, webs=args.webs, workers=args.workers)
    print(json.dumps(report, indent=2))
    write_json(args.json, {**report, "model": args.model, "model_stamp": model_stamp(args.models_dir, args.model)}, command)
    return 0 if report["hangs"] == report["lost"] == 0 and not report["crashed"] else 1


if __name__ == "__main__":
    sys.exit(main())
