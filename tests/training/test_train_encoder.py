import json
import os

import numpy as np
import pytest
from PIL import Image
import tensorflow as tf

from app.engine.model import load_model
from training import export, train_encoder
from training.nets.encoder import build_encoder
from training.random_masks import random_masks
from tests.conftest import copy_tiny_with_images


@pytest.fixture
def tiny_copy(tiny_models, tmp_path):
    """A private copy of the tiny RGB model, and a folder of 16x16 'real' images."""
    return copy_tiny_with_images(tiny_models[0], tmp_path, "tiny", 8)


def run(models, folder, out, steps, *extra):
    return train_encoder.main([str(models / "tiny"), "--dataset", f"folder:{folder}", "--steps", str(steps),
                               "--out", str(out), "--batch", "4", "--sample-every", "2", "--ckpt-every", "2",
                               "--quiet", *extra])


def test_training_changes_weights_stays_finite_and_resumes(tiny_copy, tmp_path):
    models, folder = tiny_copy
    out = tmp_path / "enc"
    assert run(models, folder, out, 2) == 0
    first = train_encoder.read_state(str(out))
    assert first["kind"] == "encoder" and first["step"] == 2
    weights = build_encoder((16, 16, 3), 8)
    weights.load_weights(str(out / "checkpoint" / "encoder.weights.h5"))
    before = [w.copy() for w in weights.get_weights()]
    assert run(models, folder, out, 2) == 2, "refuses to overwrite a run without --resume"
    assert run(models, folder, out, 4, "--resume") == 0
    assert train_encoder.read_state(str(out))["step"] == 4
    weights.load_weights(str(out / "checkpoint" / "encoder.weights.h5"))
    assert any(not np.allclose(a, b) for a, b in zip(before, weights.get_weights()))
    rows = (out / "log.csv").read_text().strip().splitlines()
    assert rows[0] == "step,loss,pixel_l1,z_mse"
    assert [int(r.split(",")[0]) for r in rows[1:]] == [1, 2, 3, 4]
    assert all(np.isfinite(float(v)) for r in rows[1:] for v in r.split(",")[1:])
    assert sorted(os.listdir(out / "samples")) == ["step_0000002.png", "step_0000004.png"]
    with Image.open(out / "progress.gif") as gif:
        assert gif.n_frames == 2, "progress.gif animates every grid of the run, the resumed part too"


def test_init_starts_from_another_runs_weights(tiny_copy, tmp_path):
    models, folder = tiny_copy
    assert run(models, folder, tmp_path / "old", 2) == 0
    assert run(models, folder, tmp_path / "new", 1, "--init", str(tmp_path / "old"), "--lr", "1e-12") == 0
    old, new = build_encoder((16, 16, 3), 8), build_encoder((16, 16, 3), 8)
    old.load_weights(str(tmp_path / "old" / "checkpoint" / "encoder.weights.h5"))
    new.load_weights(str(tmp_path / "new" / "checkpoint" / "encoder.weights.h5"))
    for a, b in zip(old.get_weights(), new.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert train_encoder.read_state(str(tmp_path / "new"))["step"] == 1


def test_init_starts_from_an_exported_encoder(tiny_copy, tmp_path):
    models, folder = tiny_copy
    assert run(models, folder, tmp_path / "old", 2) == 0
    assert export.main([str(tmp_path / "old"), "--name", "tiny", "--models-dir", str(models)]) == 0
    assert run(models, folder, tmp_path / "new", 1, "--init", str(models / "tiny"), "--lr", "1e-12") == 0
    old, new = build_encoder((16, 16, 3), 8), build_encoder((16, 16, 3), 8)
    old.load_weights(str(tmp_path / "old" / "checkpoint" / "encoder.weights.h5"))
    new.load_weights(str(tmp_path / "new" / "checkpoint" / "encoder.weights.h5"))
    fresh = build_encoder((16, 16, 3), 8)
    assert any(not np.allclose(a, b) for a, b in zip(old.get_weights(), fresh.get_weights()))
    for a, b in zip(old.get_weights(), new.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_export_round_trip(tiny_copy, tmp_path):
    models, folder = tiny_copy
    out = tmp_path / "enc"
    assert run(models, folder, out, 2) == 0
    assert load_model(str(models), "tiny").encode is None
    assert export.main([str(out), "--name", "tiny", "--models-dir", str(models)]) == 0
    manifest = json.loads((models / "tiny" / "manifest.json").read_text())
    assert manifest["graphs"]["encoder"]["file"] == "encoder.pb" and manifest["encoder"]["steps"] == 2
    model = load_model(str(models), "tiny")
    keras_e = build_encoder((16, 16, 3), 8)
    keras_e.load_weights(str(out / "checkpoint" / "encoder.weights.h5"))
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, (3, 16, 16, 3)).astype(np.float32)
    masks = random_masks(3, 16, rng)
    frozen = model.encode(tf.constant(images), tf.constant(masks))[0].numpy()
    expected = keras_e(train_encoder.encoder_input(images, masks), training=False).numpy()
    np.testing.assert_allclose(frozen, expected, atol=1e-5)
    assert frozen.shape == (3, 8) and np.all(np.abs(frozen) < 1)
    # the hole's pixels do not reach E: only the known ones and the mask do
    scrambled = np.where(masks > 0, images, rng.uniform(-1, 1, images.shape)).astype(np.float32)
    np.testing.assert_allclose(model.encode(tf.constant(scrambled), tf.constant(masks))[0].numpy(), frozen, atol=1e-6)


def test_export_refuses_an_encoder_of_another_generator(tiny_copy, tmp_path):
    models, folder = tiny_copy
    out = tmp_path / "enc"
    assert run(models, folder, out, 2) == 0
    with open(models / "tiny" / "generator.pb", "ab") as f:
        f.write(b"\0")   # any change of G makes the encoder stale
    assert export.main([str(out), "--name", "tiny", "--models-dir", str(models)]) == 2
    assert "encoder" not in json.loads((models / "tiny" / "manifest.json").read_text())["graphs"]
