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
