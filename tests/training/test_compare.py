"""training.compare end to end on a sliver of MNIST, and the pieces it records with."""
import csv
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.conftest import DATA_DIR
from training import compare, data, reporting

needs_mnist = pytest.mark.skipif(not os.path.exists(os.path.join(DATA_DIR, "mnist.npz")),
                                 reason=f"MNIST not found in {DATA_DIR} (clone with ../shared beside it)")

TINY = ["--dataset", "mnist", "--seeds", "1", "--data-share", "0.002", "--metrics-every", "2", "--batch", "8"]


def read(path):
    with open(path) as f:
        return f.read()


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_subset_keeps_every_class_in_proportion_and_is_repeatable():
    labels = np.repeat(np.arange(4), [100, 200, 300, 400]).astype(np.int32)
    ds = data.Dataset("toy", np.arange(1000).reshape(1000, 1, 1, 1), labels, num_classes=4)
    tenth = data.subset(ds, 0.1)
    assert np.bincount(tenth.labels).tolist() == [10, 20, 30, 40]
    assert np.array_equal(tenth.images, data.subset(ds, 0.1).images), "the same share is the same images"
    assert np.array_equal(ds.labels[tenth.images.ravel()], tenth.labels), "labels stay with their images"
    assert data.subset(ds, 1.0) is ds
    with pytest.raises(ValueError):
        data.subset(ds, 0.0)


def test_progress_gif_has_one_frame_per_grid_with_its_step(tmp_path):
    for step, shade in ((500, 0), (1000, 255)):
        Image.fromarray(np.full((40, 40), shade, np.uint8)).save(tmp_path / f"step_{step:07d}.png")
    out = tmp_path / "progress.gif"
    assert reporting.save_progress_gif(str(tmp_path), str(out)) == 2
    with Image.open(out) as gif:
        assert gif.n_frames == 2 and gif.info.get("loop") == 0
        frames = []
        for i in range(2):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("L")))
    assert frames[0].shape == (56, 40), "a 16-pixel banner above the grid"
    assert frames[0][16:].mean() < 10 and frames[1][16:].mean() > 245, "the grids in step order"
    assert (frames[0][:16] < 128).any() and not np.array_equal(frames[0][:16], frames[1][:16]), \
        "each banner has its own step written on it"
    os.makedirs(tmp_path / "empty")
    assert reporting.save_progress_gif(str(tmp_path / "empty"), str(tmp_path / "empty.gif")) == 0
    assert not os.path.exists(tmp_path / "empty.gif")


@needs_mnist
def test_judge_metrics_tell_real_digits_from_noise():
    from training.digit_metrics import DigitMetrics
    metrics = DigitMetrics(reference=2000)
    real = data.to_unit_range(data.load_mnist(split="train").images[:500]).numpy()
    noise = np.random.default_rng(0).uniform(-1, 1, real.shape).astype(np.float32)
    good, bad = metrics(real), metrics(noise, requested=np.zeros(500))
    assert good["judge_confident"] > 0.9 and good["judge_fd"] < bad["judge_fd"] / 10
    assert sum(good[f"hist_{d}"] for d in range(10)) == pytest.approx(1.0)
    assert min(good[f"hist_{d}"] for d in range(10)) > 0.05, "500 training digits cover every class"
    assert "judge_requested" in bad and "judge_requested" not in good


@needs_mnist
def test_compare_trains_every_combination_reports_every_metric_and_resumes(tmp_path, capsys):
    out = str(tmp_path / "cmp")
    assert compare.main([*TINY, "--steps", "4", "--archs", "dcgan,acgan", "--out", out]) == 0
    names = ["dcgan-conv-share0.002-seed0", "dcgan-capsule-share0.002-seed0",
             "acgan-conv-share0.002-seed0", "acgan-capsule-share0.002-seed0"]
    for name in names:
        run = os.path.join(out, "runs", name)
        metrics = rows(os.path.join(run, "metrics.csv"))
        assert [int(r["step"]) for r in metrics] == [2, 4]
        for column in ("train_seconds", "d_loss", "g_loss", "d_acc", "judge_confident", "judge_fd", "hist_9"):
            assert all(np.isfinite(float(r[column])) for r in metrics), (name, column)
        assert ("judge_requested" in metrics[0]) == name.startswith("acgan")
        with Image.open(os.path.join(run, "progress.gif")) as gif:
            assert gif.n_frames == 2
    report = read(os.path.join(out, "report.md"))
    for metric in compare.PLOTS:
        assert os.path.getsize(os.path.join(out, "plots", f"{metric}.png")) > 1000
        assert f"plots/{metric}.png" in report
    summary = json.loads(read(os.path.join(out, "summary.json")))
    assert {(r["arch"], r["d"]) for r in summary["rows"]} == {("dcgan", "conv"), ("dcgan", "capsule"),
                                                             ("acgan", "conv"), ("acgan", "capsule")}
    params = {r["d"]: r["d_params"] for r in summary["rows"] if r["arch"] == "dcgan"}
    assert params["conv"] != params["capsule"] and min(params.values()) > 1000
    assert all(r["seconds_per_step"][0] > 0 and np.isfinite(r["fd"][0]) for r in summary["rows"])
    assert summary["floor_fd"] < min(r["fd"][0] for r in summary["rows"]), "real digits beat 4 steps of training"
    for name in names:
        assert f"runs/{name}/progress.gif" in report

    # an interrupted comparison: one run stopped after its first checkpoint
    cut = os.path.join(out, "runs", "dcgan-conv-share0.002-seed0")
    state = os.path.join(cut, "checkpoint", "state.json")
    assert json.loads(read(state))["step"] == 4
    capsys.readouterr()
    assert compare.main([*TINY, "--steps", "6", "--archs", "dcgan", "--d", "conv", "--out", out]) == 0
    assert "resuming at step 4" in capsys.readouterr().out
    metrics = rows(os.path.join(cut, "metrics.csv"))
    assert [int(r["step"]) for r in metrics] == [2, 4, 6]
    seconds = [float(r["train_seconds"]) for r in metrics]
    assert seconds == sorted(seconds), "training time carries on across the resume"
    assert compare.main([*TINY, "--steps", "6", "--archs", "dcgan", "--d", "conv", "--out", out]) == 0
    said = capsys.readouterr().out
    assert "training" not in said and "resuming" not in said, "a finished comparison trains nothing"

    # archived without weights, then copied to a new machine's comparison folder: nothing to redo
    dest, moved = str(tmp_path / "archive"), str(tmp_path / "elsewhere")
    assert compare.main([*TINY, "--steps", "6", "--archs", "dcgan", "--d", "conv", "--out", out, "--archive", dest]) == 0
    assert not any(f.endswith(".h5") for _, _, files in os.walk(dest) for f in files)
    assert "plots/judge_fd.png" in read(os.path.join(dest, "report.md"))
    shutil.copytree(dest, moved)
    capsys.readouterr()
    assert compare.main([*TINY, "--steps", "6", "--archs", "dcgan", "--d", "conv", "--out", moved]) == 0
    assert "training" not in capsys.readouterr().out


def test_compare_refuses_bad_settings(capsys):
    for bad in (["--archs", "dcgan,vae"], ["--data-share", "0,1"], ["--d", "mlp"]):
        with pytest.raises(SystemExit):
            compare.parse_args(["--steps", "4", "--out", "x", *bad])
