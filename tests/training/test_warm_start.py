"""Starting a run from an exported model: the weights come back exactly."""
import numpy as np
import pytest
import tensorflow as tf

from tests.training.test_train_export import make_folder, run_train
from training import checkpoint, data, export, train, warm_start
from training.gans import build_gan


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A 3-step run of `arch`, exported; returns (run GAN, model folder, tmp path)."""
    def make(arch):
        tmp = tmp_path_factory.mktemp(arch)
        folder, out = make_folder(tmp), tmp / "run"
        gan = train.train(train.parse_args([
            "--dataset", f"folder:{folder}", "--steps", "3", "--out", str(out), "--size", "16", "--batch", "4",
            "--quiet", "--latent", "8", "--arch", arch]))
        assert export.main([str(out), "--name", "toy", "--models-dir", str(tmp / "models")]) == 0
        return gan, tmp / "models" / "toy", tmp
    return make


@pytest.mark.parametrize("arch", ["dcgan", "capsule"])
def test_init_from_export_restores_g_and_d(exported, arch):
    gan, model_dir, _ = exported(arch)
    cfg, steps, _ = warm_start.read_manifest(str(model_dir))
    assert steps == 3 and cfg.arch == arch
    fresh = build_gan(cfg)
    z = tf.random.uniform([4, cfg.g_input_dim], -1, 1)
    before = fresh.ema_generator(z, training=False).numpy()
    warm_start.init_from_export(fresh, str(model_dir))
    want = gan.ema_generator(z, training=False).numpy()
    assert np.abs(before - want).max() > 1e-3, "a fresh G must differ, or the test proves nothing"
    np.testing.assert_allclose(fresh.ema_generator(z, training=False).numpy(), want, atol=1e-6)
    np.testing.assert_allclose(fresh.generator(z, training=False).numpy(), want, atol=1e-6)
    np.testing.assert_allclose(fresh.d_logit(want).numpy(), gan.d_logit(want).numpy(), atol=1e-5)


def test_a_new_run_counts_on_from_the_exported_model(exported):
    _, model_dir, tmp = exported("dcgan")
    folder, out = tmp / "imgs", tmp / "again"
    assert run_train(folder, out, 5, "--init-from", str(model_dir)) == 0
    assert checkpoint.read_state(str(out))[0] == 5
    rows = (out / "log.csv").read_text().strip().splitlines()
    assert [int(r.split(",")[0]) for r in rows[1:]] == [4, 5]


def test_init_from_with_d_filters_trains_the_exported_g_against_a_new_d(exported, monkeypatch):
    gan, model_dir, tmp = exported("dcgan")
    loaded = {}

    def spy(fresh, folder, with_discriminator=True):
        init_from_export(fresh, folder, with_discriminator)
        z = tf.random.uniform([4, fresh.cfg.g_input_dim], -1, 1)
        loaded["g"] = np.abs(fresh.ema_generator(z, training=False).numpy()
                             - gan.ema_generator(z, training=False).numpy()).max()
        loaded["with_d"] = with_discriminator

    init_from_export = warm_start.init_from_export
    monkeypatch.setattr(warm_start, "init_from_export", spy)
    out = tmp / "new-d"
    assert run_train(tmp / "imgs", out, 5, "--init-from", str(model_dir), "--d-filters", "8,16,32",
                     "--dropout", "0", "--r1", "1") == 0
    assert loaded == {"g": pytest.approx(0, abs=1e-6), "with_d": False}
    step, cfg, args = checkpoint.read_state(str(out))
    assert step == 5 and cfg.d_filters == (8, 16, 32) and cfg.dropout == 0.0 and args["r1"] == 1.0


def test_init_from_refuses_a_mismatch(exported, tmp_path, capsys):
    _, model_dir, tmp = exported("dcgan")
    assert run_train(tmp / "imgs", tmp_path / "x", 5, "--init-from", str(model_dir), "--arch", "wgan-gp") == 2
    assert "is a dcgan model, not wgan-gp" in capsys.readouterr().err
    assert run_train(tmp / "imgs", tmp_path / "y", 5, "--init-from", str(tmp_path / "nothing")) == 2
    assert "no exported model" in capsys.readouterr().err


def labelled(monkeypatch, classes=3):
    """Make training.train see a small labelled 16x16 RGB dataset (the shape of make_folder's), as it sees MNIST."""
    rng = np.random.default_rng(0)
    ds = data.Dataset("digits", rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8),
                      rng.integers(0, classes, 12).astype(np.int32), num_classes=classes)
    monkeypatch.setattr(train.data, "load_dataset", lambda *a, **k: ds)


def test_class_entropy_gives_a_new_d_a_class_head_and_resumes(exported, monkeypatch, tmp_path, capsys):
    _, model_dir, tmp = exported("dcgan")
    assert run_train(tmp / "imgs", tmp_path / "unlabelled", 2, "--class-entropy", "1") == 2
    assert "needs a labelled dataset" in capsys.readouterr().err
    assert run_train(tmp / "imgs", tmp_path / "plain", 2) == 0
    labelled(monkeypatch)
    assert run_train(tmp / "imgs", tmp_path / "plain", 4, "--resume", "--class-entropy", "1") == 2
    assert "--init-from" in capsys.readouterr().err, "a run whose D has no head is pointed to a warm start"

    out = tmp_path / "warm"
    assert run_train(tmp / "imgs", out, 5, "--init-from", str(model_dir), "--class-entropy", "1") == 0
    step, cfg, args = checkpoint.read_state(str(out))
    assert (step, cfg.d_class_head, args["class_entropy"]) == (5, 3, 1.0)
    assert run_train(tmp / "imgs", out, 7, "--resume", "--class-entropy", "0.5") == 0
    assert checkpoint.read_state(str(out))[2]["class_entropy"] == 0.5
    models = tmp_path / "models"
    assert export.main([str(out), "--name", "head", "--models-dir", str(models)]) == 0
    again = tmp_path / "again"
    assert run_train(tmp / "imgs", again, 9, "--init-from", str(models / "head"), "--class-entropy", "1") == 0
    assert checkpoint.read_state(str(again))[1].d_class_head == 3
