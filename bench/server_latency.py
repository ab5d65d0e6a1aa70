"""Server responsiveness while a completion runs.

    python -m bench.server_latency [--model faces] [--restarts 16] [--pings 100] [--mode eventlet] [--json OUT]

Starts `python wsgi.py` on a free loopback port, then:
1. measures the time from `complete` to the first `progress` (warm model), several times;
2. starts a restarts = 16 job from one client and, while it runs, sends pings
   from a second client (Socket.IO call with an acknowledgement) and records
   their round trips: p50 and p95.
Everything stays on 127.0.0.1 and stops by itself.
"""
import argparse
import json
import os
import sys
import threading
import time

import numpy as np

from app.engine import manifest as model_format
from app.web.protocol import EVENTS
from bench.server import InOrderClient, job_payload, running_server
from bench.output import command_line, model_stamp, write_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LONG_JOB_STEPS = 1000   # the job the pings run beside; 5,000 steps outgrew the cost limit with the 4-layer D


def first_progress_times(url, job, repeats):
    client = InOrderClient()
    got = threading.Event()
    client.on(EVENTS["PROGRESS"], lambda msg: got.set())
    client.connect(url, transports=["websocket"])
    times = []
    try:
        for _ in range(repeats):
            got.clear()
            t = time.perf_counter()
            client.emit(EVENTS["COMPLETE"], job)
            if not got.wait(30):
                raise RuntimeError("no progress within 30 s")
            times.append(time.perf_counter() - t)
            client.emit(EVENTS["CANCEL"], {})
            time.sleep(0.5)
    finally:
        client.disconnect()
    return times


def pings_during_job(url, job, pings, interval=0.05):
    worker, pinger = InOrderClient(), InOrderClient()
    running, finished, errors = threading.Event(), threading.Event(), []
    worker.on(EVENTS["PROGRESS"], lambda msg: running.set())
    worker.on(EVENTS["DONE"], lambda msg: finished.set())
    worker.on(EVENTS["ERROR"], lambda msg: (errors.append(msg), finished.set()))
    worker.connect(url, transports=["websocket"])
    pinger.connect(url, transports=["websocket"])
    rtts = []
    try:
        worker.emit(EVENTS["COMPLETE"], job)
        if not running.wait(30):
            raise RuntimeError(f"the job did not start: {errors[0] if errors else 'no answer in 30 s'}")
        for _ in range(pings):
            if finished.is_set():
                break
            t = time.perf_counter()
            # An unknown event with an ack: the server answers from its event loop.
            pinger.call("ping", {}, timeout=10)
            rtts.append(time.perf_counter() - t)
            time.sleep(interval)
        completed_during = not finished.is_set()
        worker.emit(EVENTS["CANCEL"], {})
    finally:
        worker.disconnect()
        pinger.disconnect()
    return rtts, completed_during


def run(model, size, restarts, pings, mode, repeats=10, models_dir=None):
    models_dir = models_dir or os.path.join(ROOT, "models")
    with running_server(models_dir, mode=mode) as server:
        url = server.url
        # The first progress of a default (fast) job: the encoder's guess where there is one.
        first = first_progress_times(url, job_payload(model, size, {"restarts": restarts}), repeats)
        # Pings during a long plain search, so that the job runs throughout (LONG_JOB_STEPS:
        # about 80 s for the faces at 16 restarts, within the server's 120 s cost limit).
        rtts, ok = pings_during_job(url, job_payload(model, size, {"steps": LONG_JOB_STEPS, "restarts": restarts,
                                                               "fast": False}), pings)
    ms = lambda xs, q: float(np.percentile(xs, q) * 1000)  # noqa: E731
    return {"model": model, "mode": mode, "restarts": restarts,
            "first_progress_ms": {"p50": ms(first, 50), "p95": ms(first, 95), "n": len(first)},
            "ping_ms": {"p50": ms(rtts, 50), "p95": ms(rtts, 95), "n": len(rtts)},
            "job_was_running_throughout": ok}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.server_latency", description=__doc__.split("\n")[0])
    p.add_argument("--model", default="faces")
    p.add_argument("--restarts", type=int, default=16)
    p.add_argument("--pings", type=int, default=100)
    p.add_argument("--mode", default="eventlet", choices=["eventlet", "threading"])
    p.add_argument("--models-dir", default=None)
    p.add_argument("--json")
    args = p.parse_args(argv)
    command = command_line("bench.server_latency", argv)
    size = model_format.read(os.path.join(args.models_dir or os.path.join(ROOT, "models"), args.model)).image_shape[0]
    report = run(args.model, size, args.restarts, args.pings, args.mode, models_dir=args.models_dir)
    print(json.dumps(report, indent=2))
    write_json(args.json, {**report, "model_stamp": model_stamp(args.models_dir or os.path.join(ROOT, "models"), args.model)}, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
