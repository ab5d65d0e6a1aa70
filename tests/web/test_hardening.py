"""Hardening, in-process: jobs tied to live clients, admission by cost, rate and
address, acknowledged jobs, the host allowlist, HTTP errors and headers, bounded
uploads. The faults that need a real server are in test_real_server_hardening.py."""
import io
import time

import numpy as np
import pytest
from PIL import Image

from app.engine import imageio
from app.engine.schedule import SearchCost
from app.web import socketio
from app.web.jobs import Refused
from app.web.protocol import ERROR_CODES, EVENTS
from tests.web.helpers import complete_payload, terminal, wait_for

LONG = {"steps": 5000, "restarts": 2, "fast": False}


def png(width, height, mode="L", dots=()):
    img = Image.new(mode, (width, height), 255)
    for x, y in dots:
        img.putpixel((x, y), 0)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


# -- jobs belong to live connections ---------------------------------------------------

def test_a_submit_after_the_disconnect_is_refused_and_never_queued(app):
    """The threading-mode race: the disconnect is handled before the client's complete."""
    jobs = app.extensions["regen"]["jobs"]
    client = socketio.test_client(app)
    sid = next(iter(jobs.clients))
    from app.web.validation import parse_complete
    req = parse_complete(complete_payload(), app.extensions["regen"]["registry"], 10 ** 6, 10 ** 6)
    client.disconnect()
    with pytest.raises(Refused) as refused:
        jobs.submit(sid, req)
    assert refused.value.code == ERROR_CODES["CANCELLED"]
    assert jobs.stats()["waiting"] == 0 and not jobs.active


def test_a_waiting_job_whose_client_left_is_skipped(make_app):
    app = make_app(WORKERS=1)
    jobs = app.extensions["regen"]["jobs"]
    runner, leaver = socketio.test_client(app), socketio.test_client(app)
    runner.emit(EVENTS["COMPLETE"], complete_payload(params=LONG))
    wait_for(runner, EVENTS["PROGRESS"])
    leaver.emit(EVENTS["COMPLETE"], complete_payload(params=LONG))
    wait_for(leaver, EVENTS["QUEUED"])
    leaver_sid = jobs.waiting[0].sid
    with jobs.lock:                        # the client vanishes without its disconnect being handled yet
        jobs.clients.pop(leaver_sid)
    runner.emit(EVENTS["CANCEL"], {})
    deadline = time.monotonic() + 10
    while (jobs.stats()["waiting"] or jobs.stats()["running"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert jobs.stats()["waiting"] == 0 and jobs.stats()["running"] == 0, "the gone client's job never ran"
    runner.disconnect()


# -- the acknowledgement, positions, busy and replacement -----------------------------------

def test_complete_is_acknowledged_with_the_job_id(sio):
    ack = sio.emit(EVENTS["COMPLETE"], complete_payload(), callback=True)
    assert set(ack) == {"job", "position"} and ack["position"] == 0
    events = wait_for(sio, EVENTS["DONE"])
    assert {p["job"] for _, p in events} == {ack["job"]}


def test_a_refusal_is_acknowledged_and_its_error_carries_the_job_id(sio):
    ack = sio.emit(EVENTS["COMPLETE"], complete_payload(model="nope"), callback=True)
    assert ack["error"]["code"] == ERROR_CODES["UNKNOWN_MODEL"]
    name, payload = wait_for(sio, EVENTS["ERROR"])[-1]
    assert payload["job"] == ack["job"] and payload["code"] == ERROR_CODES["UNKNOWN_MODEL"]


def test_the_queue_position_counts_the_running_job(make_app):
    app = make_app(WORKERS=1)
    a, b = socketio.test_client(app), socketio.test_client(app)
    a.emit(EVENTS["COMPLETE"], complete_payload(params=LONG))
    wait_for(a, EVENTS["PROGRESS"])
    ack = b.emit(EVENTS["COMPLETE"], complete_payload(), callback=True)
    assert ack["position"] == 1, "one job (the running one) is ahead"
    queued = [p for n, p in wait_for(b, EVENTS["QUEUED"]) if n == EVENTS["QUEUED"]]
    assert queued[-1]["position"] == 1
    a.emit(EVENTS["CANCEL"], {})
    assert wait_for(b, EVENTS["DONE"])[-1][0] == EVENTS["DONE"]
    a.disconnect()
    b.disconnect()


def test_busy_carries_a_job_id_and_a_replacement_is_accepted_on_a_full_queue(make_app):
    app = make_app(MAX_QUEUE=1, WORKERS=1)
    runner, waiter, late = (socketio.test_client(app) for _ in range(3))
    runner.emit(EVENTS["COMPLETE"], complete_payload(params=LONG))
    wait_for(runner, EVENTS["PROGRESS"])
    first = waiter.emit(EVENTS["COMPLETE"], complete_payload(params=LONG), callback=True)
    assert "error" not in first                       # the queue is now full
    refused = late.emit(EVENTS["COMPLETE"], complete_payload(), callback=True)
    assert refused["error"]["code"] == ERROR_CODES["BUSY"] and refused["job"]
    assert wait_for(late, EVENTS["ERROR"])[-1][1]["job"] == refused["job"]
    second = waiter.emit(EVENTS["COMPLETE"], complete_payload(), callback=True)
    assert "error" not in second, "replacing a waiting job does not grow the queue"
    ends = terminal(wait_for(waiter, EVENTS["ERROR"]))
    assert ends[0][1]["job"] == first["job"] and ends[0][1]["code"] == ERROR_CODES["CANCELLED"]
    runner.emit(EVENTS["CANCEL"], {})
    assert terminal(wait_for(waiter, EVENTS["DONE"]))[-1][1]["job"] == second["job"]
    for c in (runner, waiter, late):
        c.disconnect()


# -- fairness ------------------------------------------------------------------------------

def test_a_job_over_the_cost_ceiling_is_refused(make_app, monkeypatch):
    app = make_app(MAX_JOB_SECONDS=1.0)
    monkeypatch.setattr(app.extensions["regen"]["registry"].entries["tiny"], "cost", SearchCost(0.0, 0.001))
    sio = socketio.test_client(app)
    ack = sio.emit(EVENTS["COMPLETE"], complete_payload(params={"steps": 5000, "restarts": 128}), callback=True)
    assert ack["error"]["code"] == ERROR_CODES["TOO_COSTLY"]
    assert "this completion would take" in ack["error"]["message"] and "fewer steps or restarts" in ack["error"]["message"]
    ok = sio.emit(EVENTS["COMPLETE"], complete_payload(params={"steps": 10, "restarts": 2}), callback=True)
    assert "error" not in ok
    sio.disconnect()


def test_a_job_that_halves_its_candidates_is_costed_for_the_steps_it_runs(make_app, monkeypatch):
    """600 steps of 64 candidates halved down to 2 run 12,600 candidate-steps, not 38,400:
    admitted under a 20 s ceiling at 1 ms each, where the plain search of that size is not."""
    app = make_app(MAX_JOB_SECONDS=20.0)
    monkeypatch.setattr(app.extensions["regen"]["registry"].entries["tiny"], "cost", SearchCost(0.0, 0.001))
    sio = socketio.test_client(app)
    plain = sio.emit(EVENTS["COMPLETE"], complete_payload(
        params={"steps": 600, "restarts": 64, "fast": False}), callback=True)
    assert plain["error"]["code"] == ERROR_CODES["TOO_COSTLY"]
    halved = sio.emit(EVENTS["COMPLETE"], complete_payload(params={"steps": 600, "restarts": 64}), callback=True)
    assert "error" not in halved
    sio.emit(EVENTS["CANCEL"], {"job": halved["job"]})
    sio.disconnect()


def test_completes_are_rate_limited_per_address(make_app):
    app = make_app(COMPLETE_RATE=(3, 60.0))
    sio = socketio.test_client(app)
    acks = [sio.emit(EVENTS["COMPLETE"], complete_payload(), callback=True) for _ in range(4)]
    assert ["error" in a for a in acks] == [False, False, False, True]
    assert acks[-1]["error"]["code"] == ERROR_CODES["RATE_LIMITED"]
    sio.disconnect()


def test_jobs_and_connections_per_address_are_limited(make_app):
    app = make_app(MAX_JOBS_PER_ADDRESS=2, MAX_CONNECTIONS_PER_ADDRESS=3, WORKERS=1)
    clients = [socketio.test_client(app) for _ in range(3)]
    assert all(c.is_connected() for c in clients)
    assert not socketio.test_client(app).is_connected(), "a fourth connection from the address is refused"
    acks = [c.emit(EVENTS["COMPLETE"], complete_payload(params=LONG), callback=True) for c in clients]
    assert [a.get("error", {}).get("code") for a in acks] == [None, None, ERROR_CODES["CLIENT_LIMIT"]]
    for c in clients:
        c.disconnect()


def test_rate_window_slides():
    from app.web.jobs import RateWindow
    window = RateWindow(2, 10.0)
    assert window.allow("a", 0.0) and window.allow("a", 1.0) and not window.allow("a", 2.0)
    assert window.allow("b", 2.0), "each address has its own window"
    assert window.allow("a", 10.5), "the first event left the window"


# -- images are checked before they are decoded -----------------------------------------

def test_a_socket_image_of_the_wrong_size_is_refused_before_decoding(sio, monkeypatch):
    decoded = []
    monkeypatch.setattr(imageio, "to_array", lambda *a: decoded.append(a) or np.zeros((1, 1, 3), np.uint8))
    payload = complete_payload(image=png(6000, 6000, "RGB"))
    del payload["sample"]
    ack = sio.emit(EVENTS["COMPLETE"], payload, callback=True)
    assert ack["error"]["code"] == ERROR_CODES["BAD_IMAGE"] and "6000x6000" in ack["error"]["message"]
    assert not decoded, "the header alone refused it"


# -- uploads: bounded geometry, every failure is bad_image -------------------------------

def test_a_far_apart_digit_upload_is_prepared_within_bounds(client):
    data = png(12000, 1200, dots=[(0, 0), (11999, 1199)])
    started = time.monotonic()
    r = client.post("/api/prepare?model=tiny-gray", data=data, content_type="image/png")
    assert r.status_code == 200
    x, y, side, _ = r.get_json()["box"]          # in the photo's own pixels, as the paste-back needs
    assert 1200 <= side <= 2 * 12000
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("size", [(400000, 100), (20000, 2000)])
def test_extreme_upload_geometry_is_bad_image(client, size):
    r = client.post("/api/prepare?model=tiny-gray", data=png(*size), content_type="image/png")
    assert r.status_code == 400 and r.get_json()["code"] == ERROR_CODES["BAD_IMAGE"]


def test_an_opencv_failure_is_bad_image(client, monkeypatch):
    import cv2

    from app.web import routes

    def explode(*args):
        raise cv2.error("boom")
    monkeypatch.setattr(routes, "prepare", explode)
    r = client.post("/api/prepare?model=tiny", data=png(40, 40, "RGB"), content_type="image/png")
    assert r.status_code == 400 and r.get_json()["code"] == ERROR_CODES["BAD_IMAGE"]


def test_a_chunked_upload_gets_411(client):
    r = client.post("/api/prepare?model=tiny", input_stream=io.BytesIO(png(40, 40, "RGB")),
                    headers={"Transfer-Encoding": "chunked"})
    assert r.status_code == 411 and r.get_json()["code"] == "length_required"


# -- HTTP: JSON errors and security headers ----------------------------------------------

def test_http_errors_answer_json(make_app):
    app = make_app()

    def boom():
        raise RuntimeError("secret detail")
    app.add_url_rule("/boom", "boom", boom)
    client = app.test_client()
    for method, url, code in [("get", "/no/such/page", 404), ("post", "/", 405), ("get", "/boom", 500)]:
        r = getattr(client, method)(url)
        assert r.status_code == code and r.is_json, (url, r.data[:80])
        assert "secret detail" not in r.get_data(as_text=True)


def test_security_headers(client):
    page, api, health = client.get("/"), client.get("/api/models"), client.get("/healthz")
    for r in (page, api, health):
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Referrer-Policy"] == "no-referrer"
        assert r.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert api.headers["Cache-Control"] == "no-store" and health.headers["Cache-Control"] == "no-store"
    assert "<script>" not in page.get_data(as_text=True), "no inline script the policy would block"


# -- DNS rebinding ---------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/api/models", "/", "/socket.io/?EIO=4&transport=polling"])
def test_unknown_hosts_are_refused(client, url):
    r = client.get(url, headers={"Host": "evil.example:5000"})
    assert r.status_code == 421 and r.get_json()["code"] == "bad_host"
    assert client.get(url, headers={"Host": "localhost:5000"}).status_code == 200
    assert client.get(url, headers={"Host": "127.0.0.1:5000"}).status_code == 200


def test_allowed_hosts_are_configurable(make_app):
    client = make_app(ALLOWED_HOSTS=["regen.lan"]).test_client()
    assert client.get("/api/models", headers={"Host": "regen.lan:5000"}).status_code == 200
    assert client.get("/api/models", headers={"Host": "localhost:5000"}).status_code == 421


def test_prepare_crops_the_box_the_user_chose(client):
    photo = np.zeros((100, 200, 3), np.uint8)
    photo[20:60, 120:160] = 255                       # a white square where the user puts the crop
    data = imageio.encode_png(photo)
    r = client.post("/api/prepare?model=tiny&box=120,20,40", data=data, content_type="image/png")
    body = r.get_json()
    assert r.status_code == 200 and body["box"] == [120, 20, 40, 40]
    crop = imageio.decode(__import__("base64").b64decode(body["image"].split(",", 1)[1]), 3)
    assert crop.shape == (16, 16, 3) and crop.min() > 200, "the crop is exactly the chosen square"
    for bad in ("1,2", "a,b,c", "500,500,10", "0,0,1"):
        r = client.post(f"/api/prepare?model=tiny&box={bad}", data=data, content_type="image/png")
        assert r.status_code == 400 and r.get_json()["code"] == ERROR_CODES["BAD_REQUEST"], bad


def test_one_log_line_per_job_and_per_refusal(sio, caplog):
    import logging
    caplog.set_level(logging.INFO, logger="app.web")
    sio.emit(EVENTS["COMPLETE"], complete_payload(), callback=True)
    wait_for(sio, EVENTS["DONE"])
    sio.emit(EVENTS["COMPLETE"], complete_payload(model="nope"), callback=True)
    jobs = [r.getMessage() for r in caplog.records if r.getMessage().startswith("job ")]
    refused = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused ")]
    assert len(jobs) == 1 and "model=tiny steps=10 restarts=2 outcome=done seconds=" in jobs[0]
    assert len(refused) == 1 and "code=unknown_model" in refused[0]


def test_the_page_defaults_are_admitted(app, monkeypatch):
    """The page's own defaults, fast or plain, cost well under the ceiling."""
    from app.engine.params import CompletionParams
    from app.web.validation import parse_complete
    req = parse_complete(complete_payload(params={}), app.extensions["regen"]["registry"], 10 ** 6, 10 ** 6)
    assert isinstance(req.params, CompletionParams)
    jobs = app.extensions["regen"]["jobs"]
    monkeypatch.setattr(jobs.registry.entries["tiny"], "cost", SearchCost(0.01, 0.006))   # faces' on 2 cores
    assert jobs.cost(req) < jobs.max_job_seconds / 10


def test_decoding_encoding_and_the_baseline_go_through_blocking(app, sio):
    """Nothing CPU-bound runs on the socket loop: decode/validate, each report's PNG,
    and the Telea baseline with the final PNGs are all handed to `blocking`."""
    jobs = app.extensions["regen"]["jobs"]
    calls, real = [], jobs.blocking
    jobs.blocking = lambda fn, *a, **k: calls.append(fn.__name__) or real(fn, *a, **k)
    sio.emit(EVENTS["COMPLETE"], complete_payload(), callback=True)
    reports = [m for name, m in wait_for(sio, EVENTS["DONE"]) if name == EVENTS["PROGRESS"]]
    assert calls[0] == "parse_complete" and calls[-1] == "_complete_finish"
    assert calls.count("advance") == len(reports) + 1, "every chunk of the search, the last included"
    assert calls.count("encode_png") == len(reports), "every report's PNG"


def test_a_cancel_before_the_job_exists_refuses_it_at_submit(app):
    """Each socket event runs in its own task: Stop can be handled while the complete
    is still being checked. The job must then not run for nobody."""
    jobs = app.extensions["regen"]["jobs"]
    client = socketio.test_client(app)
    sid = next(iter(jobs.clients))
    from app.web.validation import parse_complete
    req = parse_complete(complete_payload(), app.extensions["regen"]["registry"], 10 ** 6, 10 ** 6)
    admitted = jobs.admit(sid)
    assert jobs.cancel(sid) is False                  # nothing to cancel yet
    with pytest.raises(Refused) as refused:
        jobs.submit(sid, req, since=admitted)
    assert refused.value.code == ERROR_CODES["CANCELLED"] and not jobs.waiting
    job, _ = jobs.submit(sid, req, since=jobs.admit(sid))   # a later complete is not affected
    assert job in jobs.waiting or jobs.running
    client.disconnect()


def test_a_small_crop_of_a_huge_photo_keeps_its_detail(client):
    photo = np.zeros((500, 9000, 3), np.uint8)
    photo[100:104, 100:102] = 255                     # a 2-pixel-wide detail in a 4-pixel crop
    data = imageio.encode_png(photo)
    r = client.post("/api/prepare?model=tiny&box=100,100,4", data=data, content_type="image/png")
    assert r.status_code == 200
    crop = imageio.decode(__import__("base64").b64decode(r.get_json()["image"].split(",", 1)[1]), 3)
    assert crop[:, :6].mean() > 150 and crop[:, 10:].mean() < 60, "the left half white, the right black"


def test_a_405_keeps_its_allow_header(client):
    r = client.post("/api/models")
    assert r.status_code == 405 and r.is_json and "GET" in r.headers["Allow"]


@pytest.mark.parametrize("hops, expected", [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_behind_a_proxy_the_limits_see_the_users_address(make_app, hops, expected):
    """REGEN_PROXY_HOPS=1 (behind deploy/nginx.conf): the address every limit counts is
    the user's, from X-Forwarded-For, not the proxy's; without it the header is ignored."""
    from flask import request
    app = make_app(PROXY_HOPS=hops)
    app.add_url_rule("/_address", "address", lambda: request.remote_addr)   # what the handlers see
    seen = app.test_client().get("/_address", headers={"X-Forwarded-For": "203.0.113.9"},
                                 environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert seen.get_data(as_text=True) == expected
