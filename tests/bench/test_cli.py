"""Tiny end-to-end runs of both benchmark CLIs on random models."""
import datetime
import json

import numpy as np
import pytest

from bench import curves, inpaint_quality, inpaint_speed


def test_quality_cli_writes_json_and_completions(tiny_models, tmp_path):
    data = tmp_path / "val.npz"
    np.savez(data, images=np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8))
    out, saved = tmp_path / "q.json", tmp_path / "c.npz"
    code = inpaint_quality.main(["--model", "tiny", "--data", str(data), "--models-dir", tiny_models[0],
                                 "--masks", "center,random80", "--methods", "regen,telea,ns", "--limit", "2",
                                 "--json", str(out), "--save", str(saved)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["command"].startswith("python -m bench.inpaint_quality --model tiny")
    assert report["date"] == datetime.date.today().isoformat()
    assert set(report["results"]) == {"regen", "telea", "ns"}
    for per_mask in report["results"].values():
        assert set(per_mask) == {"center", "random80"}
        for metrics in per_mask.values():
            assert set(metrics) == {"psnr", "psnr_hole", "ssim", "l1_hole", "seconds"}
    with np.load(saved) as z:
        assert z["completions/regen/center"].shape == (2, 16, 16, 3)
        assert z["masks/center"].shape == (2, 16, 16)


def test_quality_cli_reads_mnist_keys_and_judges(tiny_models, tmp_path, monkeypatch):
    data = tmp_path / "mnist.npz"
    rng = np.random.default_rng(0)
    np.savez(data, x_test=rng.integers(0, 256, (2, 16, 16), dtype=np.uint8), y_test=np.array([3, 4]))
    out = tmp_path / "q.json"
    assert inpaint_quality.main(["--model", "tiny-gray", "--data", str(data), "--models-dir", tiny_models[0],
                                 "--masks", "bottom", "--methods", "telea", "--limit", "2",
                                 "--json", str(out)]) == 0
    assert "bottom" in json.loads(out.read_text())["results"]["telea"]


@pytest.mark.parametrize("flags, message", [
    (["--methods", "magic"], "unknown method 'magic'"),
    (["--sweep", "magic=1,2"], "--sweep wants KEY=V1,V2"),
])
def test_quality_cli_rejects_bad_flags(flags, message, capsys):
    with pytest.raises(SystemExit) as exc:
        inpaint_quality.main(["--model", "tiny", "--data", "x.npz", *flags])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_speed_cli_writes_json(tiny_models, tmp_path):
    out = tmp_path / "s.json"
    assert inpaint_speed.main(["--model", "tiny", "--models-dir", tiny_models[0], "--batch", "1,4",
                               "--repeats", "1", "--steps-budget", "40", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert {"matmul_gflops", "gflop_per_sample_iteration", "limit_sample_it_per_s", "rows",
            "first_progress_s", "machine"} <= set(report)
    assert [r["batch"] for r in report["rows"]] == [1, 4]
    for r in report["rows"]:
        assert r["fused"] > 0 and r["naive"] > 0 and 0 < r["utilization"]


def test_time_to_quality_records_curves_and_plots(tiny_encoder_models, tmp_path):
    data = tmp_path / "val.npz"
    np.savez(data, images=np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8))
    out, png = tmp_path / "q.json", tmp_path / "ttq.png"
    assert inpaint_quality.main(["--model", "tiny-enc", "--data", str(data), "--models-dir", tiny_encoder_models,
                                 "--masks", "center", "--methods", "regen-fast,telea", "--limit", "2",
                                 "--time-to-quality", "--json", str(out)]) == 0
    results = json.loads(out.read_text())["results"]
    curve = results["regen-fast"]["center"]["curve"]
    assert len(curve["seconds"]) == len(curve["psnr_hole"]) > 10
    assert curve["seconds"] == sorted(curve["seconds"])
    # the curve ends on the final (blended) result the metrics score
    assert abs(curve["psnr_hole"][-1] - results["regen-fast"]["center"]["psnr_hole"]) < 1e-6
    assert "curve" not in results["telea"]["center"]
    assert curves.main([str(out), "--out", str(png)]) == 0
    assert png.stat().st_size > 1000


def test_yeh_is_the_papers_plain_search():
    from app.engine.params import CompletionParams
    p = CompletionParams(**inpaint_quality.YEH)
    assert (p.steps, p.restarts, p.lam, p.window, p.blend) == (1500, 16, 0.003, 7, False)
    assert p.encoder_share == 0 and p.anchor == 0 and p.min_candidates is None and not p.early_stop


def test_sweep_adds_one_method_per_combination(tiny_models, tmp_path):
    methods = inpaint_quality.sweep_methods(["anchor=0,30", "early_stop=false,true"])
    assert set(methods) == {"regen[anchor=0.0,early_stop=False]", "regen[anchor=0.0,early_stop=True]",
                            "regen[anchor=30.0,early_stop=False]", "regen[anchor=30.0,early_stop=True]"}
    data = tmp_path / "val.npz"
    np.savez(data, images=np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8))
    out = tmp_path / "q.json"
    assert inpaint_quality.main(["--model", "tiny", "--data", str(data), "--models-dir", tiny_models[0],
                                 "--masks", "center", "--methods", "telea", "--limit", "1",
                                 "--sweep", "steps=5,10", "--json", str(out)]) == 0
    assert set(json.loads(out.read_text())["results"]) == {"telea", "regen[steps=5]", "regen[steps=10]"}



def test_op_profile_sums_kernel_time(tiny_models, capsys):
    from bench import op_profile
    assert op_profile.main(["--model", "tiny", "--models-dir", tiny_models[0], "--runs", "2", "--top", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "ms of kernels per step" in out[0] and len(out) == 4
    from app.engine.model import load_model
    per_op, total = op_profile.kernel_times(load_model(tiny_models[0], "tiny"), runs=2, warm=1)
    assert total > 0 and any(k.startswith("G:") for k in per_op) and any(k.startswith("D:") for k in per_op)


def test_requested_classes_for_the_conditional_benchmark():
    labels = np.array([0, 3, 9, 9, 5])
    assert inpaint_quality.requested_classes("any", labels, 0) is None
    assert list(inpaint_quality.requested_classes("true", labels, 0)) == [0, 3, 9, 9, 5]
    other = inpaint_quality.requested_classes("other", labels, 0)
    assert all(0 <= o <= 9 and o != label for o, label in zip(other, labels))
    with pytest.raises(ValueError, match="needs labelled data"):
        inpaint_quality.requested_classes("true", None, 0)


def test_a_conditional_model_is_benchmarked_as_the_requested_class(tiny_conditional_models, tmp_path, monkeypatch):
    data = tmp_path / "digits.npz"
    rng = np.random.default_rng(0)
    np.savez(data, x_test=rng.integers(0, 256, (3, 16, 16), dtype=np.uint8), y_test=np.array([0, 1, 2]))
    asked = []
    run = inpaint_quality.METHODS["regen"]
    monkeypatch.setitem(inpaint_quality.METHODS, "regen",
                        lambda *a: asked.append(a[-1]) or run(*a[:4], None, a[-1]))
    inpaint_quality.run_benchmark("tiny-acgan", str(data), ["bottom"], ["regen"], models_dir=tiny_conditional_models,
                                  log=lambda *_: None, request="true")
    assert asked == [0, 1, 2]
