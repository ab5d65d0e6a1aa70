"""Render BENCHMARKS.md from the JSON files the benchmark scripts wrote.

    bash bench/run_all.sh            # runs every benchmark into bench/results/
    python -m bench.report           # writes BENCHMARKS.md from bench/results/*.json and bench/NOTES.md

Each table names the command that produced it, the date and the machine.
"""
import argparse
import glob
import json
import os
import sys

from bench import curves, inpaint_quality, inpaint_speed
from bench.output import model_stamp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
MODELS = os.path.join(ROOT, "models")


def load(name):
    path = os.path.join(RESULTS, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def machine_line(report):
    m = (report or {}).get("machine") or {}
    return (f"{m.get('cores', os.cpu_count())} cores, {m.get('cpu', 'unknown CPU')}, GPU: "
            f"{m.get('gpu', 'none')}, TensorFlow {m.get('tensorflow', '?')}")


def section(title, report, body, module):
    """A table's section: the command that reruns it, the day it ran and, where recorded,
    the model it scored, as the report's JSON records them (`bench.output`)."""
    command = report.get("command", f"python -m {module} ...")
    model = f"{model_line(report)}\n\n" if "model_stamp" in report else ""
    return f"## {title}\n\nCommand: `{command}`  \nRun: {report.get('date', 'not recorded')}\n\n{model}{body}\n"


def model_line(report):
    """Which model a quality result is of, and whether it is the committed one: a result
    left from another model (a G, an encoder or a second stage since replaced) says so,
    since its figures do not describe today's."""
    ran = report["model_stamp"]
    line = f"Model: {describe_stamp(ran)}"
    try:
        now = model_stamp(MODELS, report["model"])
    except FileNotFoundError:
        return line + " (no such model is committed now)"
    if now != ran:
        line += f" (**another model** than the committed one, {describe_stamp(now)}: not rerun)"
    return line


def describe_stamp(stamp):
    encoder = f"encoder exported {stamp['encoder_exported']}" if stamp.get("encoder_exported") else "no encoder"
    return (f"G at step {stamp['steps']}, exported {stamp['exported']}; {encoder}; "
            f"second stage {stamp.get('refine_steps', 0)} steps")


def quality_sections():
    out = []
    for path in sorted(glob.glob(os.path.join(RESULTS, "quality_*.json"))):
        report = load(os.path.basename(path))
        title = f"Quality: {report['model']} on {report['data']} ({report.get('limit')} images)"
        out.append(section(title, report, inpaint_quality.markdown_table(report["results"]), "bench.inpaint_quality"))
    return out


def time_to_quality_sections():
    """The fast path against the paper's settings, with the plot `bench.curves` draws."""
    out = []
    for path in sorted(glob.glob(os.path.join(RESULTS, "ttq_*.json"))):
        report = load(os.path.basename(path))
        title = f"Time to quality: {report['model']} on {report['data']} ({report.get('limit')} images)"
        body = inpaint_quality.markdown_table(report["results"])
        if "yeh" in report["results"] and "regen-fast" in report["results"]:
            for mask, yeh in report["results"]["yeh"].items():
                fast = report["results"]["regen-fast"][mask]
                body += (f"\n\n`{mask}`: regen-fast {fast['psnr_hole']:.2f} dB in {fast['seconds']:.2f} s, "
                         f"yeh {yeh['psnr_hole']:.2f} dB in {yeh['seconds']:.1f} s: "
                         f"{yeh['seconds'] / fast['seconds']:.1f}x less time.")
                reach = curves.time_to_reach(fast["curve"], yeh["psnr_hole"]) if "curve" in fast else None
                if reach is not None:
                    body += (f" Its mean curve reaches yeh's final {yeh['psnr_hole']:.2f} dB after "
                             f"{reach:.2f} s, {yeh['seconds'] / reach:.0f}x sooner than yeh ends.")
        out.append(section(title, report, body, "bench.inpaint_quality --time-to-quality"))
    if out:
        out.append("Hole PSNR of what the page shows against wall seconds (`python -m bench.curves "
                   "bench/results/ttq_*.json --out bench/time_to_quality.png`):\n\n"
                   "![time to quality](bench/time_to_quality.png)\n")
    return out


def speed_section():
    report = load("speed.json")
    if not report:
        return []
    body = (f"Machine float32 matmul: {report['matmul_gflops']:.0f} GFLOP/s. "
            f"FLOPs per sample-iteration (G + D forward, backward to z): "
            f"{report['gflop_per_sample_iteration']:.3f} GFLOP. "
            f"Limit: {report['limit_sample_it_per_s']:.0f} sample-it/s.\n\n"
            + inpaint_speed.markdown_table(report)
            + f"\n\nTime to the first progress report (warm): {report['first_progress_s'] * 1000:.0f} ms.")
    return [section(f"Speed: {report['model']}", report, body, "bench.inpaint_speed")]


def server_sections():
    out = []
    lat = load("latency.json")
    if lat:
        body = ("| measure | p50 | p95 | n |\n| --- | --- | --- | --- |\n"
                f"| ping round trip during a restarts = {lat['restarts']} job | {lat['ping_ms']['p50']:.1f} ms | "
                f"{lat['ping_ms']['p95']:.1f} ms | {lat['ping_ms']['n']} |\n"
                f"| `complete` to first `progress` | {lat['first_progress_ms']['p50']:.0f} ms | "
                f"{lat['first_progress_ms']['p95']:.0f} ms | {lat['first_progress_ms']['n']} |")
        out.append(section(f"Server latency ({lat['mode']})", lat, body, "bench.server_latency"))
    loads = [r for r in (load(f"load_{mode}.json") for mode in ("eventlet", "threading")) if r]
    if loads:
        body = ("| mode | clients | accepted | done | busy | errors | crashes | hangs | lost | time to done p50 / p95 "
                "| bystander ping p50 / p95 / max | server RSS before / after |\n"
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
        for r in loads:
            ping = r["bystander_ping_ms"]
            body += (f"| {r['mode']} | {r['clients']} | {r['accepted']} | {r['done']} | {r['busy']} | {r['errors']} | "
                     f"{int(r['crashed'])} | {r['hangs']} | {r['lost']} | "
                     f"{r['time_to_done_s']['p50']:.1f} s / {r['time_to_done_s']['p95']:.1f} s | "
                     f"{ping['p50']:.1f} / {ping['p95']:.1f} / {ping['max']:.0f} ms | "
                     f"{r['server_rss_mb']['before']:.0f} MB / {r['server_rss_mb']['after']:.0f} MB |\n")
        out.append(section("Server under load", loads[0], body.rstrip(), "bench.server_load"))
    stalls = [r for r in (load(f"socket_stall_{mode}.json") for mode in ("eventlet", "threading")) if r]
    if stalls:
        body = ("A bystander pings every 20 ms while another client sends a `complete` of the largest size the "
                f"socket accepts ({stalls[0]['max_socket_bytes'] // 1024} KiB, refused as `bad_image` once read), "
                "then one of 11 MB (past the limit: the server closes that connection). Before this limit, "
                "one 10 MB message stalled the eventlet loop about 2.7 s.\n\n"
                "| mode | message | bystander ping p50 | p95 | max | n |\n| --- | --- | --- | --- | --- | --- |\n")
        for r in stalls:
            for key, name in (("idle", "none (idle)"), ("largest_legal", "largest legal"),
                              ("oversized_11mb", "11 MB (refused)")):
                t = r[key]
                body += f"| {r['mode']} | {name} | {t['p50']:.1f} ms | {t['p95']:.1f} ms | {t['max']:.0f} ms | {t['n']} |\n"
        out.append(section("A large socket message and a bystander", stalls[0], body.rstrip(), "bench.socket_stall"))
    return out


def render(notes=""):
    speed = load("speed.json")
    parts = ["# Benchmarks\n",
             "Generated by `python -m bench.report` from `bench/results/*.json` and `bench/NOTES.md` "
             "(`bash bench/run_all.sh` reruns everything). Edit the notes in `bench/NOTES.md`, never here: "
             "the next render replaces this file.\n",
             f"Machine: {machine_line(speed)}.\n"]
    parts += quality_sections() + time_to_quality_sections() + speed_section() + server_sections()
    if notes:
        parts.append(notes)
    return "\n".join(parts)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    p.add_argument("--notes", default=os.path.join(ROOT, "bench", "NOTES.md"),
                   help="the Markdown appended after the tables (default bench/NOTES.md; '' for none)")
    args = p.parse_args(argv)
    notes = open(args.notes).read() if args.notes else ""
    with open(args.out, "w") as f:
        f.write(render(notes))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
