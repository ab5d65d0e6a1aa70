"""The residual generator with skip-layer excitation."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from training.config import ModelConfig
from training.gans import build_gan
from training.nets.resnet import build_resnet_generator


@pytest.mark.parametrize("shape,filters", [((64, 64, 3), (64, 32, 16)), ((28, 28, 1), (32, 16))])
def test_shapes_range_and_excitation(shape, filters):
    cfg = ModelConfig(image_shape=shape, latent_dim=16, g_arch="resnet", g_start_filters=32, g_filters=filters)
    g = build_resnet_generator(cfg)
    out = g(tf.random.uniform([3, 16], -1, 1), training=False).numpy()
    assert out.shape == (3, *shape) and out.dtype == np.float32 and np.abs(out).max() <= 1
    gates = [layer.name for layer in g.layers if layer.name.endswith("_gate")]
    assert len(gates) == len(filters) - 1      # every map from the second round on is excited from 4x coarser


def test_excitation_lets_the_coarse_map_steer_the_fine_one():
    cfg = ModelConfig(image_shape=(32, 32, 3), latent_dim=8, g_arch="resnet", g_start_filters=16, g_filters=(16, 8, 8))
    g = build_resnet_generator(cfg)
    z = tf.random.uniform([2, 8], -1, 1)
    with tf.GradientTape() as tape:
        out = g(z, training=False)
    gate_weights = [w for w in g.trainable_weights if "sle" in w.path]
    grads = tape.gradient(out, gate_weights)
    assert gate_weights and all(gr is not None and float(tf.reduce_sum(tf.abs(gr))) > 0 for gr in grads)


def test_resnet_g_trains_under_bfloat16():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        cfg = ModelConfig(image_shape=(16, 16, 3), latent_dim=8, g_arch="resnet", g_filters=(16, 8), d_filters=(8, 16))
        gan = build_gan(cfg, diffaugment=("color", "translation", "cutout"))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    before = [w.numpy().copy() for w in gan.generator.trainable_weights]
    values = gan.train_step((tf.random.uniform([4, 16, 16, 3], -1, 1), tf.zeros([4], tf.int32)))
    assert all(np.isfinite(float(v)) for v in values.values())
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(before, gan.generator.trainable_weights))


def test_the_latent_gate_is_refused_for_the_resnet_g():
    cfg = ModelConfig(image_shape=(16, 16, 3), latent_dim=8, g_arch="resnet", g_filters=(16, 8), g_mixture=4)
    with pytest.raises(ValueError, match="latent gate"):
        build_gan(cfg)
