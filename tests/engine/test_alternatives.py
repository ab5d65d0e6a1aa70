"""Choosing the runner-up completions a search offers."""
import numpy as np

from app.engine import alternatives
from app.engine.alternatives import DISTINCT


def test_alternatives_skip_near_copies():
    mask = np.ones((8, 8), np.float32)
    mask[2:6, 2:6] = 0
    image = np.zeros((8, 8, 3), np.float32)
    best = (np.zeros((8, 8, 3), np.float32), np.zeros(4, np.float32))
    near = (0.2, np.full((8, 8, 3), DISTINCT / 2, np.float32), np.full(4, 0.1, np.float32))     # a copy
    far_pixels = (0.3, np.full((8, 8, 3), 0.5, np.float32), np.full(4, 0.1, np.float32))
    far_z = (0.4, np.full((8, 8, 3), 0.52, np.float32), np.full(4, 0.9, np.float32))
    worse_copy = (0.5, np.full((8, 8, 3), 0.51, np.float32), np.full(4, 0.12, np.float32))
    out = alternatives.choose([worse_copy, far_z, near, far_pixels], best, image, mask, blend=False)
    assert [loss for _, loss in out] == [0.3, 0.4]
