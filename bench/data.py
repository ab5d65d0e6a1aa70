"""Benchmark inputs: images from an npz and the mask presets."""
import numpy as np

from app.engine.masks import PRESETS, preset_mask

# The benchmark's mask names; `half` is the left half.
MASK_ALIASES = {"half": "left"}
DEFAULT_MASKS = ("center", "half", "bottom", "random80", "eyes", "mouth")


def load_images(path, limit=None):
    """(images (N, H, W, C) uint8, labels (N,) or None) from `images` or MNIST `x_test`/`y_test` keys."""
    with np.load(path, allow_pickle=False) as d:
        if "images" in d.files:
            images, labels = d["images"], d["labels"] if "labels" in d.files else None
        elif "x_test" in d.files:
            images, labels = d["x_test"], d["y_test"] if "y_test" in d.files else None
        else:
            raise ValueError(f"{path} has neither 'images' nor MNIST 'x_test' (keys: {d.files})")
    if images.ndim == 3:
        images = images[..., None]
    if limit:
        images = images[:limit]
        labels = labels[:limit] if labels is not None else None
    return images, labels


def make_mask(name, size, seed=0):
    """(size, size) float32, 1 = known, for a benchmark mask name."""
    preset = MASK_ALIASES.get(name, name)
    if preset not in PRESETS:
        raise ValueError(f"unknown mask {name!r}: use {', '.join(DEFAULT_MASKS)}")
    return preset_mask(preset, size, seed)
