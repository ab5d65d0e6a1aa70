"""WGAN-GP (Gulrajani et al. 2017): a critic scored by the Wasserstein estimate,
kept 1-Lipschitz by a gradient penalty at random interpolates."""
import tensorflow as tf

from training.gans.base import GAN


class WGANGP(GAN):
    name = "wgan-gp"
    beta_2 = 0.9                # the paper's Adam(beta_1, 0.9)
    adversarial_loss = "wgan-gp"
    perceptual = "neg_critic"   # the engine maximises the critic's score: term = -D(G(z))
    critic = True

    def __init__(self, generator, discriminator, cfg, critic_steps=5, gp_weight=10.0, **kwargs):
        super().__init__(generator, discriminator, cfg, **kwargs)
        self.critic_steps, self.gp_weight = critic_steps, gp_weight

    def gradient_penalty(self, real, fake, alpha=None):
        """E[(|grad D(x_hat)| - 1)^2] at x_hat = alpha real + (1 - alpha) fake, alpha ~ U(0, 1)
        per example (a normal alpha would leave the segment between the two)."""
        if alpha is None:
            alpha = tf.random.uniform([tf.shape(real)[0], 1, 1, 1], 0.0, 1.0)
        x_hat = alpha * real + (1.0 - alpha) * fake
        with tf.GradientTape() as tape:
            tape.watch(x_hat)
            score = self.d_logit(self.d_view(x_hat), training=True)
        grads = tape.gradient(score, x_hat)
        norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-12)
        return tf.reduce_mean(tf.square(norm - 1.0))

    def train_step(self, data):
        real, _ = data
        batch = tf.shape(real)[0]
        g, d = self.generator, self.discriminator

        # The critic takes several steps per G step so its estimate stays close to the distance.
        for _ in range(self.critic_steps):
            z = self.sample_latent(batch)
            with tf.GradientTape() as tape:
                fake = g(z, training=True)
                real_score = self.d_logit(self.d_view(real), training=True)
                fake_score = self.d_logit(self.d_view(fake), training=True)
                d_loss = (tf.reduce_mean(fake_score) - tf.reduce_mean(real_score)
                          + self.gp_weight * self.gradient_penalty(real, fake))
            self.apply(self.d_optimizer, tape, d_loss, d.trainable_weights)

        # G raises the critic's score of its samples.
        z = self.sample_latent(batch)
        with tf.GradientTape() as tape:
            g_loss = -tf.reduce_mean(self.d_logit(self.d_view(g(z, training=True)), training=True))
        self.apply(self.g_optimizer, tape, g_loss, g.trainable_weights)
        acc = tf.reduce_mean(tf.cast(real_score > fake_score, tf.float32))
        return self.record(d_loss, g_loss, acc)
