"""The page owns its job: each bug of issue "The page owns its job", reproduced in
headless Chromium against a real server with the tiny models, asserting what a
user would see. 'tiny' is an RGB (faces-kind) model, 'tiny-gray' a digit model."""
import os

import numpy as np
import pytest
from PIL import Image

from bench.server import running_server
from tests.e2e.helpers import fill_params, pick_model, result_draws, wait_for_results, wait_until
from tests.e2e.test_browser import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, browser_or_skip

pytestmark = pytest.mark.browser

LONG = {"steps": "5000", "restarts": "2"}


@pytest.fixture(scope="module")
def browser(tiny_models):
    browser_or_skip()
    from playwright.sync_api import sync_playwright
    with running_server(tiny_models[0], mode="eventlet") as server, sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        b.url = server.url
        yield b
        b.close()


@pytest.fixture
def page(browser):
    p = browser.new_page(viewport={"width": 1400, "height": 1000})
    p.errors = []
    p.on("pageerror", lambda e: p.errors.append(str(e)))
    p.goto(browser.url)
    wait_until(p, "document.getElementById('connection').textContent === 'connected'")
    wait_until(p, "window.regen.editor.ready")
    yield p
    assert p.errors == []
    p.close()


def settle(page, ms=800):
    page.wait_for_timeout(ms)


def click_complete(page):
    """Press Complete and check that a job began (so a wait for its end cannot be
    satisfied by the last test's)."""
    ticket = page.evaluate("window.regen.job.ticket")
    page.click("#complete")
    assert page.evaluate("window.regen.job.ticket") == ticket + 1, page.inner_text("#toast")


def run_job(page, steps="20", restarts="2", preset="center", fast=True):
    """Complete with these settings and a preset hole; wait until the page shows it done."""
    fill_params(page, steps, restarts, fast)
    page.evaluate(f"window.regen.editor.preset('{preset}')")
    click_complete(page)
    wait_until(page, "document.body.dataset.state === 'done'", timeout=60000)
    wait_for_results(page)   # drawn after the done state


def start_long_job(page):
    fill_params(page, LONG["steps"], LONG["restarts"], fast=False)
    page.evaluate("window.regen.editor.preset('center')")
    click_complete(page)
    wait_until(page, "window.regen.chart.points >= 2", timeout=60000)


def shot(page, name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, f"{name}.png"), full_page=True)


def canvas_pixels(page, canvas_id):
    return np.array(page.evaluate(f"""(() => {{
        const c = document.getElementById('{canvas_id}');
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
    }})()""")).reshape(-1, 4)


# 1 -------------------------------------------------------------------------------------------
def test_changing_the_model_mid_run_stops_the_job_and_never_mixes_two(page):
    start_long_job(page)
    pick_model(page, "tiny-gray")
    assert page.evaluate("document.body.dataset.kind") == "digits"
    wait_until(page, "document.getElementById('status').textContent.startsWith('Stopped')")
    settle(page, 1500)
    assert page.inner_text("#status").startswith("Stopped"), "no late event of the face job took over"
    assert page.is_hidden("#results")
    run_job(page, "20", "2", "bottom")
    for cid in ("cmp-original", "cmp-regen", "cmp-telea"):
        rgb = canvas_pixels(page, cid)[:, :3]
        assert (rgb.max(1) - rgb.min(1)).max() <= 2, f"{cid} shows the digit (gray), not the face"
    shot(page, "e2e_model_change")


def hold(page, pattern):
    """Hold the page's requests to `pattern` unanswered; returns a function that waits
    for a held request, lets every one go on and waits for a response."""
    held = []
    page.route(pattern, lambda route: held.append(route))

    def release():
        for _ in range(50):                           # the request may still be on its way
            if held:
                break
            page.wait_for_timeout(100)
        assert held, "the page asked"
        with page.expect_response(pattern):       # the Lab's picker, loading after the page, may ask too
            for route in held:
                route.continue_()
    return release


def test_a_model_pick_overtaken_by_another_is_dropped_and_complete_waits_for_the_image(page):
    release = hold(page, "**/api/models/tiny-gray/samples")
    page.select_option("#model-picker", "tiny-gray")
    page.evaluate("window.regen.editor.preset('center')")
    ticket = page.evaluate("window.regen.job.ticket")
    page.click("#complete")
    assert page.evaluate("window.regen.job.ticket") == ticket, "no job for an image that is not on screen yet"
    assert "still loading" in page.inner_text("#toast")
    assert page.evaluate("window.regen.source.model.name") == "tiny", "the shown image's model until the new one is in"

    pick_model(page, "tiny")                      # changed her mind before the digits came
    release()                                     # ... and then they come
    settle(page, 300)
    assert page.input_value("#model-picker") == "tiny"
    assert page.evaluate("[window.regen.source.model.name, document.body.dataset.kind]") == ["tiny", "faces"]
    assert all("/tiny/" in src for src in page.eval_on_selector_all("#gallery img", "els => els.map(e => e.src)"))
    run_job(page, "10", "2", "center")
    assert page.evaluate("window.regen.result.subject.model.name") == "tiny"


def test_a_sample_clicked_while_a_model_loads_keeps_the_model_and_the_picker_says_so(page):
    release = hold(page, "**/api/models/tiny-gray/samples")
    page.select_option("#model-picker", "tiny-gray")
    page.keyboard.press("ArrowRight")                   # the arrows wait for the model being loaded
    page.click("#gallery img >> nth=2")                 # a click is a new pick: it wins
    wait_until(page, "!window.regen.source.loading")
    assert page.input_value("#model-picker") == "tiny", "the picker shows the model in use"
    assert page.evaluate("[window.regen.source.index, window.regen.source.model.name]") == [2, "tiny"]
    release()
    settle(page, 300)
    assert page.input_value("#model-picker") == "tiny" and page.evaluate("document.body.dataset.kind") == "faces"


# 2 -------------------------------------------------------------------------------------------
def test_stop_leaves_a_stopped_status(page):
    start_long_job(page)
    page.click("#stop")
    settle(page, 1500)
    assert page.inner_text("#status") == "Stopped: cancelled by the user."
    assert page.evaluate("document.getElementById('progress').value") == 0
    assert page.evaluate("document.body.dataset.state") == "cancelled"


# 3 -------------------------------------------------------------------------------------------
def test_a_fast_double_enter_runs_one_job_to_the_end(page):
    pick_model(page, "tiny-gray")
    fill_params(page, "200", "2", fast=False)
    page.evaluate("window.regen.editor.preset('bottom')")
    ticket = page.evaluate("window.regen.job.ticket")
    page.focus("#mask-canvas")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    assert page.evaluate("window.regen.job.ticket") == ticket + 1   # one job began, not the last test's end
    wait_until(page, "['done', 'error', 'cancelled'].includes(document.body.dataset.state)", timeout=60000)
    assert page.evaluate("document.body.dataset.state") == "done"
    assert page.inner_text("#status").startswith("Done")
    assert "already running" in page.inner_text("#toast")


# 4 -------------------------------------------------------------------------------------------
def test_the_queue_position_counts_the_running_job(page, browser):
    start_long_job(page)
    other = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        other.goto(browser.url)
        wait_until(other, "document.getElementById('connection').textContent === 'connected'")
        wait_until(other, "window.regen.editor.ready")
        other.evaluate("window.regen.editor.preset('center')")
        other.click("#complete")
        wait_until(other, "document.getElementById('status').textContent.startsWith('Queued')")
        assert other.inner_text("#status") == "Queued: 1 job(s) ahead of yours."
        page.click("#stop")
        wait_until(other, "document.body.dataset.state === 'done'", timeout=60000)
    finally:
        other.close()


# 5 -------------------------------------------------------------------------------------------
def test_a_dark_digit_on_paper_is_pasted_back_dark_on_paper(page, tmp_path):
    photo = np.full((120, 120, 3), 235, np.uint8)
    photo[30:90, 52:68] = 20                       # a dark "1" on white paper
    path = tmp_path / "digit.png"
    Image.fromarray(photo).save(path)
    pick_model(page, "tiny-gray")
    assert page.evaluate("document.body.dataset.kind") == "digits"
    page.set_input_files("#file-input", str(path))
    wait_until(page, "document.getElementById('upload-note').textContent.includes('inverted')")
    run_job(page, "20", "2", "right")
    pasted = canvas_pixels(page, "cmp-pasted")[:, :3].reshape(120, 120, 3).astype(float).mean(2)
    regen = canvas_pixels(page, "cmp-regen")[:, :3].reshape(192, 192, 3).astype(float).mean(2)
    x, y, side, _ = page.evaluate("window.regen.source.current.box")
    # the filled (right) half of the crop, away from its edges, in the photo and in the model's own view
    region = pasted[max(0, y) + side // 4:y + 3 * side // 4, x + side * 5 // 8:x + side * 7 // 8]
    model_view = regen[48:144, 120:168]
    assert abs(model_view.mean() - 127.5) > 40, "the tiny model's fill is far from mid-grey, so polarity shows"
    assert abs(region.mean() - (255 - model_view.mean())) < 40, \
        f"pasted {region.mean():.0f}, model's fill {model_view.mean():.0f}: not re-inverted to the photo's polarity"
    shot(page, "e2e_digit_pasteback")


# 6 -------------------------------------------------------------------------------------------
def test_escape_closes_the_help_and_keys_do_nothing_behind_it(page):
    page.evaluate("window.regen.editor.clear()")
    page.keyboard.press("?")
    assert page.evaluate("document.getElementById('help').open")
    page.keyboard.press("1")
    assert page.evaluate("window.regen.editor.holeCount") == 0, "no preset applied behind the dialog"
    page.keyboard.press("Escape")
    assert not page.evaluate("document.getElementById('help').open")
    page.keyboard.press("1")
    assert page.evaluate("window.regen.editor.holeCount") > 0


# 7 -------------------------------------------------------------------------------------------
def test_shortcuts_work_after_the_slider_and_enter_in_a_field_completes(page):
    page.click("#brush-size")
    page.keyboard.press("e")
    assert page.evaluate("window.regen.editor.tool") == "eraser"
    fill_params(page, "20", "2")
    page.evaluate("window.regen.editor.preset('center')")
    page.focus("input[name=steps]")
    page.keyboard.press("Enter")
    wait_until(page, "document.body.dataset.state === 'done'", timeout=60000)


# 8 -------------------------------------------------------------------------------------------
def test_the_chart_terms_add_up_to_the_total(page):
    fill_params(page, "60", "4")
    page.fill("input[name=lambda]", "0.5")
    page.evaluate("window.regen.editor.preset('center')")
    page.click("#complete")
    wait_until(page, "document.body.dataset.state === 'done'", timeout=60000)
    series = page.evaluate("window.regen.chart.series")
    total = np.array([p["y"] for p in series["total"]])
    parts = sum(np.array([p["y"] for p in series[k]]) for k in ("contextual", "λ·perceptual", "anchor (encoder prior)"))
    np.testing.assert_allclose(parts, total, rtol=1e-4, atol=1e-4)
    low = page.evaluate("window.regen.chart.chart.scales.y.min")
    assert low >= min(0.0, total.min(), parts.min()) - 1e-9


# 9 -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [1000, 900])
def test_the_header_fits_and_the_editor_is_above_the_fold(browser, width):
    p = browser.new_page(viewport={"width": width, "height": 800})
    try:
        p.goto(browser.url)
        wait_until(p, "window.regen.editor.ready")
        help_box = p.locator("#help-toggle").bounding_box()
        assert help_box["x"] + help_box["width"] <= width, "the ? button is not cut off"
        assert p.evaluate("document.documentElement.scrollWidth") <= width, "no sideways scrolling"
        canvas = p.locator("#mask-canvas").bounding_box()
        assert canvas["y"] < 800 * 0.6, "the editor starts in the upper part of the first screen"
        shot(p, f"e2e_width_{width}")
    finally:
        p.close()


# 10 ------------------------------------------------------------------------------------------
def test_eyes_and_mouth_keys_do_nothing_on_a_digit_model(page):
    pick_model(page, "tiny-gray")
    assert page.evaluate("document.body.dataset.kind") == "digits"
    page.evaluate("window.regen.editor.clear()")
    for key in ("7", "8"):
        page.keyboard.press(key)
        assert page.evaluate("window.regen.editor.holeCount") == 0, key
    page.keyboard.press("5")
    assert page.evaluate("window.regen.editor.holeCount") > 0, "the visible presets still work"


# editor features ----------------------------------------------------------------------------
def test_zoom_pan_and_fit_keep_painting_exact(page):
    page.evaluate("window.regen.editor.clear()")
    canvas = page.locator("#mask-canvas")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -600)
    assert page.evaluate("window.regen.viewport.zoom") > 1.5
    page.keyboard.down(" ")
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2 + 40)
    page.mouse.up()
    page.keyboard.up(" ")
    assert page.evaluate("window.regen.editor.holeCount") == 0, "Space + drag pans, it does not paint"
    # a click now paints the image pixel under the pointer, whatever the zoom
    zoomed = canvas.bounding_box()
    size = page.evaluate("window.regen.editor.size")
    px, py = zoomed["x"] + zoomed["width"] * 0.6, zoomed["y"] + zoomed["height"] * 0.6
    if not (box["x"] < px < box["x"] + box["width"] and box["y"] < py < box["y"] + box["height"]):
        px, py = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.evaluate("window.regen.editor.setBrush(1)")
    page.mouse.click(px, py)
    expected = (int((py - zoomed["y"]) / zoomed["height"] * size), int((px - zoomed["x"]) / zoomed["width"] * size))
    hole = page.evaluate("Array.from(window.regen.editor.hole)")
    painted = [divmod(i, size) for i, v in enumerate(hole) if v]
    assert expected in painted
    page.keyboard.press("0")
    assert page.evaluate("window.regen.viewport.zoom") == 1


def test_before_after_slider_and_holding_o(page):
    run_job(page, "20", "2", "center")
    page.fill("#ba-slider", "20")
    page.dispatch_event("#ba-slider", "input")
    assert "20%" in page.evaluate("document.getElementById('ba-after').style.clipPath")
    page.keyboard.down("o")
    assert page.evaluate("getComputedStyle(document.getElementById('ba-after')).visibility") == "hidden"
    page.keyboard.up("o")
    assert page.evaluate("getComputedStyle(document.getElementById('ba-after')).visibility") == "visible"


def test_grain_matching_adds_the_photos_detail_to_the_pasted_fill(page, tmp_path):
    rng = np.random.default_rng(0)
    photo = np.clip(128 + rng.normal(0, 30, (160, 160, 3)), 0, 255).astype(np.uint8)   # a grainy photo
    path = tmp_path / "grainy.png"
    Image.fromarray(photo).save(path)
    page.set_input_files("#file-input", str(path))
    wait_until(page, "document.getElementById('upload-note').textContent.length > 0")
    run_job(page, "20", "2", "center")

    def hole_roughness():
        px = canvas_pixels(page, "cmp-pasted")[:, :3].reshape(160, 160, 3).astype(float).mean(2)
        box = page.evaluate("window.regen.result.subject.source.box")
        x, y, side = box[0], box[1], box[2]
        c = px[max(0, y) + side * 3 // 8:max(0, y) + side * 5 // 8, max(0, x) + side * 3 // 8:max(0, x) + side * 5 // 8]
        return np.abs(np.diff(c, axis=1)).mean()

    with_grain = hole_roughness()
    drawn = result_draws(page)
    page.click("#grain")
    wait_for_results(page, after=drawn)
    without = hole_roughness()
    assert with_grain > 2 * without, (with_grain, without)


def test_a_distinct_alternative_can_be_adopted(page):
    fill_params(page, "2", "16", fast=False)   # the tiny G's candidates stay apart for a few steps only
    page.evaluate("window.regen.editor.preset('center')")
    page.click("#complete")
    wait_until(page, "document.body.dataset.state === 'done'", timeout=60000)
    # the thumbnails are drawn just after the done state: wait for them
    wait_until(page, "document.querySelectorAll('#alternatives canvas').length >= 2", timeout=10000)
    drawn = result_draws(page)
    page.click("#alternatives canvas >> nth=1")
    wait_for_results(page, after=drawn)
    assert page.evaluate("document.querySelector('#alternatives canvas.active').dataset.alternative") == "1"
    assert page.evaluate("""(() => { const r = window.regen.result;
        const a = new Uint8Array(r.msg.image), b = new Uint8Array(r.best.alternatives[0].image);
        return a.length === b.length && a.every((v, i) => v === b[i]); })()"""), "the result is the adopted one"


def test_presenter_mode_shows_the_result_strip_without_scrolling(page):
    fill_params(page, "20", "2")
    page.evaluate("window.regen.editor.preset('center')")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("p")
    assert page.evaluate("document.body.classList.contains('presenter')")
    page.click("#complete")
    wait_until(page, "document.body.dataset.state === 'done'", timeout=60000)
    wait_for_results(page)
    shot(page, "e2e_presenter_done")
    strip = page.locator("#results .compare").bounding_box()
    assert strip["y"] + strip["height"] <= 1000, "the comparison strip is on the first screen"
    page.keyboard.press("p")


def test_the_crop_square_can_be_moved_and_is_used(page, tmp_path):
    photo = np.zeros((200, 300, 3), np.uint8)
    photo[20:100, 180:260] = (250, 250, 250)        # something bright where the user wants the crop
    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    page.set_input_files("#file-input", str(path))
    wait_until(page, "!document.getElementById('crop-editor').hidden")
    before = page.evaluate("window.regen.source.current.box")
    canvas = page.locator("#crop-canvas").bounding_box()
    scale = canvas["width"] / 300
    x, y, side = before[0], before[1], before[2]
    # drag the square by its middle so its top-left lands at (180, 20) in the photo
    start = (canvas["x"] + (x + side / 2) * scale, canvas["y"] + (y + side / 2) * scale)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + (180 - x) * scale, start[1] + (20 - y) * scale, steps=5)
    page.mouse.up()
    shown = canvas_pixels(page, "mask-canvas")[:, :3]
    page.click("#crop-apply")
    wait_until(page, "document.getElementById('upload-note').textContent.startsWith('Cropped where')")
    box = page.evaluate("window.regen.source.current.box")
    assert abs(box[0] - 180) <= 3 and abs(box[1] - 20) <= 3
    image = canvas_pixels(page, "mask-canvas")[:, :3]
    assert image.mean() > shown.mean() + 20, "the editor now shows the square the user chose, with the bright patch"


def test_the_brush_footprint_follows_the_pointer(page):
    page.evaluate("window.regen.editor.clear(); window.regen.editor.setBrush(8)")
    box = page.locator("#mask-canvas").bounding_box()
    before = canvas_pixels(page, "mask-canvas")
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    ring = canvas_pixels(page, "mask-canvas")
    changed = np.abs(ring.astype(int) - before.astype(int)).sum(1) > 0
    assert changed.any() and page.evaluate("window.regen.editor.holeCount") == 0, "a ring, not paint"
    side = int(np.sqrt(len(changed)))
    ys, xs = np.nonzero(changed.reshape(side, side))
    diameter = xs.max() - xs.min()
    expected = 8 * side / page.evaluate("window.regen.editor.size")
    assert 0.7 * expected <= diameter <= 1.3 * expected + 4, (diameter, expected)


def test_undo_and_redo_step_through_strokes_and_presets(page):
    page.evaluate("window.regen.editor.clear()")
    holes = lambda: page.evaluate("window.regen.editor.holeCount")   # noqa: E731
    box = page.locator("#mask-canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.2)
    page.mouse.up()
    stroke = holes()
    page.evaluate("window.regen.editor.preset('bottom')")
    both = holes()
    assert 0 < stroke < both
    page.keyboard.press("Control+z")
    assert holes() == stroke, "undo takes the preset back"
    page.click("#undo")
    assert holes() == 0, "and then the stroke"
    page.keyboard.press("Control+Shift+z")
    assert holes() == stroke, "redo brings the stroke back"
    page.click("#redo")
    assert holes() == both
    page.click("#undo")
    page.evaluate("window.regen.editor.preset('center')")
    centre = holes()
    page.click("#redo")
    assert holes() == centre != both, "a new edit clears what could be redone"
