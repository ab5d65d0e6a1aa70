"""End to end in a real headless Chromium (Debian's package, driven by Playwright).

A real server (eventlet mode) serves the tiny models; the test picks a sample,
paints a mask with mouse events, presses Complete, watches the live canvas and
the chart change, and waits for the done state. The screenshot is saved under
artifacts/ for a person to look at.
"""
import os
import shutil

import pytest

from bench.server import running_server
from tests.e2e.helpers import wait_until

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = os.path.join(os.path.dirname(__file__), "..", "..", "artifacts")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


def browser_or_skip():
    if os.path.exists(CHROMIUM):
        try:
            from playwright.sync_api import sync_playwright  # noqa: F401
            return
        except ImportError as exc:
            reason = f"playwright is not installed ({exc})"
    else:
        reason = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def page(tiny_models):
    browser_or_skip()
    from playwright.sync_api import sync_playwright
    with running_server(tiny_models[0], mode="eventlet") as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # A failed load (a missing script, style or icon) shows up as a console error.
        page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.goto(server.url)
        page.errors = errors
        yield page
        browser.close()


def live_pixels(page):
    return page.evaluate("Array.from(document.getElementById('live-canvas').getContext('2d')"
                         ".getImageData(0, 0, 256, 256).data.filter((_, i) => i % 37 === 0)).join(',')")


def test_draw_complete_and_watch(page):
    page.wait_for_selector("#gallery img")
    wait_until(page, "document.getElementById('connection').textContent === 'connected'")
    page.click("#gallery img >> nth=1")
    wait_until(page, "window.regen.editor.ready")
    box = page.locator("#mask-canvas").bounding_box()
    # Paint a stroke across the middle with the brush.
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(box["x"] + box["width"] * (0.3 + 0.04 * i), box["y"] + box["height"] * 0.5)
    page.mouse.up()
    assert page.evaluate("window.regen.editor.holeCount") > 10
    page.fill("input[name=steps]", "300")
    page.fill("input[name=restarts]", "4")
    before = live_pixels(page)
    page.click("#complete")
    wait_until(page, "window.regen.chart.points >= 2", timeout=60000)
    wait_until(page, "document.body.dataset.state === 'done'", timeout=120000)
    assert live_pixels(page) != before, "the live canvas changed"
    assert page.evaluate("window.regen.chart.points") >= 3
    assert page.is_visible("#results")
    assert "Done" in page.inner_text("#status")
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, "e2e_done.png"), full_page=True)
    assert page.errors == []


def test_server_errors_are_shown_in_words(page):
    page.fill("input[name=steps]", "99999")
    page.evaluate("window.regen.editor.preset('center')")
    page.click("#complete")
    page.wait_for_selector("#toast:not([hidden])")
    assert "steps must be from 1 to 5000" in page.inner_text("#toast")
    assert "Error" in page.inner_text("#status")
