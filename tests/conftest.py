"""Fixtures shared by every test package: tiny randomly initialised GANs that go
through the real export path, and the shared datasets when they are present."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from app.engine import manifest as model_format  # noqa: E402
from training import checkpoint, export  # noqa: E402
from training.config import ModelConfig  # noqa: E402
from training.data import default_data_dir  # noqa: E402
from training.gans import build_gan  # noqa: E402

DATA_DIR = default_data_dir()
needs_shared_data = pytest.mark.skipif(
    not os.path.exists(os.path.join(DATA_DIR, "faces64_val.npz")),
    reason=f"shared datasets not found in {DATA_DIR} (clone with ../shared beside it, or set REGEN_DATA)")

TINY_RGB = ModelConfig(arch="dcgan", image_shape=(16, 16, 3), latent_dim=8,
                       g_filters=(16, 8), d_filters=(8, 16))
TINY_GRAY = ModelConfig(arch="dcgan", image_shape=(16, 16, 1), latent_dim=8,
                        g_filters=(16, 8), d_filters=(8, 16))


def make_tiny_model(models_dir, run_dir, name, cfg, seed=0):
    """Build a random GAN, checkpoint it and export it with training.export."""
    keras.utils.set_random_seed(seed)
    gan = build_gan(cfg)
    checkpoint.save(run_dir, gan, 0, {"dataset": "generated", "batch": 4})
    export.export(run_dir, name, title=f"tiny {name}", models_dir=str(models_dir), samples=False)
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (3, *cfg.image_shape), dtype=np.uint8)
    names = export.write_samples(images, os.path.join(models_dir, name, "samples"))
    folder = os.path.join(models_dir, name)
    manifest = model_format.read(folder)
    manifest.samples = names
    model_format.write(folder, manifest)
    return gan


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """(models_dir, {name: keras GAN}) with a tiny RGB model 'tiny' and a gray one 'tiny-gray'."""
    root = tmp_path_factory.mktemp("tiny")
    models_dir = root / "models"
    gans = {"tiny": make_tiny_model(models_dir, str(root / "run-rgb"), "tiny", TINY_RGB),
            "tiny-gray": make_tiny_model(models_dir, str(root / "run-gray"), "tiny-gray", TINY_GRAY, 1)}
    return str(models_dir), gans


def copy_tiny_with_images(models_dir, root, name, n):
    """Copy the tiny RGB model to root/models/name and write n random 16x16 PNGs to
    root/imgs; returns (the new models dir, the image folder)."""
    import shutil

    from PIL import Image

    models = root / "models"
    shutil.copytree(os.path.join(models_dir, "tiny"), models / name)
    folder = root / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return models, folder


@pytest.fixture(scope="session")
def tiny_encoder_models(tiny_models, tmp_path_factory):
    """models_dir holding 'tiny-enc': the tiny RGB model plus an encoder trained for
    two steps on generated images, exported with training.export."""
    from training import train_encoder

    root = tmp_path_factory.mktemp("tiny-enc")
    models_dir, folder = copy_tiny_with_images(tiny_models[0], root, "tiny-enc", 4)
    run = root / "run"
    assert train_encoder.main([str(models_dir / "tiny-enc"), "--dataset", f"folder:{folder}", "--steps", "2",
                               "--out", str(run), "--batch", "4", "--quiet"]) == 0
    assert export.main([str(run), "--name", "tiny-enc", "--models-dir", str(models_dir)]) == 0
    return str(models_dir)


TINY_ACGAN = ModelConfig(arch="acgan", image_shape=(16, 16, 1), latent_dim=8, num_classes=3,
                         g_filters=(16, 8), d_filters=(8, 16))
TINY_INFOGAN = ModelConfig(arch="infogan", image_shape=(16, 16, 1), latent_dim=8, num_classes=3, num_continuous=2,
                           g_filters=(16, 8), d_filters=(8, 16))


@pytest.fixture(scope="session")
def tiny_conditional_models(tmp_path_factory):
    """models_dir with 'tiny-acgan' (3 classes) and 'tiny-info' (3 classes, 2 continuous
    codes), gray 16x16, random weights, through the real export path."""
    root = tmp_path_factory.mktemp("tiny-cond")
    models_dir = root / "models"
    make_tiny_model(models_dir, str(root / "run-acgan"), "tiny-acgan", TINY_ACGAN)
    make_tiny_model(models_dir, str(root / "run-info"), "tiny-info", TINY_INFOGAN)
    return str(models_dir)
