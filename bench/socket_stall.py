"""A bystander's ping while another client sends the largest socket message allowed.

    python -m bench.socket_stall [--mode eventlet|threading] [--repeats 5] [--json OUT]

Starts `python wsgi.py` on a free loopback port. One client pings every 20 ms
while another sends a `complete` whose image is REGEN_MAX_SOCKET_BYTES minus a
little (the server refuses it as bad_image after reading it whole), then one of
11 MB (past the limit: the server drops the connection). Reports the bystander's
ping round trips (ms) around each kind of message.
"""
import argparse
import json
import os
import sys
import time


from app.web.config import Config
from app.web.protocol import EVENTS
from bench.output import command_line, write_json
from bench.server import InOrderClient, running_server
from bench.server_load import Bystander

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def send(url, size):
    client = InOrderClient(reconnection=False)
    client.connect(url, transports=["websocket"])
    client.emit(EVENTS["COMPLETE"], {"model": "faces", "image": os.urandom(size), "mask": b""})
    time.sleep(1.0)
    if client.connected:
        client.disconnect()


def run(models_dir, mode, repeats=5):
    report = {"mode": mode, "max_socket_bytes": Config.MAX_SOCKET_BYTES}
    with running_server(models_dir, mode=mode) as server:
        for name, size in [("idle", 0), ("largest_legal", Config.MAX_SOCKET_BYTES - 4096),
                           ("oversized_11mb", 11 * 1024 * 1024)]:
            bystander = Bystander(server.url, interval=0.02)
            time.sleep(0.5)
            for _ in range(repeats):
                if size:
                    send(server.url, size)
                else:
                    time.sleep(1.0)
            report[name] = bystander.stop()
    return report


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.socket_stall", description=__doc__.split("\n")[0])
    p.add_argument("--mode", choices=["eventlet", "threading"], default="eventlet")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--models-dir", default=os.path.join(ROOT, "models"))
    p.add_argument("--json")
    args = p.parse_args(argv)
    report = run(args.models_dir, args.mode, args.repeats)
    print(json.dumps(report, indent=2))
    write_json(args.json, report, command_line("bench.socket_stall", argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
