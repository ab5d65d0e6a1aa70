from app.engine.params import CompletionParams
from app.web.validation import parse_params


def test_missing_params_take_the_engines_defaults_the_fast_path():
    p = parse_params(None)
    d = CompletionParams()
    assert (p.steps, p.restarts, p.encoder_share, p.anchor, p.min_candidates, p.early_stop) == \
        (d.steps, d.restarts, d.encoder_share, d.anchor, d.min_candidates, d.early_stop)


def test_fast_off_searches_every_step_from_random_z():
    p = parse_params({"fast": False, "steps": 300, "restarts": 8})
    assert p.encoder_share == 0 and p.anchor == 0 and p.min_candidates is None and p.early_stop is False
    assert (p.steps, p.restarts) == (300, 8)


def test_lr_has_the_protocols_lower_limit():
    import pytest as _pytest

    from app.web.protocol import LIMITS
    from app.web.validation import RequestError, parse_params
    assert parse_params({"lr": LIMITS["lr"][0]}).lr == LIMITS["lr"][0]
    with _pytest.raises(RequestError, match="lr"):
        parse_params({"lr": LIMITS["lr"][0] / 10})
