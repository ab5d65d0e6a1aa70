"""Keeping the lowest-loss state a search evaluated, whatever its reports showed.

Adam can leave a candidate a little worse than it once was (it jitters around a
stiff anchor), so a completion returns the lowest-loss z evaluated. Inside a fused
chunk each candidate's lowest is carried step by step (`lower`); across chunks the
search keeps the chunk whose lowest is lowest (`Lowest`). Neither depends on when
reports fall, so the same seed gives the same result. A NaN loss is never the lowest.
"""
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf


class Scored(NamedTuple):
    """Candidates z (K, d) and their losses (a `completion.Losses` of (K,) tensors),
    without the images (cheaper to carry through a loop)."""

    z: tf.Tensor
    losses: Any


def finite(total):
    """Losses (K,) with NaN read as +inf, so that a diverged candidate is never the best."""
    return tf.where(tf.math.is_nan(total), tf.constant(np.inf, total.dtype), total)


def lower(a, b):
    """Per candidate, whichever of two `Scored` has the lower total loss (b on a tie;
    a NaN loss is never lower)."""
    take_b = finite(b.losses.total) <= finite(a.losses.total)
    return tf.nest.map_structure(
        lambda x, y: tf.where(tf.reshape(take_b, [-1] + [1] * (len(y.shape) - 1)), y, x), a, b)


class Lowest:
    """Across chunks: the `Scored` candidates of the chunk whose lowest total loss is
    the lowest so far (a later chunk wins a tie). `total` is that loss, +inf before
    any chunk (and while every loss is NaN)."""

    def __init__(self):
        self.scored, self.total = None, np.inf

    def offer(self, scored, total):
        """Keep `scored` if its lowest total loss, `total` (a float; NaN reads as +inf),
        is no higher."""
        total = np.inf if np.isnan(total) else total
        if total <= self.total:
            self.scored, self.total = scored, total
