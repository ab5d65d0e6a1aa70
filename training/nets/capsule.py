"""Capsule-network discriminator with routing-by-agreement.

Sabour, Frosst & Hinton, "Dynamic Routing Between Capsules" (2017), used as a GAN
discriminator as in Jaiswal et al., "CapsuleGAN" (2018).

D: image (B, H, W, C) in [-1, 1] -> capsule lengths (B, 2) in [0, 1):
column 0 is the "real" capsule, whose length is D's probability that the image
is real; column 1 is the "fake" capsule. Routing over a single parent capsule
would be an identity (a softmax over one element is 1), so the primary
capsules are routed between the two class capsules, as in CapsNet's
classifier, and D's output is the real capsule.

`build_capsule_heads_discriminator` is the same network behind the output
contract of every D kind (see `training.nets.DISCRIMINATORS`): a score (B, 1)
first, then the trainer's extra heads, so that DCGAN, WGAN-GP, ACGAN and
InfoGAN train on it unchanged.
"""
import keras
import tensorflow as tf
from keras import layers

EPS = 1e-7


def squash(s, axis=-1):
    """Shrink vector s to length |s|^2 / (1 + |s|^2) in [0, 1), keeping its direction."""
    sq = tf.reduce_sum(tf.square(s), axis=axis, keepdims=True)
    return s * (sq / (1.0 + sq)) / tf.sqrt(sq + EPS)


def route(u_hat, iterations=3):
    """Routing-by-agreement.

    u_hat: (B, N_in, N_out, D_out) predictions of each child for each parent.
    Returns (v, c): parent capsules (B, N_out, D_out) and the coupling
    coefficients (B, N_in, N_out), which sum to 1 over parents.
    """
    logits = tf.zeros(tf.shape(u_hat)[:3])
    # Earlier iterations only decide the couplings; gradients flow through the last one.
    u_frozen = tf.stop_gradient(u_hat)
    for i in range(iterations):
        c = tf.nn.softmax(logits, axis=2)
        last = i == iterations - 1
        s = tf.einsum("bio,biod->bod", c, u_hat if last else u_frozen)
        v = squash(s)
        if not last:
            logits = logits + tf.einsum("biod,bod->bio", u_frozen, v)
    return v, c


class CapsuleRouting(layers.Layer):
    """Fully connected capsule layer: (B, N_in, D_in) -> (B, N_out, D_out)."""

    def __init__(self, num_out, dim_out, iterations=3, **kwargs):
        super().__init__(**kwargs)
        self.num_out, self.dim_out, self.iterations = num_out, dim_out, iterations

    def build(self, input_shape):
        _, n_in, d_in = input_shape
        self.w = self.add_weight(shape=(n_in, self.num_out, self.dim_out, d_in),
                                 initializer=keras.initializers.RandomNormal(stddev=0.05),
                                 name="w")

    def call(self, u):
        u_hat = tf.einsum("ijdk,bik->bijd", self.w, u)
        return route(u_hat, self.iterations)[0]

    def get_config(self):
        return {**super().get_config(), "num_out": self.num_out, "dim_out": self.dim_out,
                "iterations": self.iterations}


def lengths(v):
    """Capsule lengths (B, N, D) -> (B, N) in [0, 1), kept differentiable at 0 by EPS."""
    return tf.sqrt(tf.reduce_sum(tf.square(v), -1) + EPS)


def length_logit(v):
    """The log-odds of capsule lengths, (B, N, D) -> (B, N).

    For v = squash(s), |v| = q / (1 + q) with q = |s|^2, so logit(|v|) = log q: a
    capsule's length read as a probability has the log of its squared pre-squash
    norm as its logit, unbounded both ways. It is computed from |v| as
    log(|v|) - log(1 - |v|), clipped where float32 cannot tell |v| from 1."""
    return probability_to_logit(lengths(v))


def build_capsule_discriminator(cfg, conv_filters=64, primary_caps=16, primary_dim=8,
                                out_dim=16, iterations=3):
    """The origin's CapsuleGAN D: primary capsules -> routing -> lengths (B, 2)."""
    img = keras.Input(cfg.image_shape, name="image")
    u = primary_capsules(img, conv_filters, primary_caps, primary_dim)
    # routing and lengths stay float32 under a mixed-precision policy: EPS and the
    # softmax over agreement logits need the range
    v = CapsuleRouting(2, out_dim, iterations, name="routing", dtype="float32")(u)
    return keras.Model(img, layers.Lambda(lengths, name="lengths", dtype="float32")(v), name="capsule_discriminator")


def primary_capsules(img, conv_filters=64, primary_caps=16, primary_dim=8, border=0):
    """CapsNet's front: conv (9x9, or 3x3 below 28x28 so maps stay positive) + LeakyReLU,
    then primary capsules (same kernel, stride 2, `primary_dim`-D, squashed): (B, N, primary_dim).

    The convolutions are unpadded, so a pixel on the image's edge reaches one
    output position of the first: D barely sees what G draws there, and G is free
    to draw bright lines along it. `border` > 0 reflects the image by that many
    pixels on each side first (4 covers a 9x9 kernel's reach)."""
    k = 9 if img.shape[1] >= 28 else 3
    if border:
        img = layers.Lambda(lambda t: tf.pad(t, [[0, 0], [border, border], [border, border], [0, 0]], mode="REFLECT"),
                            name="reflect_border")(img)
    x = layers.LeakyReLU(0.2)(layers.Conv2D(conv_filters, k)(img))
    x = layers.Conv2D(primary_caps * primary_dim, k, strides=2)(x)
    return layers.Lambda(squash, name="primary_squash")(layers.Reshape((-1, primary_dim))(x))


def build_capsule_heads_discriminator(cfg, heads=None, critic=False, out_dim=16, iterations=3):
    """A capsule D with the output contract of every D kind: [score (B, 1), *heads].

    image (B, H, W, C) in [-1, 1] -> primary capsules, then routing by agreement
    to the two capsules of the origin's CapsuleGAN, "real" and "fake". How each
    head sits on the capsules (the design choices, one per kind of output):
    - score, for a loss on a probability (DCGAN, ACGAN, InfoGAN): the log-odds
      of the real capsule's length (`length_logit`), so that length stays D's
      probability that the image is real, as in CapsuleGAN;
    - score, with `critic` (WGAN-GP): a length in [0, 1) cannot be a Wasserstein
      critic, whose scores must be free to spread, so the critic is a linear
      read-out of the real and fake capsules' pose vectors: unbounded, and its
      input gradient is the one the gradient penalty keeps near 1;
    - a categorical head (`Head(units, categorical=True)`: ACGAN's classes, InfoGAN's
      categorical code, DCGAN's class head): its own routing, from the same
      primary capsules, to `units` class capsules, one per class as in CapsNet's
      classifier; its logits are the class capsules' `length_logit`, so the
      softmax gives class k the probability |s_k|^2 / sum_j |s_j|^2;
    - a continuous head (InfoGAN's codes): a linear read-out of the class
      capsules' poses (of the real/fake ones if there are none): CapsNet's pose
      dimensions are what encode stroke width and slant.
    Routing and the heads compute in float32 under a mixed-precision policy."""
    img = keras.Input(cfg.image_shape, name="image")
    u = primary_capsules(img, border=cfg.d_border)
    v = CapsuleRouting(2, out_dim, iterations, name="routing", dtype="float32")(u)
    flat = lambda t, name: layers.Flatten(name=name, dtype="float32")(t)  # noqa: E731
    if critic:
        score = layers.Dense(1, name="logit", dtype="float32")(flat(v, "real_fake_poses"))
    else:
        score = layers.Lambda(lambda t: length_logit(t)[:, :1], name="logit", dtype="float32")(v)
    heads = heads or {}
    classes = {name: CapsuleRouting(head.units, out_dim, iterations, name=f"{name}_routing", dtype="float32")(u)
               for name, head in heads.items() if head.categorical}
    outputs = [score]
    for name, head in heads.items():   # the heads in the order given, as the conv D has them
        if head.categorical:
            outputs.append(layers.Lambda(length_logit, name=name, dtype="float32")(classes[name]))
        else:
            poses = flat(next(iter(classes.values()), v), f"{name}_poses")
            outputs.append(layers.Dense(head.units, name=name, dtype="float32")(poses))
    return keras.Model(img, outputs if len(outputs) > 1 else outputs[0], name="capsule_discriminator")


def margin_loss(lengths, real, m_plus=0.9, m_minus=0.1, down=0.5):
    """CapsNet margin loss for the (real, fake) capsule pair, per example (B,).

    lengths: (B, 2); real: python bool, whether the batch should read as real.
    """
    target = tf.constant([1.0, 0.0] if real else [0.0, 1.0])
    present = target * tf.square(tf.nn.relu(m_plus - lengths))
    absent = down * (1.0 - target) * tf.square(tf.nn.relu(lengths - m_minus))
    return tf.reduce_sum(present + absent, axis=-1)


def probability_to_logit(p):
    """logit(p) = log p - log(1 - p), clipped so p = 0 or 1 stays finite."""
    p = tf.clip_by_value(p, EPS, 1.0 - EPS)
    return tf.math.log(p) - tf.math.log1p(-p)
