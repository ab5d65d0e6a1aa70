import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from training.config import ModelConfig
from training.gans import ARCHS, build_gan, default_config
from training.gans.base import r1_penalty
from training.gans.dcgan import class_entropy_terms
from training.nets.dcgan import build_generator
from training.nets.capsule import CapsuleRouting, margin_loss, route, squash


def tiny_cfg(arch, channels=1, classes=0):
    cfg = ModelConfig(arch=arch, image_shape=(16, 16, channels), latent_dim=8,
                      g_filters=(16, 8), d_filters=(8, 16))
    if arch == "acgan":
        cfg.num_classes = classes or 3
    if arch == "infogan":
        cfg.num_classes, cfg.num_continuous = 3, 2
    return cfg


def one_step(cfg, batch, before=None, **options):
    """(GAN, losses of its first train_step) for build_gan(cfg, **options), with the
    same initial weights and the same randomness in the step for any options.
    before(gan) runs between the build and the step (e.g. to measure D there)."""
    tf.keras.utils.set_random_seed(3)
    gan = build_gan(cfg, **options)
    if before:
        before(gan)
    tf.keras.utils.set_random_seed(4)
    return gan, {k: float(v) for k, v in gan.train_step(batch).items()}


@pytest.fixture(params=["float32", "mixed_bfloat16"])
def precision(request):
    """Build the nets under each dtype policy `training.train --precision` can set."""
    keras.mixed_precision.set_global_policy(request.param)
    yield request.param
    keras.mixed_precision.set_global_policy("float32")


CAPSULE_TRAINERS = ["dcgan", "wgan-gp", "acgan", "infogan"]


@pytest.mark.parametrize("arch, d_arch", [(a, "conv") for a in ARCHS] + [(a, "capsule") for a in CAPSULE_TRAINERS])
def test_a_few_steps_of_each_architecture(arch, d_arch, precision):
    """Each trainer on each D kind (`--d capsule` under the origin's four GANs): the
    losses stay finite and both G's and D's weights move (a capsule D's routing too)."""
    gan = build_gan(dataclasses.replace(tiny_cfg(arch), d_arch=d_arch))
    if arch == "wgan-gp":
        gan.critic_steps = 2
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(-1, 1, (8, 16, 16, 1)).astype(np.float32))
    labels = tf.constant(rng.integers(0, 3, 8).astype(np.int32))
    g_before = [w.numpy().copy() for w in gan.generator.trainable_weights]
    d_before = {w.path: w.numpy().copy() for w in gan.discriminator.trainable_weights}
    step = tf.function(gan.train_step)
    for _ in range(2):
        values = {k: float(v) for k, v in step((images, labels)).items()}
    assert set(values) == {"d_loss", "g_loss", "d_acc"}
    assert all(np.isfinite(v) for v in values.values()), values
    assert 0 <= values["d_acc"] <= 1
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(g_before, gan.generator.trainable_weights))
    moved = {w.path for w in gan.discriminator.trainable_weights if not np.allclose(d_before[w.path], w.numpy())}
    assert moved
    if d_arch == "capsule":
        assert gan.discriminator.name == "capsule_discriminator"
        assert any("routing" in path for path in moved), sorted(moved)
        assert len(moved) >= len(d_before) - 1, sorted(set(d_before) - moved)
    # mixed precision computes in bfloat16 but keeps weights, and what G and D return, float32
    assert {w.dtype for w in gan.generator.weights + gan.discriminator.weights} == {"float32"}
    assert gan.generator(gan.sample_latent(2), training=False).dtype == tf.float32
    assert gan.d_logit(images).dtype == tf.float32


def test_top_k_trains_generator_on_the_samples_d_rates_most_real():
    """Same weights, data and randomness: D's step is the same, and G's loss over the
    better-rated half of its batch is below the loss over the whole batch."""
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(-1, 1, (16, 16, 16, 1)).astype(np.float32))
    labels = tf.zeros([16], tf.int32)
    losses = {share: one_step(tiny_cfg("dcgan"), (images, labels), top_k=share)[1] for share in (1.0, 0.5)}
    assert losses[0.5]["d_loss"] == pytest.approx(losses[1.0]["d_loss"], rel=1e-5)
    assert losses[0.5]["g_loss"] < losses[1.0]["g_loss"]


def test_class_entropy_terms_reward_sure_and_balanced_classes():
    k = 4
    sure_balanced = 50.0 * np.eye(k, dtype=np.float32)             # each sample one class, all classes once
    sure_one_class = 50.0 * np.eye(k, dtype=np.float32)[[0, 0, 0, 0]]
    unsure = np.zeros((k, k), np.float32)                          # every sample a uniform blend
    terms = {name: float(class_entropy_terms(tf.constant(x)))
             for name, x in [("sure_balanced", sure_balanced), ("sure_one_class", sure_one_class),
                             ("unsure", unsure)]}
    assert terms["sure_balanced"] == pytest.approx(-np.log(k), abs=1e-4)
    assert terms["sure_one_class"] == pytest.approx(0, abs=1e-4)
    assert terms["unsure"] == pytest.approx(0, abs=1e-4)


def test_class_head_learns_real_classes_and_class_entropy_enters_g_loss():
    """Same weights, data and randomness: the class head adds its cross-entropy to D's
    loss either way; the weight adds the CatGAN terms to G's loss, and takes the
    entropy of D's class guess for G's samples (at most ln 3) off D's loss."""
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(-1, 1, (8, 16, 16, 1)).astype(np.float32))
    labels = tf.constant(rng.integers(0, 3, 8).astype(np.int32))
    cfg = tiny_cfg("dcgan")
    cfg.d_class_head = 3
    losses = {}
    for weight in (0.0, 1.0):
        gan, losses[weight] = one_step(cfg, (images, labels), class_entropy=weight)
        assert gan.discriminator.get_layer("class_logits").units == 3
    assert 0 < losses[0.0]["d_loss"] - losses[1.0]["d_loss"] <= np.log(3) + 1e-5
    assert losses[1.0]["g_loss"] != pytest.approx(losses[0.0]["g_loss"], rel=1e-3)
    assert all(np.isfinite(v) for v in losses[1.0].values())
    plain_d = one_step(tiny_cfg("dcgan"), (images, labels))[1]["d_loss"]
    assert plain_d < losses[0.0]["d_loss"], "the head's cross-entropy (about ln 3 at the start) is in D's loss"


@pytest.mark.parametrize("cfg_head, weight, arch, match", [
    (0, 1.0, "dcgan", "class head"), (0, -1.0, "dcgan", "class_entropy"), (3, 1.0, "wgan-gp", "class-entropy"),
    (3, None, "capsule", "class head"), (0, 0.0, "acgan", "no class-entropy setting")])
def test_class_entropy_is_checked(cfg_head, weight, arch, match):
    cfg = tiny_cfg(arch)
    cfg.d_class_head = cfg_head
    with pytest.raises(ValueError, match=match):
        build_gan(cfg, **({} if weight is None else {"class_entropy": weight}))


def test_every_trainer_is_one_line_in_the_table():
    from training.gans import TRAINERS
    assert ARCHS == tuple(TRAINERS) == ("dcgan", "capsule", "wgan-gp", "acgan", "infogan")
    assert all(name == trainer.name for name, trainer in TRAINERS.items())
    assert [a for a in ARCHS if TRAINERS[a].conditional] == ["acgan", "infogan"]
    with pytest.raises(ValueError, match="unknown arch 'bigan'"):
        default_config("bigan", (28, 28, 1))


@pytest.mark.parametrize("arch, share", [("dcgan", 0.0), ("dcgan", 1.5), ("wgan-gp", 0.5)])
def test_top_k_is_checked(arch, share):
    with pytest.raises(ValueError, match="top"):
        build_gan(tiny_cfg(arch), top_k=share)


def test_r1_penalty_is_the_squared_input_gradient_and_trains_d():
    """For a linear D, logit = <w, x>, the gradient at every image is w: the penalty
    is |w|^2, and its own gradient with respect to w is 2w."""
    rng = np.random.default_rng(0)
    w = tf.Variable(rng.normal(size=(1, 4, 4, 2)).astype(np.float32))
    real = tf.constant(rng.uniform(-1, 1, (3, 4, 4, 2)).astype(np.float32))
    with tf.GradientTape() as tape:
        penalty, logit = r1_penalty(lambda x: tf.reduce_sum(x * w, axis=[1, 2, 3]), real)
    np.testing.assert_allclose(penalty.numpy(), np.sum(w.numpy() ** 2), rtol=1e-5)
    np.testing.assert_allclose(logit.numpy(), np.sum(real.numpy() * w.numpy(), axis=(1, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(penalty, w).numpy(), 2 * w.numpy(), rtol=1e-5)
    # a D with more heads: the penalty is of the first (the logit), the rest come back as they are
    calls = []
    heads = lambda x: calls.append(1) or (tf.reduce_sum(x * w, axis=[1, 2, 3]), 2.0 * x)  # noqa: E731
    penalty_of_heads, (logit_of_heads, other) = r1_penalty(heads, real)
    assert len(calls) == 1, "D runs on the real batch once"
    np.testing.assert_allclose(penalty_of_heads.numpy(), penalty.numpy(), rtol=1e-6)
    np.testing.assert_allclose(logit_of_heads.numpy(), logit.numpy(), rtol=1e-6)
    np.testing.assert_allclose(other.numpy(), 2.0 * real.numpy())


def test_r1_with_a_class_head_adds_both_to_d_loss():
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(-1, 1, (8, 16, 16, 1)).astype(np.float32))
    labels = tf.constant(rng.integers(0, 3, 8).astype(np.int32))
    cfg = tiny_cfg("dcgan")
    cfg.d_class_head = 3
    plain = one_step(cfg, (images, labels))[1]
    with_r1 = one_step(cfg, (images, labels), r1_gamma=10.0)[1]
    assert all(np.isfinite(v) for v in with_r1.values())
    assert with_r1["d_loss"] > plain["d_loss"], "the penalty comes on top of the class head's cross-entropy"


def test_r1_adds_the_penalty_to_d_loss_only():
    """Same weights, data and randomness: with R1, D's loss grows by (gamma/2) E|grad D(real)|^2."""
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(-1, 1, (8, 16, 16, 1)).astype(np.float32))
    labels = tf.zeros([8], tf.int32)
    cfg = tiny_cfg("dcgan")
    cfg.dropout = 0.0
    penalties, losses = [], {}
    for gamma in (0.0, 10.0):
        _, losses[gamma] = one_step(cfg, (images, labels), lambda gan: penalties.append(
            float(r1_penalty(gan.d_logit, images)[0])), r1_gamma=gamma)
    penalty = penalties[-1]
    assert penalty > 0
    assert losses[10.0]["d_loss"] == pytest.approx(losses[0.0]["d_loss"] + 5.0 * penalty, rel=1e-4)
    assert losses[10.0]["g_loss"] != losses[0.0]["g_loss"], "D moved differently, so G's step sees another D"


@pytest.mark.parametrize("arch, gamma", [("dcgan", -1.0), ("capsule", 1.0), ("wgan-gp", 1.0)])
def test_r1_is_checked(arch, gamma):
    with pytest.raises(ValueError, match="r1|R1"):
        build_gan(tiny_cfg(arch), r1_gamma=gamma)


def test_generator_shapes_and_range():
    for size, rounds in ((28, 2), (64, 3)):
        cfg = default_config("dcgan", (size, size, 3))
        assert len(cfg.g_filters) == rounds
        gan = build_gan(cfg)
        out = gan.generator(tf.random.uniform([2, cfg.g_input_dim], -1, 1)).numpy()
        assert out.shape == (2, size, size, 3)
        assert out.min() >= -1 and out.max() <= 1


def test_mixture_gate_splits_the_latent_cube(precision):
    cfg = tiny_cfg("dcgan")
    cfg.g_mixture = 4
    g = build_generator(cfg)
    z = tf.random.uniform([256, cfg.g_input_dim], -1, 1, seed=0)
    gate = keras.Model(g.input, g.get_layer("mixture_softmax").output)(z).numpy().astype(np.float32)
    assert gate.shape == (256, 4)
    np.testing.assert_allclose(gate.sum(axis=1), 1.0, atol=1e-2)
    assert gate.max(axis=1).mean() > 0.6, "the gate picks a component for most z"
    assert len(set(gate.argmax(axis=1))) == 4, "every component owns part of the cube"
    start = g(z).numpy()
    embedding = g.get_layer("mixture_embedding")
    assert not np.any(embedding.get_weights()[0]), "E starts at zero: the gate adds nothing yet"
    embedding.set_weights([np.random.default_rng(0).normal(0, 1, embedding.get_weights()[0].shape)])
    moved = np.abs(g(z).numpy() - start).reshape(256, -1).mean(axis=1)
    assert moved.min() > 0, "once E is trained, every component changes the image"
    assert cfg.g_input_dim == 8 and g.output.shape[1:] == (16, 16, 1)


def test_latent_sampling_matches_the_engine_prior():
    gan = build_gan(tiny_cfg("infogan"))
    z = gan.sample_latent(500).numpy()
    assert z.shape == (500, 8 + 3 + 2)
    noise, cat, cont = z[:, :8], z[:, 8:11], z[:, 11:]
    assert noise.min() >= -1 and noise.max() <= 1 and noise.min() < -0.9 and noise.max() > 0.9
    np.testing.assert_array_equal(cat.sum(1), 1)
    assert cont.min() >= -1 and cont.max() <= 1


def test_squash_keeps_lengths_below_one():
    s = tf.constant(np.random.default_rng(0).normal(0, 10, (100, 8)).astype(np.float32))
    lengths = tf.norm(squash(s), axis=-1).numpy()
    assert np.all(lengths >= 0) and np.all(lengths < 1)
    tiny = tf.norm(squash(s * 1e-3), axis=-1).numpy()
    assert np.all(tiny < 0.01), "short vectors shrink toward 0"
    # direction is kept
    cos = tf.reduce_sum(tf.math.l2_normalize(s, -1) * tf.math.l2_normalize(squash(s), -1), -1).numpy()
    np.testing.assert_allclose(cos, 1, atol=1e-5)


def test_routing_coefficients_sum_to_one_over_parents():
    u_hat = tf.constant(np.random.default_rng(1).normal(size=(2, 12, 3, 4)).astype(np.float32))
    v, c = route(u_hat, iterations=3)
    np.testing.assert_allclose(c.numpy().sum(axis=2), 1.0, atol=1e-5)
    assert v.shape == (2, 3, 4)
    assert not np.allclose(c.numpy(), 1 / 3), "routing moved the couplings away from uniform"


def test_routing_layer_and_margin_loss():
    layer = CapsuleRouting(2, 4)
    v = layer(tf.random.normal([3, 10, 8]))
    assert v.shape == (3, 2, 4)
    perfect_real = tf.constant([[0.95, 0.05]])
    assert float(margin_loss(perfect_real, True)[0]) == 0.0
    assert float(margin_loss(perfect_real, False)[0]) > 0.3


def test_gradient_penalty_uses_uniform_interpolates(monkeypatch):
    gan = build_gan(tiny_cfg("wgan-gp"))
    real = tf.ones([4096, 16, 16, 1])
    fake = -tf.ones([4096, 16, 16, 1])
    seen = {}

    def spy(x_hat, training=False):
        seen["x_hat"] = x_hat
        return tf.reduce_sum(x_hat, axis=[1, 2, 3])

    monkeypatch.setattr(gan, "d_logit", spy)
    penalty = float(gan.gradient_penalty(real, fake))
    alpha = (seen["x_hat"].numpy()[:, 0, 0, 0] + 1) / 2      # x_hat = 2 alpha - 1
    assert 0 <= alpha.min() and alpha.max() <= 1
    assert abs(alpha.mean() - 0.5) < 0.03 and abs(alpha.std() - (1 / 12) ** 0.5) < 0.02, "alpha ~ U(0, 1)"
    # D = sum of pixels has gradient norm sqrt(256) = 16 everywhere: penalty (16 - 1)^2
    assert penalty == pytest.approx(225, rel=1e-4)
    np.testing.assert_allclose(seen["x_hat"].numpy()[:, 3, 5, 0], seen["x_hat"].numpy()[:, 0, 0, 0])



def test_capsule_d_has_each_trainers_outputs_in_order():
    x = tf.random.uniform([5, 16, 16, 1], -1, 1)
    shapes = {arch: [tuple(t.shape) for t in tf.nest.flatten(build_gan(
        dataclasses.replace(tiny_cfg(arch), d_arch="capsule")).discriminator(x))] for arch in CAPSULE_TRAINERS}
    assert shapes == {"dcgan": [(5, 1)], "wgan-gp": [(5, 1)], "acgan": [(5, 1), (5, 3)],
                      "infogan": [(5, 1), (5, 3), (5, 2)]}


def test_acgan_capsule_class_head_gives_well_formed_probabilities():
    """The ten (here three) class capsules: softmax of their length logits is a
    distribution, the longest capsule is the most probable class, and the logit
    of each length is log |s|^2, so p_k = |s_k|^2 / sum_j |s_j|^2."""
    cfg = dataclasses.replace(tiny_cfg("acgan"), d_arch="capsule")
    d = build_gan(cfg).discriminator
    x = tf.random.uniform([6, 16, 16, 1], -1, 1)
    _, class_logits = d(x)
    p = tf.nn.softmax(class_logits).numpy()
    assert np.all(p >= 0) and np.allclose(p.sum(1), 1, atol=1e-5)
    classes = keras.Model(d.input, d.get_layer("class_logits_routing").output)(x).numpy()
    lengths = np.sqrt(np.square(classes).sum(-1) + 1e-7)   # capsule.EPS keeps the norm differentiable at 0
    assert np.all(lengths < 1)
    np.testing.assert_array_equal(p.argmax(1), lengths.argmax(1))
    np.testing.assert_allclose(class_logits.numpy(), np.log(lengths / (1 - lengths)), atol=1e-3)


def test_wgan_critic_on_capsules_is_unbounded_and_the_bce_score_is_a_length():
    tf.keras.utils.set_random_seed(0)
    x = tf.random.uniform([4, 16, 16, 1], -1, 1)
    critic = build_gan(dataclasses.replace(tiny_cfg("wgan-gp"), d_arch="capsule")).discriminator
    readout = critic.get_layer("logit")
    kernel, bias = readout.get_weights()
    base = critic(x).numpy()[:, 0] - bias[0]
    scores = []
    for sign in (1, -1):   # the score follows its read-out, both ways, without a ceiling
        readout.set_weights([sign * 1e6 * kernel, bias])
        scores.append(critic(x).numpy()[:, 0])
        np.testing.assert_allclose(scores[-1] - bias[0], sign * 1e6 * base, rtol=1e-3)
    assert max(map(np.max, scores)) > 50 and min(map(np.min, scores)) < -50, "a capsule length stays in [0, 1)"
    d = build_gan(dataclasses.replace(tiny_cfg("dcgan"), d_arch="capsule")).discriminator
    real = keras.Model(d.input, d.get_layer("routing").output)(x).numpy()[:, 0]
    p = 1 / (1 + np.exp(-d(x).numpy()[:, 0]))
    np.testing.assert_allclose(p, np.sqrt(np.square(real).sum(-1) + 1e-7), atol=1e-4)


def test_the_capsule_arch_keeps_its_own_d():
    with pytest.raises(ValueError, match="its own capsule D"):
        build_gan(dataclasses.replace(tiny_cfg("capsule"), d_arch="capsule"))


def test_a_capsule_d_with_a_reflected_border_sees_the_edge_pixels():
    """Unpadded 9x9 convolutions give an edge pixel one output position of the first:
    D's gradient there is a small share of the interior's, so G may draw lines along
    the edge unseen. d_border = 4 brings the edge into view."""
    from training.nets.capsule import build_capsule_heads_discriminator
    images = tf.random.uniform([8, 28, 28, 1], -1, 1, seed=0)

    def edge_share(border):
        keras.utils.set_random_seed(0)
        d = build_capsule_heads_discriminator(dataclasses.replace(
            ModelConfig(image_shape=(28, 28, 1)), d_arch="capsule", d_border=border))
        with tf.GradientTape() as tape:
            tape.watch(images)
            score = tf.reduce_sum(d(images))
        grad = tf.reduce_mean(tf.abs(tape.gradient(score, images)), axis=(0, 3)).numpy()
        ring = np.ones_like(grad, bool)
        ring[1:-1, 1:-1] = False
        return grad[ring].mean() / grad[8:20, 8:20].mean()

    plain, bordered = edge_share(0), edge_share(4)
    assert plain < 0.2, plain
    assert bordered > 2 * plain and bordered > 0.3, (plain, bordered)


def test_a_border_is_refused_for_the_conv_d_whose_convolutions_pad():
    from training.nets import build_d
    with pytest.raises(ValueError, match="d_border is the option of the capsule D, not of the conv D"):
        build_d(dataclasses.replace(ModelConfig(image_shape=(28, 28, 1)), d_border=4))
