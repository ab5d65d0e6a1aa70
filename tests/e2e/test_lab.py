"""The Lab in headless Chromium against a real server with the tiny models: a dream
and a style transfer stream their frames into the page, and Stop ends one mid-run."""
import os

import pytest

from bench.server import running_server
from tests.e2e.helpers import open_page, wait_until
from tests.e2e.test_browser import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, browser_or_skip

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page(tiny_models):
    browser_or_skip()
    from playwright.sync_api import sync_playwright
    with running_server(tiny_models[0], mode="eventlet") as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        page = open_page(browser, server.url)
        wait_until(page, "document.getElementById('connection').textContent === 'connected'")
        wait_until(page, "window.regen.lab.dream && window.regen.lab.style", timeout=60000)
        yield page
        browser.close()


def live(page, view):
    return page.evaluate(f"Array.from(document.querySelector('#{view}-view .lab-live').getContext('2d')"
                         ".getImageData(0, 0, 256, 256).data.filter((_, i) => i % 29 === 0)).join(',')")


def test_a_dream_streams_its_frames(page):
    page.keyboard.press("v")                      # Inpaint -> Dream, by keyboard
    assert page.is_visible("#dream-view") and not page.is_visible("#inpaint-view")
    page.select_option("select[name=dream-features]", "random")
    page.select_option("select[name=dream-layer]", "r3")
    page.fill("input[name=dream-steps]", "20")
    page.fill("input[name=dream-seed]", "1")
    before = live(page, "dream")
    page.click("#dream-view .lab-start")
    wait_until(page, "document.body.dataset.state === 'done'", timeout=60000)
    assert page.evaluate("window.regen.lab.dream.chart.points") >= 2, "frames and their losses arrived"
    assert live(page, "dream") != before
    assert "Done" in page.inner_text("#dream-view .lab-status")
    assert page.get_attribute("#dream-view .lab-download", "href").startswith("blob:")
    assert page.errors == []


def test_a_style_transfer_runs_and_stop_ends_another_mid_run(page):
    page.click("[data-view=style]")
    page.select_option("#style-view [data-picker=style] select", index=4)   # a tiny-gray sample
    page.select_option("select[name=style-features]", "random")
    page.fill("input[name=style-steps]", "30")
    page.fill("input[name=style-size]", "64")
    page.click("#style-view .lab-start")
    wait_until(page, "document.body.dataset.state === 'done'", timeout=60000)
    series = page.evaluate("window.regen.lab.style.chart.series")
    assert set(series) == {"content", "style", "histogram", "smoothness", "total"}
    assert series["total"][-1]["y"] < series["total"][0]["y"], "the loss falls"
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, "e2e_lab_style.png"), full_page=True)
    # a long one, stopped with Esc after a few frames
    page.fill("input[name=style-steps]", "400")
    page.fill("input[name=style-size]", "160")
    page.click("#style-view .lab-start")
    wait_until(page, "window.regen.lab.style.chart.points >= 3 || !window.regen.job.active", timeout=60000)
    assert page.evaluate("window.regen.job.active"), page.inner_text("#style-view .lab-status")
    page.click("#style-view h2")                   # leave the field, so Esc goes to the page
    page.keyboard.press("Escape")
    wait_until(page, "document.body.dataset.state === 'cancelled'", timeout=10000)
    points = page.evaluate("window.regen.lab.style.chart.points")
    page.wait_for_timeout(1500)
    assert page.evaluate("window.regen.lab.style.chart.points") == points, "no frame of it after Stop"
    assert "Stopped" in page.inner_text("#style-view .lab-status")
    assert page.errors == []
