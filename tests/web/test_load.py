"""20 clients at once against a real eventlet server: no crash, no hang, no lost job."""
from bench.server_load import run_load


def test_twenty_clients_at_once(tiny_models):
    report = run_load(tiny_models[0], "tiny", 16, clients=20, steps=40, restarts=2, timeout=240)
    assert report["hangs"] == 0, report
    assert report["lost"] == 0, report
    assert not report["crashed"]
    assert report["errors"] == 0, report["error_details"]
    assert report["done"] + report["busy"] == 20
    assert report["accepted"] == report["done"]
    assert report["busy"] >= 1, "the queue limit (8) turned some clients away"
