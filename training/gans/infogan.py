"""InfoGAN (Chen et al. 2016): G also takes a categorical and continuous code,
and a Q head on D's features recovers them, maximising their mutual information
with the image."""
import tensorflow as tf

from training.gans.base import GAN, bce_logits
from training.gans.dcgan import REAL_TARGET
from training.nets import Head

INFO_WEIGHT = 1.0


class InfoGAN(GAN):
    name = "infogan"
    conditional = True
    adversarial_loss = "bce+info"

    @classmethod
    def configure(cls, cfg, num_classes):
        cfg.num_classes, cfg.num_continuous = 10, 2   # the paper's MNIST codes, labels or not
        return cfg

    @classmethod
    def extra_heads(cls, cfg):
        return {"q_cat": Head(cfg.num_classes), "q_cont": Head(cfg.num_continuous, categorical=False)}

    def info_loss(self, codes, q_cat, q_cont):
        """Cross-entropy of the categorical code plus a Gaussian (fixed variance) term
        for the continuous ones."""
        cfg = self.cfg
        cat = codes[:, cfg.latent_dim:cfg.latent_dim + cfg.num_classes]
        cont = codes[:, cfg.latent_dim + cfg.num_classes:]
        ce = tf.nn.softmax_cross_entropy_with_logits(cat, q_cat)
        return tf.reduce_mean(ce) + 0.5 * tf.reduce_mean(tf.square(cont - q_cont))

    def train_step(self, data):
        real, _ = data
        batch = tf.shape(real)[0]
        g, d = self.generator, self.discriminator

        # D and Q: real vs fake, and recover the codes of the generated images.
        z = self.sample_latent(batch)
        with tf.GradientTape() as tape:
            real_logit, _, _ = d(self.d_view(real), training=True)
            fake_logit, q_cat, q_cont = d(self.d_view(g(z, training=True)), training=True)
            d_loss = (tf.reduce_mean(bce_logits(REAL_TARGET, real_logit) + bce_logits(0.0, fake_logit))
                      + INFO_WEIGHT * self.info_loss(z, q_cat, q_cont))
        self.apply(self.d_optimizer, tape, d_loss, d.trainable_weights)

        # G: fool D while keeping its codes recoverable.
        z = self.sample_latent(batch)
        with tf.GradientTape() as tape:
            logit, q_cat, q_cont = d(self.d_view(g(z, training=True)), training=True)
            g_loss = (tf.reduce_mean(bce_logits(1.0, logit))
                      + INFO_WEIGHT * self.info_loss(z, q_cat, q_cont))
        self.apply(self.g_optimizer, tape, g_loss, g.trainable_weights)
        return self.record(d_loss, g_loss, self.accuracy(real_logit[:, 0], fake_logit[:, 0]))
