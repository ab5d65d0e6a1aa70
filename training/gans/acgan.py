"""ACGAN (Odena et al. 2017): G is conditioned on a class one-hot and D also
predicts the class of every image it sees."""
import tensorflow as tf

from training.gans.base import GAN, bce_logits
from training.gans.dcgan import REAL_TARGET
from training.nets import Head


def class_loss(labels, logits):
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))


class ACGAN(GAN):
    name = "acgan"
    conditional = True
    adversarial_loss = "bce+aux-class"

    @classmethod
    def configure(cls, cfg, num_classes):
        if not num_classes:
            raise ValueError("acgan needs a labelled dataset (mnist)")
        cfg.num_classes = num_classes
        return cfg

    @classmethod
    def extra_heads(cls, cfg):
        return {"class_logits": Head(cfg.num_classes)}

    def train_step(self, data):
        real, labels = data
        batch = tf.shape(real)[0]
        g, d = self.generator, self.discriminator
        fake_labels = tf.random.uniform([batch], 0, self.cfg.num_classes, dtype=tf.int32)

        # D: real vs fake, and the class of both real and generated images.
        z = self.sample_latent(batch, fake_labels)
        with tf.GradientTape() as tape:
            real_logit, real_cls = d(self.d_view(real), training=True)
            fake_logit, fake_cls = d(self.d_view(g(z, training=True)), training=True)
            d_loss = (tf.reduce_mean(bce_logits(REAL_TARGET, real_logit) + bce_logits(0.0, fake_logit))
                      + class_loss(labels, real_cls) + class_loss(fake_labels, fake_cls))
        self.apply(self.d_optimizer, tape, d_loss, d.trainable_weights)

        # G: fool D and make the asked-for class recognisable.
        with tf.GradientTape() as tape:
            logit, cls = d(self.d_view(g(z, training=True)), training=True)
            g_loss = tf.reduce_mean(bce_logits(1.0, logit)) + class_loss(fake_labels, cls)
        self.apply(self.g_optimizer, tape, g_loss, g.trainable_weights)
        return self.record(d_loss, g_loss, self.accuracy(real_logit[:, 0], fake_logit[:, 0]))
