"""The GAN base: a `keras.Model` that holds G and D and trains them with one
optimizer each. Subclasses define `train_step` and how D's output reads.

Shapes: images (B, H, W, C) float32 in [-1, 1]; G's input (B, cfg.g_input_dim)
is z ~ U(-1, 1) followed by any class one-hot and continuous codes.
"""
import dataclasses

import keras
import tensorflow as tf

from training.augment import apply_policy
from training.nets import build_d


@dataclasses.dataclass
class NoOptions:
    """The settings of a trainer that has none of its own."""

    def validate(self, cfg):
        return self


def bce_logits(target, logits):
    """Per-example binary cross-entropy from logits (B, 1) against a constant target."""
    labels = tf.fill(tf.shape(logits), target)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, logits), axis=-1)


def r1_penalty(d, real):
    """R1 (Mescheder et al. 2018): E ||grad_x D(x)||^2 over real images x (B, H, W, C).

    d(x) returns the logit (B,), or a tuple whose first item is the logit (D's other
    heads ride along); returns (penalty, d(real)), so D runs on the real batch once.
    Call it inside the tape of D's loss: the inner tape's gradient is recorded, so
    the penalty itself can be differentiated with respect to D's weights."""
    with tf.GradientTape() as tape:
        tape.watch(real)
        out = d(real)   # d may augment real first: the gradient is still taken at the real images
    logit = out[0] if isinstance(out, tuple) else out
    grad = tape.gradient(logit, real)   # of the sum over the batch: each row only sees its own image
    return tf.reduce_mean(tf.reduce_sum(tf.square(grad), axis=[1, 2, 3])), out


class GAN(keras.Model):
    """G and D with their own optimizers; `train_step` returns per-step scalars.

    A trainer declares what `build_gan` and `training.train` need to know of it:
    its `name` (the --arch), whether G is `conditional` (takes a class code), how
    a new config is set up for it (`configure`), its D (`build_discriminator`),
    the extra outputs it needs on D (`extra_heads`; D itself is cfg.d_arch's kind),
    its own settings (`Options`, a dataclass with `validate(cfg)`), Adam's `beta_2`,
    and whether it reads a class head on D (`reads_class_head`)."""

    name = None
    conditional = False
    Options = NoOptions
    beta_2 = 0.999
    reads_class_head = False

    # what the engine's perceptual term should be, written into the manifest
    adversarial_loss = "bce"
    perceptual = "log1m_sigmoid"   # log(1 - D) = -softplus(logit)

    # G's weights are also averaged over steps (an exponential moving average, as in
    # ProGAN/StyleGAN); the average makes visibly cleaner samples and is what export uses.
    ema_decay = 0.999

    # DiffAugment policy (training.augment op names): every image D sees in training,
    # real or generated, and those of R1 and the gradient penalty, goes through it first.
    diffaugment = ()

    def __init__(self, generator, discriminator, cfg, options=None, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator, self.cfg = generator, discriminator, cfg
        self.options = (options or self.Options()).validate(cfg)
        self.ema_generator = keras.models.clone_model(generator)
        self.ema_generator.set_weights(generator.get_weights())

    @classmethod
    def configure(cls, cfg, num_classes):
        """Set the fields of a new config that this architecture decides (ACGAN's
        classes, InfoGAN's codes); num_classes: the dataset's, 0 if unlabelled."""
        return cfg

    # a critic trainer (WGAN-GP) needs D's score unbounded, not a logit read off a probability
    critic = False

    @classmethod
    def extra_heads(cls, cfg):
        """D's extra outputs for this trainer: dict name -> training.nets.Head."""
        return {}

    @classmethod
    def build_discriminator(cls, cfg):
        """cfg.d_arch's D (training.nets.DISCRIMINATORS) with this trainer's heads."""
        return build_d(cfg, cls.extra_heads(cfg), critic=cls.critic)

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def sample_latent(self, batch, labels=None):
        """G's input (batch, g_input_dim): z, then a class one-hot (given labels or
        random ones), then continuous codes."""
        cfg = self.cfg
        parts = [tf.random.uniform([batch, cfg.latent_dim], -1.0, 1.0)]
        if cfg.num_classes:
            if labels is None:
                labels = tf.random.uniform([batch], 0, cfg.num_classes, dtype=tf.int32)
            parts.append(tf.one_hot(labels, cfg.num_classes))
        if cfg.num_continuous:
            parts.append(tf.random.uniform([batch, cfg.num_continuous], -1.0, 1.0))
        return tf.concat(parts, axis=1)

    def update_ema(self):
        """Move the averaged generator one step toward the trained one (weights and BN statistics).

        The decay warms up as (1 + t) / (10 + t) so that early in a run the average
        follows G instead of remembering its random start.
        """
        t = tf.cast(self.g_optimizer.iterations, tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + t) / (10.0 + t))
        for avg, w in zip(self.ema_generator.weights, self.generator.weights):
            avg.assign(decay * avg + (1.0 - decay) * w)

    def d_view(self, images):
        """What D sees of images (B, H, W, C) in training: the DiffAugment policy applied
        (differentiably, so G's gradient passes through), or the images as they are."""
        return apply_policy(images, self.diffaugment)

    def d_logit(self, images, training=False):
        """D's real-vs-fake logit (B,), whatever else D outputs."""
        out = self.discriminator(images, training=training)
        return (out[0] if isinstance(out, (list, tuple)) else out)[:, 0]

    def d_outputs(self, images):
        """For export: (probability of real (B,) in [0, 1], logit (B,))."""
        logit = self.d_logit(images)
        return tf.sigmoid(logit), logit

    def record(self, d_loss, g_loss, d_acc):
        """This step's values, as every trainer reports them (training.loop logs them)."""
        return {"d_loss": d_loss, "g_loss": g_loss, "d_acc": d_acc}

    def apply(self, optimizer, tape, loss, variables):
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

    @staticmethod
    def accuracy(real_logit, fake_logit):
        """Share of real images D calls real and fake images D calls fake."""
        hits = tf.concat([tf.cast(real_logit > 0, tf.float32), tf.cast(fake_logit < 0, tf.float32)], 0)
        return tf.reduce_mean(hits)
