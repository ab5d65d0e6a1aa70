"""Hypothesis throws malformed payloads at every client event. The server must
never crash and must answer every malformed `complete` with a well-formed error."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.web import socketio
from app.web.protocol import ERROR_CODES, EVENTS, PARAM_KEYS
from tests.web.helpers import hole_png

EXAMPLES = 500
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                      st.text(max_size=30), st.binary(max_size=64))
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=10)
params = st.dictionaries(st.sampled_from(PARAM_KEYS + ("bogus",)), json_value, max_size=6)
complete_like = st.fixed_dictionaries({}, optional={
    "model": st.one_of(st.just("tiny"), st.just("../tiny"), st.text(max_size=80), json_value),
    "sample": st.one_of(st.just("000"), st.just("../../etc/passwd"), st.text(max_size=70), json_value),
    "image": st.one_of(st.binary(max_size=300), json_value),
    "mask": st.one_of(st.just(hole_png()), st.binary(max_size=300), json_value),
    "params": st.one_of(params, json_value),
    "extra": json_value,
})
garbage = st.one_of(json_value, complete_like)


@pytest.fixture(scope="module")
def fuzz_client(tiny_models):
    from app.web import create_app
    from app.web.config import TestConfig
    app = create_app({k: v for k, v in vars(TestConfig).items() if k.isupper()} | {"MODELS_DIR": tiny_models[0]})
    client = socketio.test_client(app)
    yield client
    client.emit(EVENTS["CANCEL"], {})
    client.disconnect()
    app.extensions["regen"]["jobs"].stop()


def check_answer(client, payload):
    received = client.get_received()
    assert client.is_connected(), "the server dropped the client"
    errors = [m["args"][0] for m in received if m["name"] == EVENTS["ERROR"]]
    queued = [m for m in received if m["name"] == EVENTS["QUEUED"]]
    if queued:
        # only a well-formed request can be queued: one of the tiny models, one image source, a mask
        assert isinstance(payload, dict) and payload.get("model") in ("tiny", "tiny-gray"), payload
        assert ("sample" in payload) != ("image" in payload) and "mask" in payload, payload
        client.emit(EVENTS["CANCEL"], {})
        client.get_received()
        return
    assert len(errors) >= 1, f"no answer to {payload!r}"
    for e in errors:
        assert set(e) <= {"code", "message", "job"}
        assert e["code"] in ERROR_CODES.values() and e["code"] != ERROR_CODES["INTERNAL"]
        assert isinstance(e["message"], str) and 0 < len(e["message"]) < 500
        assert "Traceback" not in e["message"]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
@given(payload=garbage)
def test_complete_fuzz(fuzz_client, payload):
    fuzz_client.emit(EVENTS["COMPLETE"], payload)
    check_answer(fuzz_client, payload)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=garbage)
def test_cancel_fuzz(fuzz_client, payload):
    fuzz_client.emit(EVENTS["CANCEL"], payload)
    errors = [m["args"][0] for m in fuzz_client.get_received() if m["name"] == EVENTS["ERROR"]]
    for e in errors:
        assert e["code"] in (ERROR_CODES["BAD_REQUEST"], ERROR_CODES["CANCELLED"])
    well_formed = payload is None or (isinstance(payload, dict) and set(payload) <= {"job"} and
                                      (payload.get("job") is None or
                                       (isinstance(payload["job"], str) and len(payload["job"]) <= 64)))
    if not well_formed:
        assert any(e["code"] == ERROR_CODES["BAD_REQUEST"] for e in errors), f"no answer to {payload!r}"
    assert fuzz_client.is_connected()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=1, max_size=40).filter(lambda n: n not in EVENTS.values()
                                                     and n not in ("connect", "disconnect", "message", "json")),
       payload=garbage)
def test_unknown_events_are_ignored(fuzz_client, name, payload):
    fuzz_client.emit(name, payload)
    assert fuzz_client.is_connected()
    assert all(m["name"] != EVENTS["ERROR"] or m["args"][0]["code"] != ERROR_CODES["INTERNAL"]
               for m in fuzz_client.get_received())
