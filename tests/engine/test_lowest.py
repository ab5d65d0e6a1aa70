"""The lowest-loss record of a search: per candidate within a chunk, per chunk across them."""
import numpy as np
import tensorflow as tf

from app.engine.completion import Losses
from app.engine.lowest import Lowest, Scored, finite, lower


def scored(z, total):
    total = tf.constant(total, tf.float32)
    return Scored(tf.constant(z, tf.float32), Losses(total, total, total, total))


def test_each_candidate_keeps_its_own_lowest_and_a_nan_is_never_lower():
    a = scored([[0.0], [0.0], [0.0]], [1.0, 5.0, 2.0])
    b = scored([[1.0], [1.0], [1.0]], [3.0, 4.0, np.nan])
    kept = lower(a, b)
    assert kept.z.numpy()[:, 0].tolist() == [0.0, 1.0, 0.0]
    assert kept.losses.total.numpy().tolist() == [1.0, 4.0, 2.0]
    assert lower(a, a).z is not None and finite(tf.constant([np.nan, 1.0])).numpy().tolist() == [np.inf, 1.0]


def test_a_tie_goes_to_the_later_state():
    kept = lower(scored([[0.0]], [2.0]), scored([[1.0]], [2.0]))
    assert kept.z.numpy()[0, 0] == 1.0


def test_across_chunks_the_lowest_chunk_is_kept_and_nan_never_wins():
    record = Lowest()
    record.offer("diverged", np.nan)
    assert record.scored == "diverged", "a first chunk is kept even when every loss is NaN"
    record.offer("first", 3.0)
    record.offer("worse", 4.0)
    record.offer("nan", np.nan)
    assert (record.scored, record.total) == ("first", 3.0)
    record.offer("tie", 3.0)
    assert record.scored == "tie", "a later chunk wins a tie"
