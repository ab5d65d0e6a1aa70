"""DCGAN (Radford et al. 2016) with the non-saturating loss, and the origin's
CapsuleGAN (arch "capsule"), whose D is a two-capsule network trained with
CapsNet's margin loss. (`--d capsule` puts a capsule D under any trainer,
DCGAN's BCE loss included: see training.nets.capsule.)"""
import dataclasses

import tensorflow as tf

from training.gans.base import GAN, bce_logits, r1_penalty
from training.nets.capsule import build_capsule_discriminator, margin_loss, probability_to_logit
from training.nets import Head

REAL_TARGET = 0.9  # one-sided label smoothing keeps D from growing over-confident


@dataclasses.dataclass
class DCGANOptions:
    top_k: float = 1.0           # share of each batch G trains on; 1 = all
    r1_gamma: float = 0.0        # weight of the R1 penalty; 0 = off
    class_entropy: float = 0.0   # weight of CatGAN's entropy terms; 0 = off (needs cfg.d_class_head)

    def validate(self, cfg):
        if not 0.0 < self.top_k <= 1.0:
            raise ValueError(f"top_k must be in (0, 1], got {self.top_k}")
        if self.r1_gamma < 0:
            raise ValueError(f"r1_gamma must be >= 0, got {self.r1_gamma}")
        if self.class_entropy < 0:
            raise ValueError(f"class_entropy must be >= 0, got {self.class_entropy}")
        if self.class_entropy > 0 and not cfg.d_class_head:
            raise ValueError("the class-entropy term needs D's class head (cfg.d_class_head)")
        return self


class DCGAN(GAN):
    """Its `Options` (DCGANOptions): `top_k` < 1 trains G on only the share of its batch that D rates most real
    (Sinha et al. 2020, "Top-k training of GANs"): the gradients of samples that
    fall between modes (a digit half 8, half 9) stop pulling good samples away
    from theirs. 1 is the plain DCGAN.

    `r1_gamma` > 0 adds (gamma / 2) E ||grad D(real)||^2 to D's loss (R1,
    Mescheder et al. 2018): D stays flat around the data, so G settles on it
    rather than circling it. 0 is off.

    With `cfg.d_class_head` (labelled data) D also learns the class of real
    images, and `class_entropy` > 0 weighs the entropy terms of CatGAN
    (Springenberg 2016): G's loss adds the mean entropy of D's class guess for
    each sample (low: every sample reads as one class, not as a blend of two)
    minus the entropy of the batch's mean guess (high: the classes stay
    balanced), and D's loss subtracts the mean entropy of its guess for G's
    samples (D learns to be unsure of them). G stays unconditional: the classes
    shape its samples, not its input. 0 is off."""

    name = "dcgan"
    Options = DCGANOptions
    reads_class_head = True

    @classmethod
    def extra_heads(cls, cfg):
        return {"class_logits": Head(cfg.d_class_head)} if cfg.d_class_head else {}

    def d_heads(self, images, training):
        """(real-vs-fake logit (B,), class logits (B, cfg.d_class_head) or None)."""
        out = self.discriminator(images, training=training)
        if self.cfg.d_class_head:
            return out[0][:, 0], out[1]
        return out[:, 0], None

    def train_step(self, data):
        real, labels = data
        batch = tf.shape(real)[0]
        g, d = self.generator, self.discriminator

        # D learns to tell real from fake (and the class of real images); only D's weights move.
        z = self.sample_latent(batch)
        heads = lambda x: self.d_heads(self.d_view(x), training=True)  # noqa: E731
        with tf.GradientTape() as tape:
            fake = g(z, training=True)
            if self.options.r1_gamma > 0:
                penalty, (real_logit, real_classes) = r1_penalty(heads, real)
            else:
                penalty, (real_logit, real_classes) = 0.0, heads(real)
            fake_logit, fake_classes = heads(fake)
            d_loss = tf.reduce_mean(bce_logits(REAL_TARGET, real_logit[:, None])
                                    + bce_logits(0.0, fake_logit[:, None])) + 0.5 * self.options.r1_gamma * penalty
            if real_classes is not None:
                d_loss += tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, real_classes))
            if self.options.class_entropy > 0:
                # CatGAN's D is unsure of the class of G's samples, so G only gets a sure
                # class guess by drawing the class the way real digits show it
                d_loss -= self.options.class_entropy * tf.reduce_mean(entropy(tf.nn.softmax(fake_classes)))
        self.apply(self.d_optimizer, tape, d_loss, d.trainable_weights)

        # G learns to make D say "real" (non-saturating loss); only G's weights move.
        z = self.sample_latent(batch)
        with tf.GradientTape() as tape:
            logit, classes = heads(g(z, training=True))
            if self.options.top_k < 1.0:
                k = tf.maximum(1, tf.cast(tf.math.ceil(self.options.top_k * tf.cast(batch, tf.float32)), tf.int32))
                logit = tf.math.top_k(logit, k).values
            g_loss = tf.reduce_mean(bce_logits(1.0, logit[:, None]))
            if self.options.class_entropy > 0:
                g_loss += self.options.class_entropy * class_entropy_terms(classes)
        self.apply(self.g_optimizer, tape, g_loss, g.trainable_weights)
        return self.record(d_loss, g_loss, self.accuracy(real_logit, fake_logit))


def entropy(p):
    """Entropy in nats along the last axis of probabilities p."""
    return -tf.reduce_sum(p * tf.math.log(p + 1e-8), axis=-1)


def class_entropy_terms(class_logits):
    """CatGAN's generator terms for class logits (B, K): mean per-sample entropy
    minus the entropy of the batch's mean class distribution. In [-ln K, ln K]:
    lowest when each sample is one sure class and the batch covers all K evenly."""
    p = tf.nn.softmax(class_logits)
    return tf.reduce_mean(entropy(p)) - entropy(tf.reduce_mean(p, axis=0))


class CapsuleGAN(GAN):
    """D outputs capsule lengths (B, 2): column 0 is "real", column 1 "fake"."""

    name = "capsule"
    adversarial_loss = "margin"

    @classmethod
    def build_discriminator(cls, cfg):
        return build_capsule_discriminator(cfg)

    def d_outputs(self, images):
        p = self.discriminator(images, training=False)[:, 0]
        return p, probability_to_logit(p)

    def d_logit(self, images, training=False):
        return probability_to_logit(self.discriminator(images, training=training)[:, 0])

    def train_step(self, data):
        real, _ = data
        batch = tf.shape(real)[0]
        g, d = self.generator, self.discriminator

        # D: the real capsule lights up for real images, the fake one for G's.
        z = self.sample_latent(batch)
        with tf.GradientTape() as tape:
            real_len = d(self.d_view(real), training=True)
            fake_len = d(self.d_view(g(z, training=True)), training=True)
            d_loss = tf.reduce_mean(margin_loss(real_len, True) + margin_loss(fake_len, False))
        self.apply(self.d_optimizer, tape, d_loss, d.trainable_weights)

        # G: make D's real capsule light up for fakes.
        z = self.sample_latent(batch)
        with tf.GradientTape() as tape:
            g_loss = tf.reduce_mean(margin_loss(d(self.d_view(g(z, training=True)), training=True), True))
        self.apply(self.g_optimizer, tape, g_loss, g.trainable_weights)
        acc = tf.reduce_mean(tf.concat([
            tf.cast(real_len[:, 0] > real_len[:, 1], tf.float32),
            tf.cast(fake_len[:, 1] > fake_len[:, 0], tf.float32)], 0))
        return self.record(d_loss, g_loss, acc)
