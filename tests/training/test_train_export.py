import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from app.engine.model import load_model
from training import checkpoint, export, train


def make_folder(tmp_path, n=12):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def run_train(folder, out, steps, *extra):
    return train.main(["--dataset", f"folder:{folder}", "--steps", str(steps), "--out", str(out), "--size", "16",
                       "--batch", "4", "--sample-every", "2", "--ckpt-every", "2", "--quiet", "--latent", "8", *extra])


def train_two_steps(tmp_path):
    """A toy GAN (16x16 RGB, 8-d latent) trained 2 steps on make_folder's images:
    (the GAN, its run folder)."""
    out = tmp_path / "run"
    gan = train.train(train.parse_args([
        "--dataset", f"folder:{make_folder(tmp_path)}", "--steps", "2", "--out", str(out), "--size", "16",
        "--batch", "4", "--quiet", "--latent", "8"]))
    return gan, out


def test_resume_continues_the_step_count(tmp_path):
    folder, out = make_folder(tmp_path), tmp_path / "run"
    assert run_train(folder, out, 2) == 0
    assert checkpoint.read_state(str(out)).step == 2
    assert run_train(folder, out, 2) == 2, "refuses to overwrite a run without --resume"
    assert run_train(folder, out, 4, "--resume") == 0
    assert run_train(folder, out, 4, "--resume") == 2, "--steps is the total: a run at 4 has nothing to train"
    step, cfg, args, _ = checkpoint.read_state(str(out))
    assert step == 4 and cfg.latent_dim == 8 and args["dataset"].startswith("folder:")
    rows = (out / "log.csv").read_text().strip().splitlines()
    assert rows[0] == "step,d_loss,g_loss,d_acc"
    assert [int(r.split(",")[0]) for r in rows[1:]] == [1, 2, 3, 4]
    assert sorted(os.listdir(out / "samples")) == ["step_0000002.png", "step_0000004.png"]
    with Image.open(out / "progress.gif") as gif:
        assert gif.n_frames == 2, "progress.gif animates every grid of the run, the resumed part too"
    assert (out / "losses.png").exists() and os.listdir(out / "tensorboard")


def test_resume_drops_log_rows_after_the_checkpoint(tmp_path):
    folder, out = make_folder(tmp_path), tmp_path / "run"
    assert run_train(folder, out, 2) == 0
    with open(out / "log.csv", "a") as f:      # a run that logged step 3, then died before its checkpoint
        f.write("3,1.0,1.0,0.5\n")
    assert run_train(folder, out, 4, "--resume") == 0
    rows = (out / "log.csv").read_text().strip().splitlines()
    assert [int(r.split(",")[0]) for r in rows[1:]] == [1, 2, 3, 4]
    assert rows[3] != "3,1.0,1.0,0.5"


def test_d_filters_and_dropout_shape_a_new_run_only(tmp_path):
    folder, out = make_folder(tmp_path), tmp_path / "run"
    assert run_train(folder, out, 2, "--d-filters", "8,16,32", "--dropout", "0") == 0
    cfg = checkpoint.read_state(str(out)).config
    assert cfg.d_filters == (8, 16, 32) and cfg.dropout == 0.0
    assert run_train(folder, out, 4, "--resume", "--d-filters", "8,16") == 2, "a resumed run keeps its nets"
    with pytest.raises(SystemExit):
        train.parse_args(["--dataset", "mnist", "--steps", "1", "--out", "x", "--d-filters", "8,a"])


def test_g_filters_shape_a_new_run_only(tmp_path, tiny_models):
    folder, out = make_folder(tmp_path), tmp_path / "run"
    assert run_train(folder, out, 2, "--g-filters", "12,6", "--g-start-filters", "24") == 0
    cfg = checkpoint.read_state(str(out)).config
    assert cfg.g_filters == (12, 6) and cfg.g_start_filters == 24
    assert run_train(folder, out, 4, "--resume", "--g-filters", "8,8") == 2, "a resumed run keeps its nets"
    models_dir, _ = tiny_models
    assert run_train(folder, tmp_path / "warm", 2, "--init-from", os.path.join(models_dir, "tiny"),
                     "--g-start-filters", "8") == 2, "a warm start keeps the exported G"


def test_bfloat16_run_resumes_and_exports_a_float32_graph(tmp_path):
    folder, out = make_folder(tmp_path), tmp_path / "run"
    assert run_train(folder, out, 2, "--precision", "bfloat16") == 0
    assert keras.mixed_precision.global_policy().name == "float32", "the policy is reset after the run is built"
    gan = train.train(train.parse_args([
        "--dataset", f"folder:{folder}", "--steps", "4", "--out", str(out), "--size", "16", "--batch", "4",
        "--quiet", "--latent", "8", "--resume", "--precision", "bfloat16"]))
    assert checkpoint.read_state(str(out)).step == 4
    assert gan.generator.layers[2].compute_dtype == "bfloat16"
    models = tmp_path / "models"
    assert export.main([str(out), "--name", "toy", "--models-dir", str(models)]) == 0
    graph = tf.compat.v1.GraphDef()
    graph.ParseFromString((models / "toy" / "generator.pb").read_bytes())
    assert {n.attr["T"].type for n in graph.node if "T" in n.attr} <= {tf.float32.as_datatype_enum,
                                                                         tf.int32.as_datatype_enum}
    z = tf.random.uniform([3, 8], -1, 1)
    frozen = load_model(str(models), "toy").generate(z)[0].numpy()
    assert frozen.dtype == np.float32
    # the frozen graph computes in float32 what the bfloat16 nets approximated
    np.testing.assert_allclose(frozen, gan.ema_generator(z, training=False).numpy(), atol=0.05)


def test_resume_restores_weights_and_optimizer_state(tmp_path):
    gan, out = train_two_steps(tmp_path)
    cfg = checkpoint.read_state(str(out)).config
    from training.gans import build_gan
    again = build_gan(cfg)
    checkpoint.restore(str(out), again)
    for a, b in zip(gan.generator.weights + gan.discriminator.weights,
                    again.generator.weights + again.discriminator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(again.g_optimizer.iterations.numpy()) == 2
    annealed = build_gan(cfg, lr=1e-5, d_lr=4e-5)
    checkpoint.restore(str(out), annealed)
    assert int(annealed.d_optimizer.iterations.numpy()) == 2
    assert float(annealed.g_optimizer.learning_rate.numpy()) == pytest.approx(1e-5), "--resume --lr must win"
    assert float(annealed.d_optimizer.learning_rate.numpy()) == pytest.approx(4e-5)


def test_export_round_trip(tmp_path):
    gan, out = train_two_steps(tmp_path)
    models = tmp_path / "models"
    assert export.main([str(out), "--name", "toy", "--models-dir", str(models)]) == 0
    manifest = json.loads((models / "toy" / "manifest.json").read_text())
    assert manifest["training"]["steps"] == 2 and manifest["latent_dim"] == 8
    assert manifest["training"]["precision"] == "float32" and manifest["training"]["class_entropy"] == 0.0
    assert (models / "toy" / "grid.png").exists() and (models / "toy" / "losses.png").exists()
    assert manifest["refine_steps"] == 0, "a new G starts without the engine's second stage"
    model = load_model(str(models), "toy")
    z = tf.random.uniform([3, 8], -1, 1)
    np.testing.assert_allclose(model.generate(z)[0].numpy(), gan.ema_generator(z, training=False).numpy(), atol=1e-5)
    prob, logit = model.discriminate(model.generate(z)[0])
    np.testing.assert_allclose(logit.numpy(), gan.d_logit(model.generate(z)[0]).numpy(), atol=1e-5)
    assert set(manifest["weights"]) == {"generator", "discriminator"}
    assert export.main([str(out), "--name", "slim", "--models-dir", str(models), "--graphs-only"]) == 0
    slim = json.loads((models / "slim" / "manifest.json").read_text())
    assert "weights" not in slim and not list((models / "slim").glob("*.weights.h5"))
    np.testing.assert_allclose(load_model(str(models), "slim").generate(z)[0].numpy(),
                               model.generate(z)[0].numpy(), atol=1e-6)


@pytest.mark.parametrize("name", ["../evil", "_tiny", "caf\u00e9", "x" * 65])
def test_export_refuses_the_names_the_engine_refuses(tmp_path, name):
    """One rule: a name export writes is a name the server loads (before, "_tiny" and
    "caf\u00e9" were exported and then silently skipped by the server)."""
    with pytest.raises(SystemExit):
        export.main([str(tmp_path), "--name", name])
    with pytest.raises(ValueError, match="bad model name"):
        export.export(str(tmp_path), name, models_dir=str(tmp_path / "models"))


@pytest.mark.parametrize("arch", ["capsule", "wgan-gp"])
def test_export_records_the_perceptual_term(tmp_path, arch):
    from training.config import ModelConfig
    from training.gans import build_gan
    cfg = ModelConfig(arch=arch, image_shape=(16, 16, 1), latent_dim=8, g_filters=(8, 8), d_filters=(8, 8))
    gan = build_gan(cfg)
    checkpoint.save(str(tmp_path / "run"), gan, 0, {"dataset": "generated"})
    export.export(str(tmp_path / "run"), "m", models_dir=str(tmp_path / "models"), samples=False)
    model = load_model(str(tmp_path / "models"), "m")
    expected = {"capsule": ("margin", "log1m_sigmoid"), "wgan-gp": ("wgan-gp", "neg_critic")}[arch]
    assert (model.manifest.adversarial_loss, model.perceptual) == expected
    x = tf.random.uniform([2, 16, 16, 1], -1, 1)
    prob, logit = (t.numpy() for t in model.discriminate(x))
    if arch == "capsule":
        np.testing.assert_allclose(prob, gan.discriminator(x)[:, 0].numpy(), atol=1e-5)
        np.testing.assert_allclose(prob, 1 / (1 + np.exp(-logit)), atol=1e-4)


def test_resnet_g_and_diffaugment_train_resume_and_export(tmp_path):
    folder, out = make_folder(tmp_path), tmp_path / "run"
    assert run_train(folder, out, 2, "--g-arch", "resnet", "--diffaugment", "color,translation,cutout") == 0
    _, cfg, saved, _ = checkpoint.read_state(str(out))
    assert cfg.g_arch == "resnet" and saved["diffaugment"] == "color,translation,cutout"
    assert run_train(folder, out, 4, "--resume", "--diffaugment", "color,translation,cutout") == 0
    assert run_train(folder, out, 6, "--resume", "--g-arch", "dcgan") == 2, "a resumed run keeps its G"
    assert run_train(folder, tmp_path / "bad", 2, "--diffaugment", "blur") == 2
    models = tmp_path / "models"
    assert export.main([str(out), "--name", "res", "--models-dir", str(models)]) == 0
    manifest = json.loads((models / "res" / "manifest.json").read_text())
    assert manifest["training"]["config"]["g_arch"] == "resnet"
    assert manifest["training"]["diffaugment"] == "color,translation,cutout"
    model = load_model(str(models), "res")
    image = model.generate(tf.random.uniform([2, 8], -1, 1))[0].numpy()
    assert image.shape == (2, 16, 16, 3) and np.abs(image).max() <= 1
    assert model.split is None, "the skip paths go around G's first ReLU: no second stage, but it loads"


@pytest.mark.parametrize("arch", ["wgan-gp", "acgan"])
def test_a_capsule_d_model_exports_and_loads(tmp_path, arch):
    """Export round trip for the capsule D under another trainer: the frozen D scores
    images as the Keras D does, and the manifest keeps the D kind."""
    from training.config import ModelConfig
    from training.gans import build_gan
    cfg = ModelConfig(arch=arch, image_shape=(16, 16, 1), latent_dim=8, g_filters=(8, 8), d_filters=(8, 8),
                      d_arch="capsule", num_classes=3 if arch == "acgan" else 0)
    gan = build_gan(cfg)
    checkpoint.save(str(tmp_path / "run"), gan, 0, {"dataset": "generated"})
    export.export(str(tmp_path / "run"), "m", models_dir=str(tmp_path / "models"), samples=False)
    model = load_model(str(tmp_path / "models"), "m")
    assert model.manifest.training["config"]["d_arch"] == "capsule"
    x = tf.random.uniform([2, 16, 16, 1], -1, 1)
    _, logit = model.discriminate(x)
    np.testing.assert_allclose(logit.numpy(), gan.d_logit(x).numpy(), atol=1e-4)


def test_half_weights_halve_the_graphs_keep_the_outputs_and_warm_start_from_them(tmp_path):
    from training import warm_start
    from training.gans import build_gan
    gan, out = train_two_steps(tmp_path)
    models = tmp_path / "models"
    assert export.main([str(out), "--name", "full", "--models-dir", str(models), "--graphs-only"]) == 0
    assert export.main([str(out), "--name", "half", "--models-dir", str(models), "--graphs-only",
                        "--half-weights"]) == 0
    for graph in ("generator.pb", "discriminator.pb"):
        ratio = (models / "half" / graph).stat().st_size / (models / "full" / graph).stat().st_size
        assert 0.45 < ratio < 0.6, (graph, ratio)
    manifest = json.loads((models / "half" / "manifest.json").read_text())
    assert {g.get("stored_weights") for g in manifest["graphs"].values()} == {"float16"}
    assert "stored_weights" not in json.loads((models / "full" / "manifest.json").read_text())["graphs"]["generator"]
    full, half = load_model(str(models), "full"), load_model(str(models), "half")
    z = tf.random.uniform([5, 8], -1, 1)
    images = half.generate(z)[0].numpy()
    assert images.dtype == np.float32
    gap = np.abs(images - full.generate(z)[0].numpy()).max()
    assert 0 < gap < 1e-2, "float16 storage rounds the weights, and only a little"
    x = tf.constant(images)
    np.testing.assert_allclose(half.discriminate(x)[1].numpy(), full.discriminate(x)[1].numpy(), atol=2e-2)
    with tf.GradientTape() as tape:      # the engine's search: gradients reach z through the casts
        tape.watch(z)
        loss = tf.reduce_sum(half.discriminate(half.generate(z)[0])[1])
    assert np.abs(tape.gradient(loss, z).numpy()).sum() > 0
    cfg, _, _ = warm_start.read_manifest(str(models / "half"))   # --init-from reads the float16 weights back
    fresh = build_gan(cfg)
    warm_start.init_from_export(fresh, str(models / "half"))
    np.testing.assert_allclose(fresh.ema_generator(z, training=False).numpy(),
                               gan.ema_generator(z, training=False).numpy(), atol=1e-2)


def test_shrink_halves_the_chosen_graphs_of_an_exported_model_in_place(tmp_path):
    from training import shrink
    gan, out = train_two_steps(tmp_path)
    models = tmp_path / "models"
    assert export.main([str(out), "--name", "toy", "--models-dir", str(models), "--graphs-only"]) == 0
    folder = models / "toy"
    z = tf.random.uniform([4, 8], -1, 1)
    before_images = load_model(str(models), "toy").generate(z)[0].numpy()
    g_size, d_size = ((folder / f"{role}.pb").stat().st_size for role in ("generator", "discriminator"))
    assert shrink.main([str(folder), "--roles", "generator"]) == 0
    assert 0.45 < (folder / "generator.pb").stat().st_size / g_size < 0.6
    sizes = shrink.shrink(str(folder), ["generator"])
    assert sizes == {}, "a graph already stored as float16 is left alone"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["graphs"]["generator"]["stored_weights"] == "float16"
    assert "stored_weights" not in manifest["graphs"]["discriminator"]
    assert (folder / "discriminator.pb").stat().st_size == d_size
    after_images = load_model(str(models), "toy").generate(z)[0].numpy()
    assert 0 < np.abs(after_images - before_images).max() < 1e-2
    assert shrink.main([str(folder), "--roles", "encoder"]) == 2, "a graph the model lacks is refused"


def test_export_sets_the_second_stage_it_is_told_and_refuses_a_negative_one(tmp_path):
    _, out = train_two_steps(tmp_path)
    models = tmp_path / "models"
    assert export.main([str(out), "--name", "toy", "--models-dir", str(models), "--graphs-only",
                        "--refine-steps", "25"]) == 0
    assert load_model(str(models), "toy").manifest.refine_steps == 25
    with pytest.raises(SystemExit):
        export.main([str(out), "--name", "toy", "--models-dir", str(models), "--refine-steps", "-1"])
