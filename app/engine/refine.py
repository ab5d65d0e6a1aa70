"""The search's second stage: after the latent search has chosen z, refine G's
first feature map F = head(z) so that tail(F) fits the known pixels better.

    minimise over F >= 0:   || W * (tail(F) - y) ||_1

by Adam from head(z), projected onto F >= 0 (the range of the ReLU that makes F).
The idea is the multi-code GAN prior's (Gu et al., CVPR 2020): a feature map can
reach images that no single z reaches, while G's later layers still draw the hole
the way faces look. A few dozen steps help; many fit the known pixels at the
hole's expense (bench/NOTES.md has the sweep). Weights W are the search's
importance weights, 0 in the hole.

Images: (H, W, C) float32 in [-1, 1]; the feature map: (1, h, w, c), channels last.
"""
import numpy as np
import tensorflow as tf

from app.engine.adam import adam_step


class Refiner:
    """The second stage on one model's G, cut by `GanModel.split`. Thread-safe."""

    def __init__(self, model):
        self.head, self.tail = model.split
        h, w, c = model.image_shape
        self._run = tf.function(self._refine, input_signature=[
            tf.TensorSpec([model.latent_dim], tf.float32), tf.TensorSpec([h, w, c], tf.float32),
            tf.TensorSpec([h, w, 1], tf.float32), tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32)])

    def refine(self, z, image, weights, steps, lr):
        """G's image of z with its first feature map refined `steps` Adam steps of
        rate `lr` on the known pixels: (H, W, C) float32 in [-1, 1].

        z: (latent_dim,); image: (H, W, C) in [-1, 1], the hole's values unused;
        weights: (H, W, 1) importance weights, 0 in the hole."""
        return self._run(tf.constant(z, tf.float32), tf.constant(image, tf.float32),
                         tf.constant(weights, tf.float32), tf.constant(int(steps), tf.int32),
                         tf.constant(float(lr), tf.float32)).numpy()

    def _refine(self, z, image, weights, steps, lr):
        def body(t, f, m, v):
            with tf.GradientTape() as tape:
                tape.watch(f)
                loss = tf.reduce_sum(tf.abs(weights * (self.tail(f)[0][0] - image)))
            t = t + 1.0
            stepped = adam_step(f, tape.gradient(loss, f), m, v, t, lr, low=0.0, high=np.inf)
            return (t, *(tf.ensure_shape(x, f.shape) for x in stepped))

        f = self.head(z[None])[0]
        zeros = tf.zeros_like(f)
        _, f, _, _ = tf.while_loop(lambda t, *_: t < tf.cast(steps, tf.float32), body,
                                   (tf.constant(0.0), f, zeros, zeros))
        return self.tail(f)[0][0]
