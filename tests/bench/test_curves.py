import json

import numpy as np
import pytest

from bench import kimg_curve
from bench.curves import mean_curve, time_to_reach, value_at


def test_value_at_holds_the_latest_point():
    trace = [(0.1, 10.0), (0.5, 12.0), (2.0, 15.0)]
    assert np.isnan(value_at(trace, 0.05))
    assert value_at(trace, 0.1) == 10.0
    assert value_at(trace, 1.9) == 12.0
    assert value_at(trace, 9.0) == 15.0


def test_mean_curve_starts_when_every_image_has_shown_something():
    a = [(0.1, 10.0), (1.0, 20.0)]
    b = [(0.2, 14.0), (4.0, 16.0)]
    curve = mean_curve([a, b], points=20)
    assert curve["seconds"][0] == 0.2 and abs(curve["seconds"][-1] - 4.0) < 1e-9
    assert curve["psnr_hole"][0] == 12.0 and curve["psnr_hole"][-1] == 18.0
    assert not np.isnan(curve["psnr_hole"]).any()


def test_time_to_reach_is_the_first_grid_point_at_the_value():
    curve = {"seconds": [0.1, 0.2, 0.4, 0.8], "psnr_hole": [10.0, 12.5, 12.0, 14.0]}
    assert time_to_reach(curve, 12.0) == 0.2
    assert time_to_reach(curve, 9.0) == 0.1
    assert time_to_reach(curve, 13.0) == 0.8
    assert time_to_reach(curve, 14.5) is None


def test_the_kimg_curve_merges_a_runs_rows_by_step_and_draws_both_panels(tmp_path):
    lineage = tmp_path / "lineage.json"
    lineage.write_text(json.dumps({"batch": 64, "fd": [[100, 0.5], [200, 0.4]], "projection": [[200, 21.0, 20.5]],
                                   "exported": [200], "events": [[200, "a change"]],
                                   "targets": {"fd": 0.1, "projection": 26.0}, "fd_floor": 0.03}))
    metrics = tmp_path / "metrics.csv"
    metrics.write_text("step,train_seconds,face_fd_v1\n200,1.0,0.35\n300,2.0,0.30\n")
    png = tmp_path / "curve.png"
    assert kimg_curve.main([str(lineage), "--merge", str(metrics), "--out", str(png)]) == 0
    merged = json.loads(lineage.read_text())
    assert merged["fd"] == [[100, 0.5], [200, 0.35], [300, 0.30]], "a run's row replaces the same step's"
    assert merged["projection"] == [[200, 21.0, 20.5]]
    assert png.stat().st_size > 10_000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_exported_model_is_recorded_at_its_step_with_its_projection(tmp_path):
    lineage = tmp_path / "lineage.json"
    lineage.write_text(json.dumps({"batch": 64, "fd": [[300, 0.3]], "projection": [[100, 20.0, 19.5], [400, 21.0, 20.5]],
                                   "exported": [100]}))
    model = tmp_path / "faces"
    model.mkdir()
    (model / "manifest.json").write_text(json.dumps({"training": {"steps": 400}}))
    (model / "evaluation.json").write_text(json.dumps({"projection": {"psnr_median": 22.12345, "psnr_mean": 21.5}}))
    assert kimg_curve.main([str(lineage), "--add-model", str(model)]) == 0
    recorded = json.loads(lineage.read_text())
    assert recorded["projection"] == [[100, 20.0, 19.5], [400, 22.123, 21.5]], "re-evaluated: the step's point is replaced"
    assert recorded["exported"] == [100, 400]
    (model / "evaluation.json").write_text(json.dumps({"memorisation": {}}))
    with pytest.raises(ValueError, match="projection"):
        kimg_curve.main([str(lineage), "--add-model", str(model)])
