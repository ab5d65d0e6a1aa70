"""The Lab's socket events, dream and style: strict payloads, and jobs that run through
the same machinery as completions (queued, progress, done, cancel, one job per client)."""
import io
import time

import numpy as np
import pytest
from PIL import Image

from app.engine import imageio
from app.web.protocol import DREAM_LOSS_KEYS, ERROR_CODES, EVENTS, LIMITS, STYLE_LOSS_KEYS
from tests.web.helpers import complete_payload, terminal, wait_for

SAMPLE = {"model": "tiny", "sample": "000"}


def dream_payload(**overrides):
    return {"features": "random", "layer": "r2", "source": SAMPLE,
            "params": {"steps": 6, "octaves": 1, "seed": 0}, **overrides}


def style_payload(**overrides):
    return {"features": "d:tiny", "content": SAMPLE, "style": {"model": "tiny-gray", "sample": "001"},
            "params": {"steps": 5, "size": 64}, **overrides}


def ask(sio, event, payload):
    return sio.emit(event, payload, callback=True)


def test_a_dream_streams_frames_then_done(sio):
    ack = ask(sio, EVENTS["DREAM"], dream_payload())
    assert ack["position"] == 0 and "error" not in ack
    events = wait_for(sio, [EVENTS["DONE"], EVENTS["ERROR"]])
    progress = [p for n, p in events if n == EVENTS["PROGRESS"]]
    done = events[-1][1]
    assert events[-1][0] == EVENTS["DONE"] and done["job"] == ack["job"]
    assert all(p["job"] == ack["job"] and p["steps"] == 6 for p in progress)
    assert [p["step"] for p in progress] == list(range(7)), "every step's frame, from the picture itself"
    assert set(progress[-1]["losses"]) == set(DREAM_LOSS_KEYS)
    assert done["steps"] == 6 and set(done) == {"job", "image", "losses", "steps", "seconds"}
    out = imageio.decode(done["image"], 3)
    sample = np.asarray(Image.open(sio.flask_test_client.application.extensions["regen"]["registry"]
                                   .entries["tiny"].samples["000"]))
    assert out.shape == (16, 16, 3) and np.abs(out.astype(int) - sample.astype(int)).mean() > 0.5


def test_a_style_transfer_streams_frames_then_done(sio):
    ack = ask(sio, EVENTS["STYLE"], style_payload())
    events = wait_for(sio, [EVENTS["DONE"], EVENTS["ERROR"]])
    assert events[-1][0] == EVENTS["DONE"], events[-1]
    progress = [p for n, p in events if n == EVENTS["PROGRESS"]]
    assert set(progress[-1]["losses"]) == set(STYLE_LOSS_KEYS) and progress[0]["step"] == 0
    with Image.open(io.BytesIO(events[-1][1]["image"])) as img:
        assert img.size == (64, 64), "size sets the result's longest side"
    assert events[-1][1]["job"] == ack["job"]


def test_an_uploaded_picture_of_another_size(sio):
    photo = imageio.encode_png(np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8))
    ask(sio, EVENTS["DREAM"], dream_payload(source={"image": photo}))
    done = wait_for(sio, [EVENTS["DONE"], EVENTS["ERROR"]])[-1]
    assert done[0] == EVENTS["DONE"]
    assert imageio.decode(done[1]["image"], 3).shape == (40, 60, 3)


@pytest.mark.parametrize("event, payload, message", [
    ("DREAM", dream_payload(colour=1), "unknown key 'colour' in dream"),
    ("DREAM", dream_payload(features="vgg19"), "features must be one of random, d:tiny, d:tiny-gray"),
    ("DREAM", dream_payload(layer="conv9"), "layer must be one of r1, r2, r3, r4"),
    ("DREAM", dream_payload(params={"steps": 0}), "steps must be from 1 to 100"),
    ("DREAM", dream_payload(params={"octave_scale": 5}), "octave_scale must be >= 1.1 and <= 2"),
    ("DREAM", dream_payload(params={"channels": [64]}), "channel numbers from 0 to 63"),
    ("DREAM", dream_payload(params={"channels": "all"}), "channels must be a list"),
    ("DREAM", dream_payload(params={"jitter": 3}), "unknown key 'jitter' in params"),
    ("DREAM", dream_payload(source={"model": "tiny"}), "exactly one of sample"),
    ("DREAM", dream_payload(source={"model": "tiny", "sample": "999"}), "model tiny has no sample '999'"),
    ("DREAM", dream_payload(source={"image": b"not a png"}), "source image"),
    ("STYLE", style_payload(params={"size": 9999}), "size must be from 64 to 256"),
    ("DREAM", dream_payload(layer=["r1"]), "layer must be one of r1"),
    ("DREAM", dream_payload(source={"image": imageio.encode_png(np.zeros((12, 30, 3), np.uint8))}),
     "needs at least 16 px a side"),
    ("DREAM", dream_payload(source={"image": imageio.encode_png(np.zeros((20, 100, 3), np.uint8))}),
     "at most 4:1"),
    ("STYLE", style_payload(params={"style_weight": -1}), "style_weight must be >= 0"),
    ("STYLE", style_payload(content=None), "content must be an object"),
    ("STYLE", style_payload(extra=True), "unknown key 'extra' in style"),
])
def test_payloads_are_checked_strictly(sio, event, payload, message):
    ack = ask(sio, EVENTS[event], payload)
    assert ack["error"]["code"] in (ERROR_CODES["BAD_REQUEST"], ERROR_CODES["BAD_IMAGE"],
                                    ERROR_CODES["UNKNOWN_SAMPLE"])
    assert message in ack["error"]["message"], ack["error"]["message"]
    errors = [p for n, p in wait_for(sio, EVENTS["ERROR"]) if n == EVENTS["ERROR"]]
    assert errors[-1]["job"] == ack["job"], "the refusal also arrives as an error event with the job id"


def test_an_upload_larger_than_the_lab_takes_is_refused(sio):
    side = LIMITS["lab_side"] + 1
    big = imageio.encode_png(np.zeros((side, side // 2, 3), np.uint8))
    ack = ask(sio, EVENTS["DREAM"], dream_payload(source={"image": big}))
    assert ack["error"]["code"] == ERROR_CODES["BAD_IMAGE"] and f"at most {LIMITS['lab_side']} px" in ack["error"]["message"]


def events_until(sio, done, timeout=60.0):
    """Every event received until done(events) holds."""
    got, deadline = [], time.monotonic() + timeout
    while not done(got):
        assert time.monotonic() < deadline, f"timed out; got {[n for n, _ in got]}"
        got += [(m["name"], m["args"][0] if m["args"] else None) for m in sio.get_received()]
        time.sleep(0.02)
    return got


def ended(events, job):
    return [p for n, p in terminal(events) if p.get("job") == job]


def test_one_job_per_client_whatever_its_kind(sio):
    """A dream replaces the client's running completion; cancel stops the dream."""
    first = ask(sio, EVENTS["COMPLETE"], complete_payload(params={"steps": 5000, "restarts": 2, "fast": False}))
    wait_for(sio, EVENTS["PROGRESS"])
    second = ask(sio, EVENTS["DREAM"], dream_payload(source={"image": imageio.encode_png(
        np.zeros((256, 256, 3), np.uint8))}, params={"steps": 100, "octaves": 6}))
    assert "error" not in second, second
    events = events_until(sio, lambda got: ended(got, first["job"]) and any(
        n == EVENTS["PROGRESS"] and p["job"] == second["job"] for n, p in got))
    assert ended(events, first["job"])[0]["code"] == ERROR_CODES["CANCELLED"]
    sio.emit(EVENTS["CANCEL"], {"job": second["job"]})
    last = ended(events_until(sio, lambda got: ended(got, second["job"])), second["job"])
    assert last == [{"job": second["job"], "code": ERROR_CODES["CANCELLED"], "message": "cancelled by the user"}]


def test_a_lab_job_past_the_cost_ceiling_is_refused(make_app):
    """Costs come from the timed networks: under one ceiling a short job is admitted and a long one is not."""
    from app.web import socketio
    app = make_app(MAX_JOB_SECONDS=5.0)
    sio = socketio.test_client(app, flask_test_client=app.test_client())
    small = sio.emit(EVENTS["STYLE"], style_payload(params={"steps": 5, "size": 64}), callback=True)
    assert "error" not in small, small
    wait_for(sio, [EVENTS["DONE"], EVENTS["ERROR"]])
    for params in ({"steps": 1000, "size": 64}, {"steps": 60, "size": 256}):
        ack = sio.emit(EVENTS["STYLE"], style_payload(params=params), callback=True)
        assert ack["error"]["code"] == ERROR_CODES["TOO_COSTLY"], params
        assert "this style transfer would take" in ack["error"]["message"]
        assert "smaller size" in ack["error"]["message"]
    sio.disconnect()


def test_the_features_route_lists_networks_and_layers(client):
    listed = {f["name"]: f for f in client.get("/api/features").get_json()}
    assert list(listed) == ["random", "d:tiny", "d:tiny-gray"]
    assert [layer["name"] for layer in listed["random"]["layers"]] == ["r1", "r2", "r3", "r4"]
    assert listed["d:tiny"]["layers"][0] == {"name": "conv1", "shape": [8, 8, 8]}
    assert listed["d:tiny-gray"]["channels"] == 1
