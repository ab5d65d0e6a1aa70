import numpy as np
from PIL import Image
import io

from app.engine import imageio
from app.web.protocol import ERROR_CODES, EVENTS
from tests.web.helpers import complete_payload, hole_png, terminal, wait_for


def test_complete_streams_progress_then_done(sio):
    sio.emit(EVENTS["COMPLETE"], complete_payload())
    events = wait_for(sio, EVENTS["DONE"])
    names = [n for n, _ in events]
    assert names[0] == EVENTS["QUEUED"]
    assert names.count(EVENTS["PROGRESS"]) >= 2 and names[-1] == EVENTS["DONE"]
    job = events[0][1]["job"]
    progress = [p for n, p in events if n == EVENTS["PROGRESS"]]
    assert all(p["job"] == job and p["steps"] == 10 for p in progress)
    assert [p["step"] for p in progress] == sorted(p["step"] for p in progress)
    assert set(progress[-1]["losses"]) == {"contextual", "perceptual", "anchor", "total"}
    assert Image.open(io.BytesIO(progress[-1]["image"])).size == (16, 16)
    done = events[-1][1]
    assert done["job"] == job and done["steps"] == 10 and done["seconds"] > 0
    assert done["stopped_early"] is False
    out = imageio.decode(done["image"], 3)
    sample = np.asarray(Image.open(sio.flask_test_client.application.extensions["regen"]["registry"]
                                   .entries["tiny"].samples["000"]))
    known = imageio.decode(hole_png(), 1)[..., 0] < 128
    assert np.array_equal(out[known], sample[known]), "known pixels come back unchanged"
    assert imageio.decode(done["baseline"], 3).shape == (16, 16, 3)


def test_uploaded_image_instead_of_a_sample(sio):
    image = imageio.encode_png(np.full((16, 16, 3), 90, np.uint8))
    payload = complete_payload(image=image)
    del payload["sample"]
    sio.emit(EVENTS["COMPLETE"], payload)
    assert wait_for(sio, EVENTS["DONE"])[-1][0] == EVENTS["DONE"]


def test_cancel_ends_the_job_with_an_error(sio):
    sio.emit(EVENTS["COMPLETE"], complete_payload(params={"steps": 5000, "restarts": 2, "fast": False}))
    wait_for(sio, EVENTS["PROGRESS"])
    sio.emit(EVENTS["CANCEL"], {})
    events = wait_for(sio, [EVENTS["DONE"], EVENTS["ERROR"]])
    assert events[-1][0] == EVENTS["ERROR"] and events[-1][1]["code"] == ERROR_CODES["CANCELLED"]


def test_unknown_model_gives_error(sio):
    sio.emit(EVENTS["COMPLETE"], complete_payload(model="nope"))
    name, payload = wait_for(sio, EVENTS["ERROR"])[-1]
    assert payload["code"] == ERROR_CODES["UNKNOWN_MODEL"]
    assert "available: tiny, tiny-gray" in payload["message"]


def test_a_new_job_cancels_the_old_one(sio):
    sio.emit(EVENTS["COMPLETE"], complete_payload(params={"steps": 5000, "restarts": 2, "fast": False}))
    first = wait_for(sio, EVENTS["QUEUED"])[-1][1]["job"]
    sio.emit(EVENTS["COMPLETE"], complete_payload())
    events = wait_for(sio, EVENTS["DONE"])
    ends = terminal(events)
    assert ends[0][0] == EVENTS["ERROR"] and ends[0][1]["job"] == first
    assert ends[0][1]["code"] == ERROR_CODES["CANCELLED"]
    assert ends[-1][0] == EVENTS["DONE"] and ends[-1][1]["job"] != first
    assert len(ends) == 2, "each job ends exactly once"


def test_mask_of_another_size_is_refused(sio):
    sio.emit(EVENTS["COMPLETE"], complete_payload(mask=hole_png(8, (2, 6, 2, 6))))
    payload = wait_for(sio, EVENTS["ERROR"])[-1][1]
    assert payload["code"] == ERROR_CODES["BAD_IMAGE"]
    assert "mask is 8x8 but the image is 16x16" in payload["message"]


def test_unknown_keys_are_rejected(sio):
    sio.emit(EVENTS["COMPLETE"], complete_payload(params={"stpes": 10}))
    payload = wait_for(sio, EVENTS["ERROR"])[-1][1]
    assert payload["code"] == ERROR_CODES["BAD_REQUEST"] and "'stpes'" in payload["message"]


def test_queue_full_answers_busy(make_app):
    from app.web import socketio
    app = make_app(MAX_QUEUE=1, WORKERS=1)
    clients = [socketio.test_client(app) for _ in range(3)]
    for c in clients:
        c.emit(EVENTS["COMPLETE"], complete_payload(params={"steps": 3000, "restarts": 2, "fast": False}))
    outcomes = []
    for c in clients:
        events = wait_for(c, [EVENTS["QUEUED"], EVENTS["ERROR"]])
        outcomes.append(events[-1])
    codes = [p.get("code") for n, p in outcomes if n == EVENTS["ERROR"]]
    assert ERROR_CODES["BUSY"] in codes
    for c in clients:
        c.emit(EVENTS["CANCEL"], {})
        c.disconnect()


def test_replacing_a_running_job_while_another_waits(make_app):
    """Cancelling looks the old job up among waiting ones: that must compare jobs by
    identity, not by their image arrays."""
    from app.web import socketio
    app = make_app()
    me, other = socketio.test_client(app), socketio.test_client(app)
    me.emit(EVENTS["COMPLETE"], complete_payload(params={"steps": 5000, "restarts": 2, "fast": False}))
    first = wait_for(me, EVENTS["PROGRESS"])[0][1]["job"]          # running now
    other.emit(EVENTS["COMPLETE"], complete_payload())              # waits behind it
    wait_for(other, EVENTS["QUEUED"])
    me.emit(EVENTS["COMPLETE"], complete_payload())
    ends = terminal(wait_for(me, EVENTS["DONE"]))
    assert ends[0][0] == EVENTS["ERROR"] and ends[0][1]["job"] == first
    assert ends[0][1]["code"] == ERROR_CODES["CANCELLED"]
    assert ends[-1][0] == EVENTS["DONE"]
    assert wait_for(other, EVENTS["DONE"])[-1][0] == EVENTS["DONE"]
    me.disconnect()
    other.disconnect()
