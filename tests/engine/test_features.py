import hashlib

import numpy as np
import pytest
import tensorflow as tf

from app.engine import features


def test_a_discriminator_trunk_runs_at_any_size(tiny_models):
    net = features.load_features("d:tiny", tiny_models[0])
    assert net.layers == ("conv1", "conv2") and net.channels == 3 and net.native == (16, 16)
    for h, w in [(16, 16), (40, 24)]:
        out = net(tf.zeros((1, h, w, 3)))
        assert [tuple(out[k].shape) for k in net.layers] == [(1, -(-h // 2), -(-w // 2), 8),
                                                            (1, -(-h // 4), -(-w // 4), 16)]


def test_a_gray_network_takes_rgb_and_the_rgb_one_gray(tiny_models):
    gray = features.load_features("d:tiny-gray", tiny_models[0])
    rgb_image = tf.random.uniform((1, 16, 16, 3), -1, 1)
    as_gray = tf.reduce_mean(rgb_image, axis=-1, keepdims=True)
    np.testing.assert_allclose(gray(rgb_image)["conv1"], gray(as_gray)["conv1"], atol=1e-6)
    assert features.random_features()(as_gray)["r1"].shape[-1] == features.RANDOM_WIDTHS[0]


def test_the_random_network_is_the_same_everywhere():
    """Drawn from NumPy's PCG64 with a fixed seed: these bytes are the network."""
    levels = features.random_filters()
    digest = hashlib.sha256(b"".join(w.numpy().tobytes() for level in levels for w in level)).hexdigest()
    again = features.random_filters()
    assert all(np.array_equal(a.numpy(), b.numpy()) for la, lb in zip(levels, again) for a, b in zip(la, lb))
    assert digest[:16] == RANDOM_DIGEST
    w = levels[0][0].numpy()
    np.testing.assert_allclose(w.mean(axis=(0, 1, 2)), 0, atol=1e-6)   # zero-mean filters


RANDOM_DIGEST = "c6e56d20f51ea460"   # sha256 of the float32 weights, level by level


def test_unknown_features_say_what_is_allowed(tiny_models):
    with pytest.raises(ValueError, match="use random or d:MODEL"):
        features.load_features("vgg19", tiny_models[0])
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        features.load_features("d:nope", tiny_models[0])
    net = features.random_features()
    with pytest.raises(ValueError, match="layers: r1, r2, r3, r4"):
        net.check_layer("conv9")
