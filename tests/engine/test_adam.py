import numpy as np
import pytest
import tensorflow as tf

from app.engine.adam import adam_step


def test_first_step_moves_every_coordinate_by_lr_against_its_gradient_sign():
    x = tf.constant([0.0, 0.5, -0.2])
    g = tf.constant([2.0, -0.001, 300.0])
    new, m, v = adam_step(x, g, tf.zeros(3), tf.zeros(3), tf.constant(1.0), 0.1)
    # bias-corrected: m_hat = g, v_hat = g^2, so the step is lr * sign(g)
    np.testing.assert_allclose(new.numpy(), [-0.1, 0.6, -0.3], atol=1e-5)
    np.testing.assert_allclose(m.numpy(), 0.1 * g.numpy(), rtol=1e-6)


def test_it_minimises_a_quadratic_inside_the_box():
    target = tf.constant([0.3, -0.7, 2.0])       # the last is outside the box: the answer is its edge
    x, m, v = tf.zeros(3), tf.zeros(3), tf.zeros(3)
    for t in range(1, 400):
        g = 2.0 * (x - target)
        x, m, v = adam_step(x, g, m, v, tf.constant(float(t)), 0.05)
    np.testing.assert_allclose(x.numpy(), [0.3, -0.7, 1.0], atol=0.02)


@pytest.mark.parametrize("low, high", [(-1.0, 1.0), (0.0, 0.25)])
def test_x_stays_in_the_box(low, high):
    x, m, v = tf.fill([5], low), tf.zeros(5), tf.zeros(5)
    for t in range(1, 20):
        x, m, v = adam_step(x, tf.fill([5], -1000.0), m, v, tf.constant(float(t)), 1.0, low, high)
        assert float(tf.reduce_min(x)) >= low and float(tf.reduce_max(x)) <= high
