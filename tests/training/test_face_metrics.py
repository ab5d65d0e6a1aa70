"""The face metrics of training.evaluate: the Fréchet distance, the committed
feature network, and projection PSNR."""
import importlib
import os

import numpy as np
import pytest
import tensorflow as tf

from app.engine.model import load_model
from tests.conftest import DATA_DIR, needs_shared_data
from training import data, evaluate, face_features


def test_frechet_distance_is_zero_for_one_set_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(600, 8))
    b = rng.normal(size=(600, 8))
    assert face_features.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    same = face_features.frechet_distance(a, b)
    shifted = face_features.frechet_distance(a, b + 0.5)
    wider = face_features.frechet_distance(a, b * 2.0)
    assert same < 0.2 and same + 1.5 < shifted < same + 3.0 and wider > 2.0   # 8 dims x 0.5^2 = 2


def test_the_feature_network_is_committed_and_versioned():
    path = face_features.DEFAULT_PATH
    assert os.path.exists(path) and f"_v{face_features.VERSION}." in os.path.basename(path)
    net = face_features.load_features()
    x = np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    assert face_features.embed(net, x).shape == (4, face_features.FEATURES)


@needs_shared_data
def test_the_features_tell_real_faces_from_noise_and_blur():
    import cv2

    faces = data.held_out_samples("faces", DATA_DIR, 300)
    net = face_features.load_features()
    real = face_features.embed(net, faces)
    other = face_features.embed(net, data.held_out_samples("faces", DATA_DIR, 500)[300:])
    blurred = face_features.embed(net, np.stack([cv2.GaussianBlur(f, (0, 0), 2.0) for f in faces[:200]]))
    same = face_features.frechet_distance(real[:200], other)
    assert face_features.frechet_distance(blurred, other) > 2 * same, "blurry faces are far from sharp ones"


def test_projection_recovers_the_generators_own_image(tiny_models):
    model = load_model(tiny_models[0], "tiny")
    z = tf.random.uniform([2, model.latent_dim], -1, 1, seed=1)
    own = model.generate(z)[0].numpy()
    noise = np.random.default_rng(0).uniform(-1, 1, own.shape).astype(np.float32)
    scores = evaluate.project(model, np.concatenate([own, noise]), restarts=4, steps=150, chunk=2)
    assert scores[:2].min() > 30, "G's own images are within its reach"
    assert scores[2:].max() < scores[:2].min() - 10, "noise is not"


@needs_shared_data
def test_a_face_run_records_the_frechet_distance_as_it_trains(tmp_path):
    """--metrics-every on faces: metrics.csv gets the distance of the samples to
    faces64_val, the figure training.evaluate reports (held-out faces score ~0)."""
    import csv

    from training import train
    reader = face_features.FaceMetrics(DATA_DIR)
    column = reader.COLUMNS[0]
    held = data.held_out_samples("faces", DATA_DIR, 500)
    assert reader(held)[column] == pytest.approx(0.0, abs=1e-6)
    out = tmp_path / "run"
    assert train.main(["--dataset", "faces", "--data-dir", DATA_DIR, "--steps", "2", "--batch", "4",
                       "--g-start-filters", "8", "--g-filters", "8,8,8", "--d-filters", "8,8,8",
                       "--metrics-every", "1", "--out", str(out), "--quiet"]) == 0
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [1, 2]
    fds = [float(r[column]) for r in rows]
    assert all(np.isfinite(fds)) and min(fds) > 10 * reader(held[:250])[column], "an untrained G is far off"


@needs_shared_data
def test_a_face_run_keeps_its_lowest_fd_step_and_exports_it(tmp_path, monkeypatch):
    """FD swings from row to row: best/ holds the checkpoint of the lowest row so far, a
    resumed run keeps comparing against it, and `export --checkpoint best` exports it;
    `--best-from` restricts it to the rows from a step on."""
    import json

    from training import checkpoint, export, train
    swings = iter([3.0, 1.0, 2.0, 1.5, 1.2, 1.9,    # rows 1-3, 4-5 after a resume, then 6: the best is step 2
                   0.5, 1.4, 1.3])                  # rows 7-9, with --best-from 8
    monkeypatch.setattr(face_features.FaceMetrics, "distance", lambda self, images: next(swings))
    out, models = tmp_path / "run", tmp_path / "models"
    run = ["--dataset", "faces", "--data-dir", DATA_DIR, "--batch", "4", "--metrics-every", "1",
           "--out", str(out), "--quiet"]
    assert train.main([*run, "--g-start-filters", "8", "--g-filters", "8,8,8", "--d-filters", "8,8,8",
                       "--steps", "3"]) == 0
    assert train.main([*run, "--steps", "5", "--resume"]) == 0
    best = checkpoint.read_state_json(str(out), checkpoint.BEST_DIR)
    assert best["step"] == 2 and best["metric"] == {face_features.FaceMetrics.BEST: 1.0}
    def read(path):
        with open(path) as f:
            return json.load(f)

    for which, step in (("best", 2), ("last", 5)):
        assert export.main([str(out), "--name", which, "--models-dir", str(models), "--checkpoint", which]) == 0
        training = read(models / which / "manifest.json")["training"]
        assert training["steps"] == step and training["checkpoint"] == which
    assert read(models / "best" / "manifest.json")["training"]["metric"] == {face_features.FaceMetrics.BEST: 1.0}
    # a best past the checkpoint a run resumes from belongs to a dropped timeline: not compared against
    stale = read(out / checkpoint.BEST_DIR / "state.json")
    with open(out / checkpoint.BEST_DIR / "state.json", "w") as f:
        json.dump({**stale, "step": 50}, f)
    assert train.main([*run, "--steps", "6", "--resume"]) == 0
    assert checkpoint.read_state_json(str(out), checkpoint.BEST_DIR)["step"] == 6
    # --best-from: only rows from that step on count, and an earlier best/ is not compared against
    assert train.main([*run, "--steps", "9", "--resume", "--best-from", "8"]) == 0
    best = checkpoint.read_state_json(str(out), checkpoint.BEST_DIR)
    assert best["step"] == 9 and best["metric"] == {face_features.FaceMetrics.BEST: 1.3}, \
        "step 7's lower row is before --best-from; 1.3 beats step 8's 1.4"


@pytest.mark.parametrize("module", ["training.face_features", "training.judge"])
def test_retraining_a_committed_reference_network_needs_a_new_place_or_force(module, capsys):
    """Every FD or judge figure was computed with the committed network: a retrain that
    silently replaced it would make them all incomparable."""
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2 and "exists" in capsys.readouterr().err
