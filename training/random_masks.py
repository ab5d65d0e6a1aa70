"""Random holes for training the encoder: the app's presets, rectangles,
scattered pixels and brush strokes, so that E sees every kind of mask a user
can draw.

Masks are (H, W) float32 with 1 = known pixel and 0 = hole, as in the engine.
"""
import cv2
import numpy as np

from app.engine.masks import PRESET_BOXES, preset_mask

# How often each kind is drawn.
KINDS = {"preset": 0.45, "box": 0.2, "pixels": 0.1, "strokes": 0.25}


def _box(size, rng):
    mask = np.ones((size, size), np.float32)
    for _ in range(rng.integers(1, 3)):
        h, w = rng.integers(size // 6, size * 3 // 4 + 1, 2)
        top, left = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
        mask[top:top + h, left:left + w] = 0
    return mask


def _pixels(size, rng):
    return (rng.random((size, size)) >= rng.uniform(0.5, 0.9)).astype(np.float32)


def _strokes(size, rng):
    """A few thick polylines, like a brush dragged over the canvas."""
    hole = np.zeros((size, size), np.uint8)
    for _ in range(rng.integers(1, 4)):
        points = rng.integers(0, size, (rng.integers(2, 6), 2)).astype(np.int32)
        width = int(rng.integers(max(2, size // 16), max(3, size // 5) + 1))
        cv2.polylines(hole, [points.reshape(-1, 1, 2)], False, 1, width)
    return 1.0 - hole.astype(np.float32)


def random_mask(size, rng):
    """One (size, size) known-mask with at least one hole pixel and one known pixel."""
    while True:
        kind = rng.choice(list(KINDS), p=list(KINDS.values()))
        if kind == "preset":
            name = rng.choice(list(PRESET_BOXES) + ["random80"])
            mask = preset_mask(name, size, seed=int(rng.integers(1 << 31)))
        elif kind == "box":
            mask = _box(size, rng)
        elif kind == "pixels":
            mask = _pixels(size, rng)
        else:
            mask = _strokes(size, rng)
        if 0 < mask.sum() < mask.size:
            return mask


def random_masks(n, size, rng):
    """(n, size, size, 1) float32 known-masks."""
    return np.stack([random_mask(size, rng) for _ in range(n)])[..., None]
