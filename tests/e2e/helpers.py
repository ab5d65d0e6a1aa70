"""Waiting in the page without eval: the page's Content-Security-Policy forbids
string evaluation, which Playwright's wait_for_function relies on, so the
condition is polled from here with page.evaluate (not subject to the policy)."""
import time


def wait_until(page, expression, timeout=30000, interval=0.05):
    """Poll the JS expression until it is truthy; its value, or AssertionError after timeout (ms)."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout / 1000:g} s: {expression}")
        time.sleep(interval)


def open_page(browser, url, height=1000):
    """A new page of `url` that records its script and console errors in `page.errors`."""
    page = browser.new_page(viewport={"width": 1400, "height": height})
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    # a failed load (a missing script, style or icon) shows up as a console error
    page.on("console", lambda m: page.errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.goto(url)
    return page


def pick_model(page, name):
    """Choose `name` in the model picker and wait until its first sample is in the editor
    (the model, gallery and image change together once they have all arrived)."""
    page.select_option("#model-picker", name)
    wait_until(page, f"!window.regen.source.loading && window.regen.source.model.name === {name!r}")


def pick_sample(page, nth):
    """Click gallery sample `nth` and wait until it is in the editor (Complete waits for it)."""
    page.click(f"#gallery img >> nth={nth}")
    wait_until(page, "window.regen.editor.ready && !window.regen.source.loading")


def fill_params(page, steps, restarts, fast=True):
    """Set the completion's steps and restarts; fast=False turns the fast path off
    (no early stop), so a long job really runs long."""
    page.fill("input[name=steps]", steps)
    page.fill("input[name=restarts]", restarts)
    if page.is_checked("input[name=fast]") != fast:
        page.click("input[name=fast]")


def result_draws(page):
    """How many times the current result's panels have been drawn in full (0 while
    the first drawing, after the done state, is under way)."""
    return page.evaluate("window.regen.result ? window.regen.result.draws : 0")


def wait_for_results(page, after=0, timeout=10000):
    """Wait until the latest job's result panels are drawn (more than `after` times:
    pass result_draws() from before a redraw, e.g. the grain toggle)."""
    wait_until(page, "window.regen.result && window.regen.result.ticket === window.regen.job.ticket"
                     f" && window.regen.result.draws > {int(after)}", timeout=timeout)
