"""Capsule-network discriminator with routing-by-agreement.

Sabour, Frosst & Hinton, "Dynamic Routing Between Capsules" (2017), used as a GAN
discriminator as in Jaiswal et al., "CapsuleGAN" (2018).

D: image (B, H, W, C) in [-1, 1] -> capsule lengths (B, 2) in [0, 1):
column 0 is the "real" capsule, whose length is D's probability that the image
is real; column 1 is the "fake" capsule. Routing over a single parent capsule
would be an identity (a softmax over one element is 1), so the primary
capsules are routed between the two class capsules, as in CapsNet's
classifier, and D's output is the real capsule.
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


def build_capsule_discriminator(cfg, conv_filters=64, primary_caps=16, primary_dim=8,
                                out_dim=16, iterations=3):
    """Conv 9x9 -> primary capsules (9x9 stride 2, 8-D, squashed) -> routing -> lengths (B, 2).

    Images smaller than 28x28 (tests) use 3x3 kernels so that the maps stay positive.
    """
    img = keras.Input(cfg.image_shape, name="image")
    k = 9 if cfg.image_shape[0] >= 28 else 3
    x = layers.Conv2D(conv_filters, k, activation=None)(img)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(primary_caps * primary_dim, k, strides=2)(x)
    x = layers.Reshape((-1, primary_dim))(x)
    u = layers.Lambda(squash, name="primary_squash")(x)
    # routing and lengths stay float32 under a mixed-precision policy: EPS and the
    # softmax over agreement logits need the range
    v = CapsuleRouting(2, out_dim, iterations, name="routing", dtype="float32")(u)
    lengths = layers.Lambda(lambda t: tf.sqrt(tf.reduce_sum(tf.square(t), -1) + EPS),
                            name="lengths", dtype="float32")(v)
    return keras.Model(img, lengths, name="capsule_discriminator")


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
