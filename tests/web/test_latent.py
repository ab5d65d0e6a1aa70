"""The latent lab's socket events: instant samples, generate and arithmetic (strict,
answered in the acknowledgement) and the morph and project jobs; and class-conditional
completion through `complete`'s params."""
import io

import numpy as np
import pytest
from PIL import Image

from app.engine import imageio
from app.web import socketio
from app.web.protocol import ERROR_CODES, EVENTS
from tests.web.helpers import hole_png, wait_for


@pytest.fixture
def cond(make_app, tiny_conditional_models):
    app = make_app(MODELS_DIR=tiny_conditional_models)
    sio = socketio.test_client(app, flask_test_client=app.test_client())
    yield sio
    sio.disconnect()


def ask(sio, event, payload):
    answer = sio.emit(EVENTS[event], payload, callback=True)
    if event == "SAMPLES" and "samples" in answer:     # unpack the PNGs sent end to end
        offsets = np.cumsum([0] + answer["sizes"])
        for s, a, b in zip(answer["samples"], offsets[:-1], offsets[1:]):
            s["image"] = answer["images"][a:b]
    return answer


def test_samples_are_seeded_and_carry_their_z(sio):
    a = ask(sio, "SAMPLES", {"model": "tiny", "seed": 3, "count": 5})["samples"]
    b = ask(sio, "SAMPLES", {"model": "tiny", "seed": 3, "count": 5})["samples"]
    c = ask(sio, "SAMPLES", {"model": "tiny", "seed": 4, "count": 5})["samples"]
    assert len(a) == 5 and [s["z"] for s in a] == [s["z"] for s in b] != [s["z"] for s in c]
    assert all(len(s["z"]) == 8 and max(map(abs, s["z"])) <= 1 for s in a)
    assert imageio.decode(a[0]["image"], 3).shape == (16, 16, 3)
    again = ask(sio, "GENERATE", {"model": "tiny", "z": a[2]["z"]})
    assert again["image"] == a[2]["image"], "z travels with the selection: the same z, the same picture"


def test_a_morph_streams_its_frames_and_ends_with_a_gif(sio):
    s = ask(sio, "SAMPLES", {"model": "tiny", "seed": 0, "count": 2})["samples"]
    ack = ask(sio, "MORPH", {"model": "tiny", "a": {"z": s[0]["z"]}, "b": {"z": s[1]["z"]}, "frames": 6})
    events = wait_for(sio, [EVENTS["DONE"], EVENTS["ERROR"]])
    frames = [p for n, p in events if n == EVENTS["PROGRESS"]]
    assert [f["step"] for f in frames] == [1, 2, 3, 4, 5, 6] and all(f["job"] == ack["job"] for f in frames)
    assert frames[0]["image"] == s[0]["image"] and frames[-1]["image"] == s[1]["image"], "the ends are the picks"
    done = events[-1][1]
    with Image.open(io.BytesIO(done["gif"])) as gif:
        assert gif.n_frames == 6 + 4, "forth and back, as a loop"
        assert gif.info.get("loop") == 0


def test_arithmetic_answers_the_result_its_variations_and_the_nearest(sio):
    s = ask(sio, "SAMPLES", {"model": "tiny", "seed": 0, "count": 6})["samples"]
    answer = ask(sio, "ARITHMETIC", {"model": "tiny", "a": [s[0]["z"]], "b": [s[1]["z"]], "c": [s[1]["z"]],
                                     "variations": 3, "pool": {"seed": 0, "count": 6}})
    assert len(answer["variations"]) == 3 and answer["nearest"][0] == 0, "A - B + B is A, nearest A itself"
    assert answer["image"] == s[0]["image"]


def test_projection_finds_a_z_whose_picture_is_close(sio):
    target = ask(sio, "SAMPLES", {"model": "tiny", "seed": 9, "count": 1})["samples"][0]
    ask(sio, "PROJECT", {"model": "tiny", "image": target["image"]})
    events = wait_for(sio, [EVENTS["DONE"], EVENTS["ERROR"]])
    done = events[-1][1]
    assert events[-1][0] == EVENTS["DONE"] and len(done["z"]) == 8
    got = imageio.decode(done["image"], 3).astype(float)
    want = imageio.decode(target["image"], 3).astype(float)
    start = imageio.decode(ask(sio, "SAMPLES", {"model": "tiny", "seed": 0, "count": 1})["samples"][0]["image"], 3)
    assert np.abs(got - want).mean() < np.abs(start.astype(float) - want).mean()


@pytest.mark.parametrize("event, payload, message", [
    ("SAMPLES", {"model": "tiny", "seed": -1}, "seed must be an integer"),
    ("SAMPLES", {"model": "tiny", "count": 65}, "count must be from 1 to 64"),
    ("SAMPLES", {"model": "tiny", "colour": 1}, "unknown key 'colour' in samples"),
    ("SAMPLES", {"model": "tiny", "class": 1}, "model tiny has no classes"),
    ("GENERATE", {"model": "tiny", "z": [0.0] * 7}, "z must be a list of 8 numbers from -1 to 1"),
    ("GENERATE", {"model": "tiny", "z": [2.0] * 8}, "z must be a list of 8 numbers from -1 to 1"),
    ("GENERATE", {"model": "tiny", "z": [0.0] * 8, "codes": [0.1]}, "model tiny has no continuous codes"),
    ("ARITHMETIC", {"model": "tiny", "a": [], "b": [[0.0] * 8], "c": [[0.0] * 8]}, "a must be a list of 1 to 16"),
    ("ARITHMETIC", {"model": "tiny", "a": [[0.0] * 8], "b": [[0.0] * 8], "c": [[0.0] * 8], "pool": {"n": 1}},
     "unknown key 'n' in pool"),
    ("MORPH", {"model": "tiny", "a": {"z": [0.0] * 8}, "b": {"z": [0.0] * 8}, "frames": 1}, "frames must be from 2"),
    ("MORPH", {"model": "tiny", "a": {"z": [0.0] * 8, "w": 1}, "b": {"z": [0.0] * 8}}, "unknown key 'w' in a"),
    ("MORPH", {"model": "nope", "a": {"z": [0.0] * 8}, "b": {"z": [0.0] * 8}}, "unknown model 'nope'"),
    ("PROJECT", {"model": "tiny", "image": b"no"}, "image: "),
    ("PROJECT", {"model": "tiny", "image": b"no", "x": 1}, "unknown key 'x' in project"),
    ("MORPH", {"model": "tiny", "a": {"z": [0.0] * 8}, "b": {"z": [0.0] * 8}, "frames": 121}, "frames must be from 2 to 120"),
    ("MORPH", {"model": "tiny", "a": {"z": [0.0] * 8}, "b": {"z": [0.0] * 8}, "x": 1}, "unknown key 'x' in morph"),
    ("GENERATE", {"model": "tiny", "z": [0.0] * 8, "x": 1}, "unknown key 'x' in generate"),
    ("GENERATE", {"model": "tiny", "z": [10 ** 12] + [0.0] * 7}, "z must be a list of 8 numbers"),
    ("GENERATE", {"model": "tiny", "z": [True] + [0.0] * 7}, "z must be a list of 8 numbers"),
    ("ARITHMETIC", {"model": "tiny", "a": [[0.0] * 8] * 17, "b": [[0.0] * 8], "c": [[0.0] * 8]},
     "a must be a list of 1 to 16"),
    ("ARITHMETIC", {"model": "tiny", "a": [[0.0] * 8], "b": [[0.0] * 8], "c": [[0.0] * 8], "variations": 9},
     "variations must be from 0 to 8"),
    ("ARITHMETIC", {"model": "tiny", "a": [[0.0] * 8], "b": [[0.0] * 8], "c": [[0.0] * 8], "x": 1},
     "unknown key 'x' in arithmetic"),
])
def test_payloads_are_checked_strictly(sio, event, payload, message):
    answer = ask(sio, event, payload)
    assert answer["error"]["code"] in (ERROR_CODES["BAD_REQUEST"], ERROR_CODES["BAD_IMAGE"],
                                       ERROR_CODES["UNKNOWN_MODEL"])
    assert message in answer["error"]["message"], answer["error"]["message"]


def test_instant_requests_have_their_own_rate_counted_in_images(make_app):
    app = make_app(INSTANT_RATE=(10, 60.0))
    sio = socketio.test_client(app, flask_test_client=app.test_client())
    answers = [sio.emit(EVENTS["SAMPLES"], {"model": "tiny", "count": 4}, callback=True) for _ in range(3)]
    assert "samples" in answers[0] and "samples" in answers[1]
    assert answers[2]["error"]["code"] == ERROR_CODES["RATE_LIMITED"], "8 images drawn, 4 more do not fit in 10"
    assert "samples" in sio.emit(EVENTS["SAMPLES"], {"model": "tiny", "count": 2}, callback=True)
    sio.disconnect()


def test_codes_change_the_picture_and_classes_are_set(cond):
    z = ask(cond, "SAMPLES", {"model": "tiny-info", "seed": 0, "count": 1, "class": 2})["samples"][0]["z"]
    assert z[8:11] == [0.0, 0.0, 1.0], "the class code sits after the noise"
    a = ask(cond, "GENERATE", {"model": "tiny-info", "z": z, "codes": [-1.0, 0.0]})
    b = ask(cond, "GENERATE", {"model": "tiny-info", "z": z, "codes": [1.0, 0.0]})
    assert a["z"][11:] == [-1.0, 0.0] and b["z"][11:] == [1.0, 0.0] and a["image"] != b["image"]
    c = ask(cond, "GENERATE", {"model": "tiny-info", "z": z, "class": 0})
    assert c["z"][8:11] == [1.0, 0.0, 0.0]
    assert "from 0 to 2" in ask(cond, "GENERATE", {"model": "tiny-info", "z": z, "class": 3})["error"]["message"]
    assert "from 0 to 2" in ask(cond, "SAMPLES", {"model": "tiny-info", "class": 7})["error"]["message"]
    bad_codes = ask(cond, "GENERATE", {"model": "tiny-info", "z": z, "codes": [1.5, 0.0]})
    assert "codes must be a list of 2 numbers from -1 to 1" in bad_codes["error"]["message"]


def test_a_conditional_completion_is_done_as_the_requested_class(cond):
    payload = {"model": "tiny-acgan", "sample": "000", "mask": hole_png(), "params": {
        "steps": 5, "restarts": 4, "seed": 0, "class": 1}}
    cond.emit(EVENTS["COMPLETE"], payload)
    done = wait_for(cond, [EVENTS["DONE"], EVENTS["ERROR"]])[-1][1]
    assert done["class"] == 1 and done["z"][8:11] == [0.0, 1.0, 0.0]
    del payload["params"]["class"]       # any: every class is searched, and the winner said
    cond.emit(EVENTS["COMPLETE"], payload)
    done = wait_for(cond, [EVENTS["DONE"], EVENTS["ERROR"]])[-1][1]
    assert done["class"] in (0, 1, 2)
    payload["params"]["class"] = 5
    assert "class must be from 0 to 2" in cond.emit(EVENTS["COMPLETE"], payload, callback=True)["error"]["message"]


def test_a_huge_integer_in_z_is_a_bad_request_not_a_fault(app):
    """JSON can carry a 400-digit integer; float() of it overflows."""
    from app.web.latent_requests import parse_z
    from app.web.validation import RequestError
    model = app.extensions["regen"]["registry"].entries["tiny"].model
    with pytest.raises(RequestError, match="z must be a list of 8 numbers"):
        parse_z([10 ** 400] + [0.0] * 7, model, "z")
