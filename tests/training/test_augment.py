"""DiffAugment: what each op does to an image, that it keeps shapes and stays
differentiable, and that every trainer puts it in front of D."""
import numpy as np
import pytest
import tensorflow as tf

from training import augment
from training.config import ModelConfig
from training.gans import ARCHS, build_gan

POLICY = ("color", "translation", "cutout")


def images(batch=16, side=16, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return tf.constant(rng.uniform(-1, 1, (batch, side, side, channels)).astype(np.float32))


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name", list(augment.OPS))
def test_each_op_keeps_shape_and_dtype_and_stays_near_the_pixel_range(name, channels):
    x = images(channels=channels)
    y = augment.OPS[name](x)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert np.isfinite(y.numpy()).all()
    # colour moves values a little past [-1, 1] (as in the paper); shifts and cutout never do
    bound = 4.0 if name == "color" else 1.0
    assert np.abs(y.numpy()).max() <= bound


@pytest.mark.parametrize("name", list(augment.OPS))
def test_gradients_pass_through_every_op(name):
    x = images()
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = augment.apply_policy(x, (name,))
        loss = tf.reduce_sum(y * tf.random.normal(y.shape))
    grad = tape.gradient(loss, x)
    assert grad is not None and np.abs(grad.numpy()).sum() > 0


def test_brightness_adds_one_offset_per_image():
    x = images()
    diff = (augment.brightness(x) - x).numpy()
    per_image = diff.reshape(len(diff), -1)
    assert np.allclose(per_image, per_image[:, :1], atol=1e-6)          # the same shift everywhere in an image
    assert np.abs(per_image[:, 0]).max() <= 0.5 and per_image[:, 0].std() > 0.05   # and a new one per image


def test_saturation_keeps_grey_and_scales_colour_around_it():
    x = images()
    y = augment.saturation(x).numpy()
    grey = x.numpy().mean(3, keepdims=True)
    assert np.allclose(y.mean(3, keepdims=True), grey, atol=1e-5)       # each pixel's grey level is kept
    ratio = (y - grey) / (x.numpy() - grey)
    per_image = ratio.reshape(len(ratio), -1)
    assert np.allclose(per_image, per_image[:, :1], atol=1e-3)
    assert (per_image[:, 0] >= 0).all() and (per_image[:, 0] <= 2).all()


def test_contrast_keeps_the_mean_and_scales_the_spread():
    x = images()
    y = augment.contrast(x).numpy()
    assert np.allclose(y.mean((1, 2, 3)), x.numpy().mean((1, 2, 3)), atol=1e-5)
    ratio = y.std((1, 2, 3)) / x.numpy().std((1, 2, 3))
    assert (ratio >= 0.5 - 1e-4).all() and (ratio <= 1.5 + 1e-4).all() and ratio.std() > 0.05


def test_translation_moves_content_by_whole_pixels_and_fills_with_zero():
    tf.random.set_seed(1)
    side = 16
    x = tf.constant(np.arange(64 * side * side, dtype=np.float32).reshape(64, side, side, 1) + 1.0)
    y = augment.translation(x).numpy()
    max_shift = round(side * augment.TRANSLATION_RATIO)
    shifts = set()
    for src, out in zip(x.numpy()[..., 0], y[..., 0]):
        found = [(dy, dx) for dy in range(-max_shift, max_shift + 1) for dx in range(-max_shift, max_shift + 1)
                 if np.array_equal(out, shifted(src, dy, dx))]
        assert found, "every output is its input shifted by at most the ratio, zero-filled"
        shifts.add(found[0])
    assert len(shifts) > 5          # each image gets its own shift


def shifted(img, dy, dx):
    out = np.zeros_like(img)
    h, w = img.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = img[max(-dy, 0):h - max(dy, 0),
                                                                    max(-dx, 0):w - max(dx, 0)]
    return out


def test_cutout_zeroes_one_square_of_half_the_side_per_image():
    tf.random.set_seed(2)
    x = tf.ones([64, 16, 16, 3])
    y = augment.cutout(x).numpy()
    assert set(np.unique(y)) <= {0.0, 1.0}
    holes = y[..., 0] == 0
    assert (holes == (y == 0).all(-1)).all()                  # the same pixels in every channel
    for hole in holes:
        rows, cols = np.where(hole.any(1))[0], np.where(hole.any(0))[0]
        assert len(rows) <= 8 and len(cols) <= 8               # a square of side 8, clipped at the edges
        assert hole.sum() == len(rows) * len(cols)             # one filled rectangle
    assert holes.sum((1, 2)).max() == 64 and len({tuple(map(tuple, h)) for h in holes}) > 10


def test_parse_policy():
    assert augment.parse_policy("color,translation,cutout") == POLICY
    assert augment.parse_policy("") == ()
    with pytest.raises(ValueError, match="unknown DiffAugment ops"):
        augment.parse_policy("color,blur")


@pytest.mark.parametrize("arch", ARCHS)
def test_every_trainer_shows_d_augmented_images(arch, monkeypatch):
    cfg = ModelConfig(arch=arch, image_shape=(16, 16, 1), latent_dim=8, g_filters=(16, 8), d_filters=(8, 16))
    if arch == "acgan":
        cfg.num_classes = 3
    if arch == "infogan":
        cfg.num_classes, cfg.num_continuous = 3, 2
    gan = build_gan(cfg, diffaugment=POLICY)
    if arch == "wgan-gp":
        gan.critic_steps = 1
    seen = []
    real_view = gan.d_view
    monkeypatch.setattr(gan, "d_view", lambda x: seen.append(x.shape) or real_view(x))
    batch = images(8, 16, 1), tf.zeros([8], tf.int32)
    values = {k: float(v) for k, v in gan.train_step(batch).items()}
    assert all(np.isfinite(v) for v in values.values())
    # D's step sees real and fake, G's step sees fake; WGAN-GP's penalty sees the interpolates too
    assert len(seen) >= 3


def test_g_gradient_reaches_g_through_the_augmentation():
    cfg = ModelConfig(arch="dcgan", image_shape=(16, 16, 3), latent_dim=8, g_filters=(16, 8), d_filters=(8, 16))
    gan = build_gan(cfg, diffaugment=POLICY)
    z = gan.sample_latent(4)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(gan.d_logit(gan.d_view(gan.generator(z, training=True)), training=True))
    grads = tape.gradient(loss, gan.generator.trainable_weights)
    assert all(g is not None for g in grads)
    assert sum(float(tf.reduce_sum(tf.abs(g))) for g in grads) > 0
