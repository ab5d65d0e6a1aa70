"""The Latent view in headless Chromium against a real server: a morph's frames arrive
and loop, an arithmetic result is built, an InfoGAN slider changes the picture live,
and a digit is completed as a chosen class. Models: the tiny RGB model and tiny
class-conditional ones (random weights: what is checked is the wiring, not beauty)."""
import shutil

import pytest

from bench.server import running_server
from tests.e2e.helpers import open_page, pick_model, wait_for_results, wait_until
from tests.e2e.test_browser import CHROMIUM, LAUNCH_ARGS, browser_or_skip

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page(tiny_models, tiny_conditional_models, tmp_path_factory):
    browser_or_skip()
    from playwright.sync_api import sync_playwright
    models = tmp_path_factory.mktemp("latent") / "models"
    shutil.copytree(tiny_conditional_models, models)
    shutil.copytree(f"{tiny_models[0]}/tiny", models / "tiny")
    with running_server(str(models), mode="eventlet") as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        page = open_page(browser, server.url, height=1100)
        wait_until(page, "document.getElementById('connection').textContent === 'connected'")
        try:
            wait_until(page, "window.regen.latent && window.regen.latent.items.length === 16", timeout=60000)
        except AssertionError:
            raise AssertionError(page.errors)
        yield page
        browser.close()


def pixels(page, selector):
    return page.evaluate(f"Array.from(document.querySelector('{selector}').getContext('2d')"
                         ".getImageData(0, 0, 64, 64).data.filter((_, i) => i % 7 === 0)).join(',')")


def test_a_morph_streams_frames_then_loops(page):
    page.click("[data-view=latent]")
    assert page.input_value("#latent-model") == "tiny"
    page.fill("#latent-frames", "8")
    for nth in (0, 5):                                             # the keyboard path: Tab to a pick, Space
        page.focus(f"#latent-grid canvas >> nth={nth}")
        page.keyboard.press(" ")
    assert page.evaluate("window.regen.latent.selected.length") == 2
    page.keyboard.press("m")

    try:
        wait_until(page, "document.body.dataset.state === 'done'", timeout=30000)
    except AssertionError:
        raise AssertionError([page.inner_text("#latent-status"), page.inner_text("#toast"),
                              page.evaluate("document.body.dataset.state")])
    assert page.evaluate("window.regen.latent.frames.length") == 8
    assert page.get_attribute("#latent-gif", "href").startswith("blob:")
    first = pixels(page, "#latent-live")
    page.wait_for_timeout(400)
    assert pixels(page, "#latent-live") != first, "it plays as a loop"
    assert page.errors == []


def test_an_arithmetic_result_is_built_from_three_groups(page):
    for key, nth in (("a", 1), ("b", 2), ("c", 3)):
        while page.locator("#latent-grid canvas.active").count():   # a click on a pick unpicks it
            page.click("#latent-grid canvas.active >> nth=0")
        page.click(f"#latent-grid canvas >> nth={nth}")
        page.click(f"#add-{key}")
    page.drag_and_drop("#latent-grid canvas >> nth=4", "#group-c")   # and one by drag and drop
    assert page.locator("#group-c .members canvas").count() == 2
    page.click("#latent-compute")
    wait_until(page, "document.querySelectorAll('#arithmetic-result canvas').length === 5")
    assert page.locator("#latent-grid canvas.nearest").count() == 3
    assert page.errors == []


def test_an_infogan_slider_changes_the_picture_live(page):
    loads = page.evaluate("window.regen.latent.loads")
    page.select_option("#latent-model", "tiny-info")
    wait_until(page, f"window.regen.latent.loads > {loads}")
    assert page.is_visible("#latent-codes") and page.locator("#latent-sliders input").count() == 2
    page.click("#latent-grid canvas >> nth=0")
    wait_until(page, "window.regen.latent.answers.length >= 1")
    before = pixels(page, "#latent-codes-canvas")
    slider = page.locator("#latent-sliders input >> nth=0")
    box = slider.bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    for i in range(1, 21):
        page.mouse.move(box["x"] + box["width"] * i / 20, box["y"] + box["height"] / 2)
        page.wait_for_timeout(25)
    page.mouse.up()
    wait_until(page, "!window.regen.latent.pending")
    assert pixels(page, "#latent-codes-canvas") != before
    assert page.evaluate("window.regen.latent.answers.length") >= 5, "frames while the slider moved"
    assert page.errors == []


def test_a_digit_is_completed_as_a_chosen_class(page):
    page.click("[data-view=inpaint]")
    pick_model(page, "tiny-acgan")
    assert page.is_visible("#class-field")
    page.select_option("select[name=class]", "2")
    page.fill("input[name=steps]", "10")
    page.evaluate("window.regen.editor.preset('bottom')")
    page.click("#complete")
    wait_until(page, "window.regen.job.kind === 'complete' && document.body.dataset.state === 'done'",
               timeout=30000)
    wait_for_results(page)
    assert page.evaluate("window.regen.result.msg.class") == 2
    assert "Completed as a 2" in page.inner_text("#result-note")
    assert page.errors == []


def test_the_auto_demo_morphs_in_the_latent_view(page):
    page.click("[data-view=latent]")
    page.select_option("#latent-model", "tiny")
    page.click("#latent-view h2")
    loads = page.evaluate("window.regen.latent.loads")
    page.keyboard.press("d")                                        # auto demo on
    wait_until(page, f"window.regen.latent.loads > {loads} && window.regen.job.kind === 'morph'"
               " && document.body.dataset.state === 'done'", timeout=30000)
    page.keyboard.press("d")                                        # and off
    assert not page.evaluate("window.regen.presenter.demo")
    assert page.errors == []
