import json

from bench import report


def test_report_renders_every_table(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "RESULTS", str(tmp_path))
    monkeypatch.setattr(report, "MODELS", str(tmp_path / "models"))
    (tmp_path / "models" / "faces").mkdir(parents=True)
    (tmp_path / "models" / "faces" / "manifest.json").write_text(json.dumps(
        {"training": {"steps": 900, "exported": "2026-01-02T10:00:00+00:00"},
         "encoder": {"exported": "2026-01-02T11:00:00+00:00"}, "refine_steps": 25}))
    today = {"steps": 900, "exported": "2026-01-02T10:00:00+00:00", "encoder_exported": "2026-01-02T11:00:00+00:00",
             "refine_steps": 25}
    (tmp_path / "speed.json").write_text(json.dumps({
        "model": "faces", "machine": {"cores": 2, "cpu": "Test CPU", "gpu": "none", "tensorflow": "2.x"},
        "matmul_gflops": 190.0, "gflop_per_sample_iteration": 1.5, "limit_sample_it_per_s": 126.7,
        "rows": [{"batch": 16, "steps": 75, "fused": 110.0, "naive": 80.0, "speedup": 1.375, "utilization": 0.87}],
        "first_progress_s": 0.05, "command": "python -m bench.inpaint_speed --model faces", "date": "2026-01-02"}))
    (tmp_path / "quality_faces.json").write_text(json.dumps({
        "model": "faces", "data": "faces64_val.npz", "limit": 4, "command": "python -m bench.inpaint_quality x",
        "model_stamp": today,
        "results": {"regen": {"center": {"psnr": 25.0, "psnr_hole": 20.0, "ssim": 0.9, "l1_hole": 0.05,
                                         "seconds": 3.0}}}}))
    fast = {"psnr": 25.0, "psnr_hole": 21.0, "ssim": 0.9, "l1_hole": 0.05, "seconds": 1.5,
            "curve": {"seconds": [0.05, 0.5, 1.5], "psnr_hole": [19.0, 20.0, 21.0]}}
    yeh = {"psnr": 24.0, "psnr_hole": 19.8, "ssim": 0.9, "l1_hole": 0.06, "seconds": 49.5}
    (tmp_path / "ttq_faces.json").write_text(json.dumps({
        "model": "faces", "data": "faces64_val.npz", "limit": 3, "command": "python -m bench.inpaint_quality y",
        "model_stamp": {**today, "encoder_exported": "2026-01-01T11:00:00+00:00"},   # the encoder since retrained
        "results": {"regen-fast": {"center": fast}, "yeh": {"center": yeh}}}))
    (tmp_path / "latency.json").write_text(json.dumps({
        "mode": "eventlet", "restarts": 16, "ping_ms": {"p50": 2.0, "p95": 5.0, "n": 100},
        "first_progress_ms": {"p50": 60, "p95": 90, "n": 10}}))
    for mode in ("eventlet", "threading"):
        (tmp_path / f"load_{mode}.json").write_text(json.dumps({
            "mode": mode, "clients": 20, "accepted": 9, "done": 9, "busy": 11, "errors": 0, "crashed": False,
            "hangs": 0, "lost": 0, "time_to_done_s": {"p50": 10.0, "p95": 20.0},
            "bystander_ping_ms": {"n": 100, "p50": 3.0, "p95": 6.5, "max": 15.0},
            "server_rss_mb": {"before": 500, "after": 520}}))
    ping = {"n": 50, "p50": 2.5, "p95": 7.0, "max": 80.0}
    (tmp_path / "socket_stall_eventlet.json").write_text(json.dumps({
        "mode": "eventlet", "max_socket_bytes": 262144, "idle": ping, "largest_legal": ping, "oversized_11mb": ping}))
    text = report.render("## Notes\n\nsomething")
    assert "2 cores, Test CPU" in text
    assert "Command: `python -m bench.inpaint_speed --model faces`  \nRun: 2026-01-02" in text
    assert "Run: not recorded" in text   # the other reports here carry no date
    assert "| 16 | 110.0 | 80.0 | 1.38× | 87% |" in text
    assert "| center | regen | 25.000 | 20.000 |" in text
    assert "| ping round trip during a restarts = 16 job | 2.0 ms | 5.0 ms | 100 |" in text
    assert "| eventlet | 20 | 9 | 9 | 11 | 0 | 0 | 0 | 0 |" in text and "| threading | 20 | 9 |" in text
    assert "3.0 / 6.5 / 15 ms" in text
    assert "| eventlet | largest legal | 2.5 ms | 7.0 ms | 80 ms | 50 |" in text
    assert "regen-fast 21.00 dB in 1.50 s, yeh 19.80 dB in 49.5 s: 33.0x less time" in text
    assert "reaches yeh's final 19.80 dB after 0.50 s, 99x sooner than yeh ends" in text
    assert "bench/time_to_quality.png" in text
    now = ("G at step 900, exported 2026-01-02T10:00:00+00:00; encoder exported 2026-01-02T11:00:00+00:00; "
           "second stage 25 steps")
    assert f"Model: {now}\n" in text, "the committed model's result"
    assert ("Model: G at step 900, exported 2026-01-02T10:00:00+00:00; encoder exported 2026-01-01T11:00:00+00:00; "
            f"second stage 25 steps (**another model** than the committed one, {now}: not rerun)") in text, \
        "a result left from another encoder says so"
    assert text.rstrip().endswith("something")


def test_benchmarks_md_is_the_render_of_the_results_and_notes():
    """BENCHMARKS.md is generated: an edit made there instead of in bench/NOTES.md (or a
    result file changed without rerunning the report) would be lost at the next render."""
    with open(f"{report.ROOT}/bench/NOTES.md") as f:
        notes = f.read()
    with open(f"{report.ROOT}/BENCHMARKS.md") as f:
        committed = f.read()
    assert committed == report.render(notes), \
        "BENCHMARKS.md differs from `python -m bench.report --notes bench/NOTES.md`: edit NOTES.md and rerun it"
