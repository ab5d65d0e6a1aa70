"""End to end in a real headless Chromium (Debian's package, driven by Playwright).

A real server (eventlet mode) serves the tiny models; the test picks a sample,
paints a mask with mouse events, presses Complete, watches the live canvas and
the chart change, and waits for the done state. The screenshot is saved under
artifacts/ for a person to look at, and checked to show the completion.
"""
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from bench.server import running_server
from tests.e2e.helpers import open_page, pick_sample, wait_for_results, wait_until

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = os.path.join(os.path.dirname(__file__), "..", "..", "artifacts")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser   # `pytest -m 'not browser'` leaves them out


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
        page = open_page(browser, server.url)
        yield page
        browser.close()


def live_pixels(page):
    return page.evaluate("Array.from(document.getElementById('live-canvas').getContext('2d')"
                         ".getImageData(0, 0, 256, 256).data.filter((_, i) => i % 37 === 0)).join(',')")


def test_draw_complete_and_watch(page):
    page.wait_for_selector("#gallery img")
    wait_until(page, "document.getElementById('connection').textContent === 'connected'")
    pick_sample(page, 1)
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
    wait_for_results(page)
    assert live_pixels(page) != before, "the live canvas changed"
    assert page.evaluate("window.regen.chart.points") >= 3
    ends = page.evaluate("[window.regen.chart.series.total.at(-1).x, window.regen.result.msg.steps]")
    assert ends[0] == ends[1], "the loss lines reach the step the search ended at"
    assert page.is_visible("#results")
    assert "Done" in page.inner_text("#status")
    os.makedirs(ARTIFACTS, exist_ok=True)
    shot = screenshot_array(page, os.path.join(ARTIFACTS, "e2e_done.png"))
    regen, masked = (region(page, shot, f"#cmp-{name}") for name in ("regen", "masked"))
    assert regen.std() > 5, "the saved screenshot shows a completion, not an empty panel"
    assert np.abs(regen.astype(int) - masked.astype(int)).mean() > 1, "and it differs from the masked input"
    assert page.errors == []


def screenshot_array(page, path):
    """Save a full-page screenshot at path; (H, W, 3) uint8 of what it shows."""
    page.screenshot(path=path, full_page=True)
    return np.asarray(Image.open(path).convert("RGB"))


def region(page, shot, selector):
    """The part of a full-page screenshot that the element at selector covers."""
    x, y, w, h = page.evaluate(f"""(() => {{ const r = document.querySelector('{selector}').getBoundingClientRect();
        return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; }})()""")
    return shot[int(y):int(y + h), int(x):int(x + w)]


def test_server_errors_are_shown_in_words(page):
    page.fill("input[name=steps]", "99999")
    page.evaluate("window.regen.editor.preset('center')")
    page.click("#complete")
    page.wait_for_selector("#toast:not([hidden])")
    assert "steps must be from 1 to 5000" in page.inner_text("#toast")
    assert "Error" in page.inner_text("#status")
