"""Starting a run from an exported model: the weights come back exactly."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.training.test_train_export import make_folder, run_train
from training import checkpoint, data, export, train, warm_start
from training.config import ModelConfig
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


def graphs_only_copy(model_dir, tmp_path):
    """A copy of an exported model as exports before the Keras weights were: frozen graphs alone."""
    import shutil

    from app.engine import manifest as model_format
    copy = tmp_path / "graphs-only"
    shutil.copytree(model_dir, copy)
    manifest = model_format.read(str(copy))
    for name in manifest.weights.values():
        (copy / name).unlink()
    manifest.weights = None
    model_format.write(str(copy), manifest)
    return copy


@pytest.mark.parametrize("source", ["weights", "graphs"])
@pytest.mark.parametrize("arch", ["dcgan", "capsule"])
def test_init_from_export_restores_g_and_d(exported, arch, source, tmp_path, monkeypatch):
    gan, model_dir, _ = exported(arch)
    if source == "graphs":
        model_dir = graphs_only_copy(model_dir, tmp_path)
    from_graphs = []
    load_into = warm_start.load_into
    monkeypatch.setattr(warm_start, "load_into", lambda *a: from_graphs.append(a[-1]) or load_into(*a))
    cfg, steps, _ = warm_start.read_manifest(str(model_dir))
    assert steps == 3 and cfg.arch == arch
    fresh = build_gan(cfg)
    z = tf.random.uniform([4, cfg.g_input_dim], -1, 1)
    before = fresh.ema_generator(z, training=False).numpy()
    warm_start.init_from_export(fresh, str(model_dir))
    assert len(from_graphs) == (2 if source == "graphs" else 0), "Keras weights where exported, else the graphs"
    want = gan.ema_generator(z, training=False).numpy()
    assert np.abs(before - want).max() > 1e-3, "a fresh G must differ, or the test proves nothing"
    np.testing.assert_allclose(fresh.ema_generator(z, training=False).numpy(), want, atol=1e-6)
    np.testing.assert_allclose(fresh.generator(z, training=False).numpy(), want, atol=1e-6)
    np.testing.assert_allclose(fresh.d_logit(want).numpy(), gan.d_logit(want).numpy(), atol=1e-5)


def test_a_new_run_counts_on_from_the_exported_model(exported):
    _, model_dir, tmp = exported("dcgan")
    folder, out = tmp / "imgs", tmp / "again"
    assert run_train(folder, out, 5, "--init-from", str(model_dir)) == 0
    assert checkpoint.read_state(str(out)).step == 5
    rows = (out / "log.csv").read_text().strip().splitlines()
    assert [int(r.split(",")[0]) for r in rows[1:]] == [4, 5]


def test_init_from_with_d_filters_trains_the_exported_g_against_a_new_d(exported, monkeypatch):
    gan, model_dir, tmp = exported("dcgan")
    loaded = {}

    def spy(fresh, folder, with_discriminator=True):
        result = init_from_export(fresh, folder, with_discriminator)
        z = tf.random.uniform([4, fresh.cfg.g_input_dim], -1, 1)
        loaded["g"] = np.abs(fresh.ema_generator(z, training=False).numpy()
                             - gan.ema_generator(z, training=False).numpy()).max()
        loaded["with_d"] = with_discriminator
        return result

    init_from_export = warm_start.init_from_export
    monkeypatch.setattr(warm_start, "init_from_export", spy)
    out = tmp / "new-d"
    assert run_train(tmp / "imgs", out, 5, "--init-from", str(model_dir), "--d-filters", "8,16,32",
                     "--dropout", "0", "--r1", "1") == 0
    assert loaded == {"g": pytest.approx(0, abs=1e-6), "with_d": False}
    step, cfg, args, _ = checkpoint.read_state(str(out))
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
    step, cfg, args, _ = checkpoint.read_state(str(out))
    assert (step, cfg.d_class_head, args["class_entropy"]) == (5, 3, 1.0)
    assert run_train(tmp / "imgs", out, 7, "--resume", "--class-entropy", "0.5") == 0
    assert checkpoint.read_state(str(out)).args["class_entropy"] == 0.5
    models = tmp_path / "models"
    assert export.main([str(out), "--name", "head", "--models-dir", str(models)]) == 0
    again = tmp_path / "again"
    assert run_train(tmp / "imgs", again, 9, "--init-from", str(models / "head"), "--class-entropy", "1") == 0
    assert checkpoint.read_state(str(again)).config.d_class_head == 3


def export_with_class_head(exported, monkeypatch, tmp_path):
    """Train the dcgan export a little with a class-headed D on labelled data and
    export that; returns (run folder, model folder, the images folder)."""
    _, model_dir, tmp = exported("dcgan")
    labelled(monkeypatch)
    out, models = tmp_path / "head", tmp_path / "models"
    assert run_train(tmp / "imgs", out, 5, "--init-from", str(model_dir), "--class-entropy", "1") == 0
    assert export.main([str(out), "--name", "head", "--models-dir", str(models)]) == 0
    return out, models / "head", tmp / "imgs"


def test_a_class_head_comes_back_exactly_under_bfloat16(exported, monkeypatch, tmp_path):
    """The frozen D never reads its class head, so the head's kernel and bias may come
    out of the graph in either order; a bfloat16 run must still get them right."""
    out, model, _ = export_with_class_head(exported, monkeypatch, tmp_path)
    cfg = checkpoint.read_state(str(out)).config
    trained = build_gan(cfg)
    checkpoint.restore(str(out), trained, with_optimizers=False)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        fresh = build_gan(cfg)
        warm_start.init_from_export(fresh, str(model))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    for ours, theirs in zip(fresh.discriminator.weights, trained.discriminator.weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=ours.name)


def test_g_mixture_is_grafted_onto_an_exported_g(exported, monkeypatch, tmp_path, capsys):
    gan, model_dir, tmp = exported("dcgan")
    z = tf.random.uniform([4, gan.cfg.g_input_dim], -1, 1, seed=2)
    want = gan.ema_generator(z, training=False).numpy()
    grafted = {}

    def spy(fresh, folder, with_discriminator=True):
        result = init_from_export(fresh, folder, with_discriminator)
        grafted["g"] = np.abs(fresh.generator(z, training=False).numpy() - want).max()
        grafted["ema"] = np.abs(fresh.ema_generator(z, training=False).numpy() - want).max()
        return result

    init_from_export = warm_start.init_from_export
    monkeypatch.setattr(warm_start, "init_from_export", spy)
    out = tmp_path / "mix"
    assert run_train(tmp / "imgs", out, 5, "--init-from", str(model_dir), "--g-mixture", "3") == 0
    assert grafted == {"g": pytest.approx(0, abs=1e-5), "ema": pytest.approx(0, abs=1e-5)}
    assert checkpoint.read_state(str(out)).config.g_mixture == 3

    models = tmp_path / "models"
    assert export.main([str(out), "--name", "mix", "--models-dir", str(models)]) == 0
    assert run_train(tmp / "imgs", tmp_path / "again", 6, "--init-from", str(models / "mix")) == 0
    assert checkpoint.read_state(str(tmp_path / "again")).config.g_mixture == 3, "the gate stays with the G"
    assert run_train(tmp / "imgs", tmp_path / "other", 6, "--init-from", str(models / "mix"),
                     "--g-mixture", "2") == 2
    assert "cannot be changed" in capsys.readouterr().err
    assert run_train(tmp / "imgs", out, 7, "--resume", "--g-mixture", "3") == 2
    assert "a resumed run keeps its nets" in capsys.readouterr().err
    labelled(monkeypatch)
    assert run_train(tmp / "imgs", tmp_path / "cond", 2, "--arch", "acgan", "--g-mixture", "3") == 2
    assert "unconditional G" in capsys.readouterr().err


def test_a_grafted_gate_is_aligned_with_the_classes_d_reads():
    tf.keras.utils.set_random_seed(0)
    cfg = ModelConfig(arch="dcgan", image_shape=(16, 16, 3), latent_dim=8, g_filters=(16, 8), d_filters=(8, 16),
                      d_class_head=3, g_mixture=6)
    gan = build_gan(cfg)
    z = tf.random.uniform([1000, cfg.g_input_dim], -1, 1, seed=3)
    # a class head that splits G's samples along the main directions of D's features,
    # so that D reads all three classes (a head at random reads one)
    head = gan.discriminator.get_layer("class_logits")
    features = keras.Model(gan.discriminator.input, head.input)(gan.ema_generator(z, training=False)).numpy()
    directions = np.linalg.svd(features - features.mean(0), full_matrices=False)[2][:3].T
    head.set_weights([100 * directions, -100 * features.mean(0) @ directions])
    reading = np.argmax(gan.d_heads(gan.ema_generator(z, training=False), False)[1].numpy(), 1)
    majority = np.bincount(reading, minlength=3).max() / len(reading)
    assert majority < 0.6

    agreement = warm_start.align_gate(gan, samples=1000)
    gate = keras.Model(gan.generator.input, gan.generator.get_layer("mixture_softmax").output)(z).numpy()
    assert agreement > majority + 0.1
    assert np.mean(gate.argmax(1) % 3 == reading) > majority + 0.1, "component k covers class k mod 3"
    for ours, theirs in zip(gan.generator.get_layer("mixture_gate").weights,
                            gan.ema_generator.get_layer("mixture_gate").weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    cfg.g_mixture = 4
    with pytest.raises(ValueError, match="divides it"):
        warm_start.align_gate(build_gan(cfg))


def test_a_gate_grafted_by_the_cli_is_aligned(exported, monkeypatch, tmp_path, capsys):
    _, model, images = export_with_class_head(exported, monkeypatch, tmp_path)
    assert run_train(images, tmp_path / "mix", 7, "--init-from", str(model), "--g-mixture", "6",
                     "--class-entropy", "1") == 0
    assert "gate aligned with D's classes" in capsys.readouterr().err
    assert checkpoint.read_state(str(tmp_path / "mix")).config.g_mixture == 6
