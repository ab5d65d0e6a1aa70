"""Adam with projection onto a box: the one update every search of the engine uses
(completion and projection on z, style transfer on pixels) and the training
module's projection metric. Plain TensorFlow ops, so it runs inside a tf.function
or a tf.while_loop, on any shape."""
import tensorflow as tf

BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-8


def adam_step(x, g, m, v, t, lr, low=-1.0, high=1.0):
    """One Adam step of x along gradient g (Kingma & Ba, bias-corrected), then x is
    clipped into [low, high]. t: this step's number, from 1 (float). Returns the new
    (x, m, v); m and v start at zeros like x."""
    m = BETA_1 * m + (1.0 - BETA_1) * g
    v = BETA_2 * v + (1.0 - BETA_2) * tf.square(g)
    step = lr * (m / (1.0 - BETA_1 ** t)) / (tf.sqrt(v / (1.0 - BETA_2 ** t)) + EPSILON)
    return tf.clip_by_value(x - step, low, high), m, v
