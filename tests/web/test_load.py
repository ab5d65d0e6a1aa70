"""20 clients at once against a real server, in both modes: no crash, no hang, no lost job."""
import pytest

from bench.server_load import run_load


@pytest.mark.parametrize("mode", ["eventlet", "threading"])
def test_twenty_clients_at_once(tiny_models, mode):
    report = run_load(tiny_models[0], "tiny", 16, clients=20, steps=40, restarts=2, timeout=240, mode=mode)
    assert report["hangs"] == 0, report
    assert report["lost"] == 0, report
    assert not report["crashed"]
    assert report["errors"] == 0, report["error_details"]
    assert report["done"] + report["busy"] == 20
    assert report["accepted"] == report["done"]
    assert report["busy"] >= 1, "the queue limit (8) turned some clients away"
    assert report["bystander_ping_ms"]["n"] > 0
