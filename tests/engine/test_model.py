import numpy as np
import pytest
import tensorflow as tf

from app.engine.manifest import check_name
from app.engine.model import list_models, load_model


def test_frozen_graphs_match_keras(tiny_models):
    models_dir, gans = tiny_models
    model, gan = load_model(models_dir, "tiny"), gans["tiny"]
    z = tf.random.uniform([5, model.latent_dim], -1, 1, seed=1)
    frozen = model.generate(z)[0].numpy()
    keras_out = gan.ema_generator(z, training=False).numpy()
    np.testing.assert_allclose(frozen, keras_out, atol=1e-5)
    prob, logit = (t.numpy() for t in model.discriminate(tf.constant(frozen)))
    k_prob, k_logit = (t.numpy() for t in gan.d_outputs(tf.constant(frozen)))
    np.testing.assert_allclose(logit, k_logit, atol=1e-5)
    np.testing.assert_allclose(prob, k_prob, atol=1e-5)
    np.testing.assert_allclose(prob, 1 / (1 + np.exp(-logit)), atol=1e-5)


def test_manifest_describes_the_model(tiny_models):
    model = load_model(tiny_models[0], "tiny")
    m = model.manifest
    assert m.image_shape == (16, 16, 3) and m.latent_dim == model.latent_dim
    assert m.z_prior == {"distribution": "uniform", "low": -1.0, "high": 1.0}
    assert m.pixel_range == (-1.0, 1.0)
    assert m.graphs["generator"]["input"] == "z:0"
    assert set(m.graphs["discriminator"]["outputs"]) == {"probability", "logit"}
    assert m.perceptual == "log1m_sigmoid"
    assert m.training["arch"] == "dcgan"
    assert model.summary()["name"] == "tiny"


def test_gradient_to_z_is_finite_and_nonzero(tiny_models):
    model = load_model(tiny_models[0], "tiny")

    @tf.function
    def grad(z):
        with tf.GradientTape() as tape:
            tape.watch(z)
            loss = tf.reduce_sum(-tf.nn.softplus(model.discriminate(model.generate(z)[0])[1]))
        return tape.gradient(loss, z)

    g = grad(tf.random.uniform([3, model.latent_dim], -1, 1)).numpy()
    assert np.all(np.isfinite(g))
    assert np.abs(g).max() > 0


def test_unknown_model_says_what_exists(tiny_models):
    with pytest.raises(ValueError, match=r"unknown model 'nope' \(available: tiny, tiny-gray\)"):
        load_model(tiny_models[0], "nope")


@pytest.mark.parametrize("name", ["../etc", "a/b", "", ".hidden", "x" * 65, None])
def test_bad_names_never_reach_the_filesystem(name):
    with pytest.raises(ValueError, match="bad model name"):
        check_name(name)


def test_list_models(tiny_models, tmp_path):
    assert list_models(tiny_models[0]) == ["tiny", "tiny-gray"]
    assert list_models(str(tmp_path / "missing")) == []
