"""How fast the Latent view's code sliders redraw, measured in a real browser.

    python -m bench.latent_speed --model mnist-infogan [--seconds 5] [--json OUT.json]

Starts the server (eventlet, as users start it) on models/, opens the page in
headless Chromium (Debian's package), picks a sample of MODEL in the Latent view
and drags its first code slider back and forth for SECONDS, as a user would. The
page keeps one `generate` request in flight at a time and redraws on each answer,
so the answers per second are the frames per second the user sees.
"""
import argparse
import shutil
import sys
import time

import numpy as np

from bench.output import command_line, write_json
from bench.server import running_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def wait(page, expression, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise RuntimeError(f"not true within {timeout} s: {expression}")
        time.sleep(0.05)


def measure(model, seconds, models_dir="models"):
    from playwright.sync_api import sync_playwright
    with running_server(models_dir, mode="eventlet") as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(server.url)
        wait(page, "window.regen.latent && window.regen.latent.loads >= 1")
        page.click("[data-view=latent]")
        loads = page.evaluate("window.regen.latent.loads")
        page.select_option("#latent-model", model)
        wait(page, f"window.regen.latent.loads > {loads}")
        page.click("#latent-grid canvas >> nth=0")
        box = page.locator("#latent-sliders input >> nth=0").bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + 2, y)
        page.mouse.down()
        start = page.evaluate("window.regen.latent.answers.length")
        t0, i = time.monotonic(), 0
        while time.monotonic() - t0 < seconds:
            page.mouse.move(box["x"] + box["width"] * (0.5 + 0.5 * np.sin(i / 8)), y)
            page.wait_for_timeout(10)
            i += 1
        page.mouse.up()
        answers = page.evaluate(f"window.regen.latent.answers.slice({start})")
        browser.close()
    gaps = np.diff(answers) / 1000.0
    return {"model": model, "seconds": seconds, "frames": len(answers),
            "fps": len(answers) / seconds, "median_gap_ms": float(np.median(gaps) * 1000),
            "p95_gap_ms": float(np.percentile(gaps, 95) * 1000)}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.latent_speed", description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a model with continuous codes (InfoGAN)")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--json")
    p.add_argument("--models-dir", default="models")
    args = p.parse_args(argv)
    report = measure(args.model, args.seconds, args.models_dir)
    print(f"{report['frames']} frames in {args.seconds:g} s: {report['fps']:.1f} frames a second, "
          f"gap median {report['median_gap_ms']:.0f} ms, p95 {report['p95_gap_ms']:.0f} ms")
    write_json(args.json, report, command_line("bench.latent_speed", argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
