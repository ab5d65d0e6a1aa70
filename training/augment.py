"""Differentiable augmentation of what D sees (DiffAugment, Zhao et al. 2020).

The same random transform T is applied to real and generated images before D,
and it is differentiable, so G's gradient reaches G through T. D then cannot
memorise the few real images it has (9,000 faces), and G is not taught to draw
the augmentations, because D sees them on both sides.

Every op takes images (B, H, W, C) float32 in [-1, 1] and returns the same shape
and dtype, each image with its own random parameters. Colour ops may leave
[-1, 1] (as in the paper); translation and cutout fill with 0 (mid-grey).

    policy = parse_policy("color,translation,cutout")
    x_aug = apply_policy(x, policy)
"""
import tensorflow as tf

TRANSLATION_RATIO = 0.125   # largest shift, as a share of the side
CUTOUT_RATIO = 0.5          # side of the square cut out, as a share of the side


def _per_image(x, low, high):
    """One U(low, high) value per image, shaped (B, 1, 1, 1)."""
    return tf.random.uniform([tf.shape(x)[0], 1, 1, 1], low, high, dtype=x.dtype)


def brightness(x):
    """Adds one value in U(-0.5, 0.5) to every pixel of an image."""
    return x + _per_image(x, -0.5, 0.5)


def saturation(x):
    """Scales each pixel's distance from its grey level (the channel mean) by U(0, 2)."""
    grey = tf.reduce_mean(x, axis=3, keepdims=True)
    return (x - grey) * _per_image(x, 0.0, 2.0) + grey


def contrast(x):
    """Scales each pixel's distance from the image's mean by U(0.5, 1.5)."""
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * _per_image(x, 0.5, 1.5) + mean


def color(x):
    """Brightness, saturation (colour images only) and contrast, in that order."""
    x = brightness(x)
    if x.shape[-1] == 3:
        x = saturation(x)
    return contrast(x)


def _shift_axis(x, shift, axis):
    """Moves each image by shift[b] whole pixels along axis (1 = rows, 2 = columns),
    filling what comes in with 0. A gather, so the gradient flows to the moved pixels."""
    size = tf.shape(x)[axis]
    source = tf.range(size)[None, :] - shift[:, None]                     # (B, size)
    inside = (source >= 0) & (source < size)
    picked = tf.gather(x, tf.clip_by_value(source, 0, size - 1), axis=axis, batch_dims=1)
    keep = tf.cast(inside, x.dtype)
    keep = keep[:, :, None, None] if axis == 1 else keep[:, None, :, None]
    return picked * keep


def translation(x, ratio=TRANSLATION_RATIO):
    """Shifts each image by up to ratio x side pixels in each direction, zero-filled."""
    batch = tf.shape(x)[0]
    h, w = x.shape[1], x.shape[2]
    max_dy, max_dx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = tf.random.uniform([batch], -max_dy, max_dy + 1, dtype=tf.int32)
    dx = tf.random.uniform([batch], -max_dx, max_dx + 1, dtype=tf.int32)
    return _shift_axis(_shift_axis(x, dy, 1), dx, 2)


def cutout(x, ratio=CUTOUT_RATIO):
    """Sets a square of ratio x side, centred anywhere in the image (it may hang over
    the edge), to 0 in each image."""
    batch = tf.shape(x)[0]
    h, w = x.shape[1], x.shape[2]
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = tf.random.uniform([batch, 1], 0, h, dtype=tf.int32)   # the square's centre
    cx = tf.random.uniform([batch, 1], 0, w, dtype=tf.int32)
    rows = tf.range(h)[None, :] - (cy - ch // 2)                 # (B, H): row index inside the square
    cols = tf.range(w)[None, :] - (cx - cw // 2)                 # (B, W)
    rows, cols = (rows >= 0) & (rows < ch), (cols >= 0) & (cols < cw)
    hole = tf.cast(rows[:, :, None] & cols[:, None, :], x.dtype)[..., None]   # (B, H, W, 1)
    return x * (1.0 - hole)


OPS = {"color": color, "translation": translation, "cutout": cutout}


def parse_policy(text):
    """"color,translation,cutout" -> a tuple of op names, in order; "" or None -> ()."""
    if not text:
        return ()
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [n for n in names if n not in OPS]
    if unknown:
        raise ValueError(f"unknown DiffAugment ops {unknown}: use some of {', '.join(OPS)}")
    return names


def apply_policy(x, policy):
    """Applies each op of the policy (a tuple of names) to images x in turn."""
    for name in policy:
        x = OPS[name](x)
    return x
