"""The page's protocol.js and presets.js must say exactly what the server says."""
import json
import os
import re

from app.engine import masks
from app.web import protocol

STATIC = os.path.join(os.path.dirname(__file__), "..", "..", "static", "js")


def js_const(filename, name):
    """Parse `export const NAME = {...}` or `[...]` from a JS module as JSON."""
    with open(os.path.join(STATIC, filename)) as f:
        text = f.read()
    m = re.search(rf"export const {name} = (\{{.*?\}}|\[.*?\]);", text, re.S)
    assert m, f"{name} not found in {filename}"
    body = re.sub(r"(\w+):", r'"\1":', m.group(1))           # quote keys
    body = re.sub(r",\s*([}\]])", r"\1", body)                 # drop trailing commas
    return json.loads(body)


def test_event_names_agree():
    assert js_const("protocol.js", "EVENTS") == protocol.EVENTS


def test_error_codes_agree():
    assert js_const("protocol.js", "ERROR_CODES") == protocol.ERROR_CODES


def test_payload_keys_agree():
    for name in ("COMPLETE_KEYS", "PARAM_KEYS", "CANCEL_KEYS", "LOSS_KEYS", "SOURCE_KEYS", "DREAM_KEYS",
                 "DREAM_PARAM_KEYS", "DREAM_LOSS_KEYS", "STYLE_KEYS", "STYLE_PARAM_KEYS", "STYLE_LOSS_KEYS",
                 "MORPH_KEYS", "PROJECT_KEYS", "SAMPLES_KEYS", "GENERATE_KEYS", "ARITHMETIC_KEYS"):
        assert js_const("protocol.js", name) == list(getattr(protocol, name)), name


def test_mask_presets_agree():
    boxes = js_const("presets.js", "PRESET_BOXES")
    assert {k: tuple(v) for k, v in boxes.items()} == masks.PRESET_BOXES
    assert js_const("presets.js", "RANDOM_PRESETS") == masks.RANDOM_PRESETS


def test_event_names_are_not_typed_out_elsewhere_in_the_page():
    for filename in os.listdir(STATIC):
        if filename == "protocol.js":
            continue
        with open(os.path.join(STATIC, filename)) as f:
            text = f.read()
        for event in ("complete", "progress", "queued", "done"):
            assert f'on("{event}"' not in text and f'emit("{event}"' not in text, (filename, event)


def test_limits_agree_in_the_server_the_page_and_its_fields(client):
    as_json = {k: list(v) if isinstance(v, tuple) else v for k, v in protocol.LIMITS.items()}
    assert js_const("protocol.js", "LIMITS") == as_json
    page = client.get("/").get_data(as_text=True)
    for key in ("steps", "restarts", "lambda", "lr", "seed"):
        field = re.search(rf'<input name="{key}"[^>]*>', page).group(0)
        low, high = protocol.LIMITS[key]
        assert float(re.search(r'min="([^"]+)"', field).group(1)) == low, key
        assert float(re.search(r'max="([^"]+)"', field).group(1)) == high, key
