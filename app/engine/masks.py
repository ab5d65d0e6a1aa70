"""Masks and the paper's importance weights.

A mask here is (H, W) float32 with 1 = known pixel and 0 = hole, the
convention of Yeh et al. Files and the web protocol use the opposite (white =
hole); `mask_from_hole_image` converts.
"""
import numpy as np

# Hole presets as fractions of the side, so that they fit 28x28 and 64x64 alike:
# (top, left, bottom, right) of the hole. `static/js/presets.js` mirrors this table.
PRESET_BOXES = {
    "center": (0.25, 0.25, 0.75, 0.75),   # the central square of half the side
    "left": (0.0, 0.0, 1.0, 0.5),
    "right": (0.0, 0.5, 1.0, 1.0),
    "top": (0.0, 0.0, 0.5, 1.0),
    "bottom": (0.5, 0.0, 1.0, 1.0),
    "eyes": (0.34, 0.125, 0.53, 0.875),   # where CelebA crops put the eyes
    "mouth": (0.70, 0.125, 0.90, 0.875),
}
RANDOM_PRESETS = {"random80": 0.8}        # share of pixels missing, drawn uniformly
PRESETS = tuple(PRESET_BOXES) + tuple(RANDOM_PRESETS)


def preset_mask(name, size, seed=0):
    """(size, size) float32 known-mask (1 = known) for a preset hole."""
    mask = np.ones((size, size), np.float32)
    if name in PRESET_BOXES:
        # floor(x + 0.5) rounds halves up, as Math.round does in the page
        top, left, bottom, right = (int(np.floor(f * size + 0.5)) for f in PRESET_BOXES[name])
        mask[top:bottom, left:right] = 0
    elif name in RANDOM_PRESETS:
        mask[np.random.default_rng(seed).random((size, size)) < RANDOM_PRESETS[name]] = 0
    else:
        raise ValueError(f"unknown mask preset {name!r}: use {', '.join(PRESETS)}")
    return mask


def mask_from_hole_image(hole, threshold=128):
    """(H, W) or (H, W, C) uint8 image, white = hole -> (H, W) float32 mask, 1 = known."""
    hole = np.asarray(hole)
    if hole.ndim == 3:
        hole = hole[..., :3].max(axis=-1)
    if hole.ndim != 2:
        raise ValueError(f"mask must be a 2-D image, got shape {hole.shape}")
    return (hole < threshold).astype(np.float32)


def hole_image(mask):
    """Inverse of `mask_from_hole_image`: (H, W) mask, 1 = known -> uint8, 255 = hole."""
    return np.where(np.asarray(mask) > 0.5, 0, 255).astype(np.uint8)


def importance_weights(mask, window=7, floor=0.0):
    """W_i = M_i * max(floor, share of hole pixels in the window x window patch around i).

    Known pixels next to the hole matter most; with floor 0 (the paper) known
    pixels far from it get 0, with floor > 0 every known pixel counts a little.
    Outside the image counts as known, as with zero padding of (1 - M).
    mask: (H, W) float32, 1 = known. Returns (H, W) float32 in [0, 1).
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"window must be a positive odd number, got {window}")
    mask = np.asarray(mask, np.float32)
    hole = 1.0 - mask
    r = window // 2
    padded = np.pad(hole, r)
    # Box sums via a 2-D cumulative sum (an integral image).
    c = np.pad(padded.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    h, w = mask.shape
    sums = c[window:window + h, window:window + w] - c[:h, window:window + w] \
        - c[window:window + h, :w] + c[:h, :w]
    return (mask * np.maximum(sums / window ** 2, floor)).astype(np.float32)


def check_inputs(image, mask, image_shape):
    """Validate an (H, W, C) float image in [-1, 1] and an (H, W) known-mask.

    Raises ValueError saying what is wrong; returns (image, mask) as float32.
    """
    image = np.asarray(image, np.float32)
    mask = np.asarray(mask, np.float32)
    if image.shape != tuple(image_shape):
        raise ValueError(f"image is {'x'.join(map(str, image.shape))} but the model takes "
                         f"{'x'.join(map(str, image_shape))}")
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask is {mask.shape[0]}x{mask.shape[1]} "
                         f"but the image is {image.shape[0]}x{image.shape[1]}")
    if not np.all(np.isfinite(image)):
        raise ValueError("image contains NaN or infinite values")
    if not np.all(np.isfinite(mask)) or np.any((mask < 0) | (mask > 1)):
        raise ValueError("mask values must be in [0, 1] (1 = known pixel)")
    if image.min() < -1.0001 or image.max() > 1.0001:
        raise ValueError(f"image values must be in [-1, 1], got [{image.min():.3g}, {image.max():.3g}]")
    known = mask > 0.5
    if known.all():
        raise ValueError("the mask has no hole: mark at least one pixel to regenerate")
    if not known.any():
        raise ValueError("the mask leaves no known pixel: keep part of the image")
    return image, known.astype(np.float32)
