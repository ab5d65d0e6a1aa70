"""The page, unchanged, against the distributed mode: Chromium on one of two web
processes, the job run by a worker (python -m app.worker) through a real
redis-server. A person sees the same thing as with `python wsgi.py` alone:
the live canvas and the chart move, Stop stops, and the completion arrives."""
import time

import pytest

from bench.cluster import read_text
from tests.e2e.helpers import fill_params, open_page, pick_sample, wait_for_results, wait_until
from tests.e2e.test_browser import CHROMIUM, LAUNCH_ARGS, browser_or_skip, live_pixels
from tests.web.helpers import needs_redis

pytestmark = [pytest.mark.browser, needs_redis]


@pytest.fixture(scope="module")
def page(tiny_models):
    browser_or_skip()
    from playwright.sync_api import sync_playwright

    from bench.cluster import running_cluster  # noqa: PLC0415
    with running_cluster(tiny_models[0], webs=2, workers=1) as cluster, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        page = open_page(browser, cluster.webs[1].url)
        page.cluster = cluster
        yield page
        browser.close()


def wait_until_logged(cluster, text, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not any(text in read_text(w.log) for w in cluster.workers):
        assert time.monotonic() < deadline, f"no worker logged {text!r}"
        time.sleep(0.1)


def test_a_completion_run_by_a_worker_streams_into_the_page_and_stop_stops_it(page):
    page.wait_for_selector("#gallery img")
    wait_until(page, "document.getElementById('connection').textContent === 'connected'")
    pick_sample(page, 0)
    page.evaluate("window.regen.editor.preset('center')")
    assert page.evaluate("window.regen.editor.holeCount") > 10
    fill_params(page, "5000", "4", fast=False)   # no early stop: it is still running when Stop comes
    page.click("#complete")
    wait_until(page, "window.regen.chart.points >= 3", timeout=60000)
    job = page.evaluate("window.regen.job.id")
    page.click("#stop")
    wait_until(page, "document.body.dataset.state === 'cancelled'", timeout=10000)
    wait_until_logged(page.cluster, f"job {job} cancelled")   # the worker stopped it

    page.fill("input[name=steps]", "200")
    before = live_pixels(page)
    page.click("#complete")
    wait_until(page, "document.body.dataset.state === 'done'", timeout=60000)
    wait_for_results(page)
    assert live_pixels(page) != before and page.is_visible("#results")
    assert "Done" in page.inner_text("#status")
    assert page.errors == []
