"""Reading and writing images as uint8 arrays: (H, W, 3) RGB or (H, W, 1) gray."""
import io

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = ("PNG", "JPEG", "WEBP")


class WrongSize(ValueError):
    """The header says the image is `actual` (w, h), not the size asked for."""

    def __init__(self, actual, expected):
        super().__init__(f"image is {actual[0]}x{actual[1]} but {expected[0]}x{expected[1]} is expected")
        self.actual, self.expected = actual, expected


def decode(data, channels, max_pixels=None, formats=FORMATS, size=None, max_side=None, max_aspect=None):
    """Image bytes -> (H, W, channels) uint8, RGB or gray.

    The header is checked before any pixel is decoded: `size` (width, height) if
    the image must be exactly that, at most `max_pixels`, a longest side of at
    most `max_side` and a longest/shortest side ratio of at most `max_aspect`.
    ValueError says what is wrong: not an image, a format outside `formats`
    (identified by content, not by name), a size outside those bounds, truncated data.
    """
    if not data:
        raise ValueError("the image is empty (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in formats:
                raise ValueError(f"unsupported image format {img.format}: use {', '.join(formats)}")
            w, h = img.width, img.height
            if size and (w, h) != tuple(size):
                raise WrongSize((w, h), tuple(size))
            if max_pixels and w * h > max_pixels:
                raise ValueError(f"image is {w}x{h}, more than {max_pixels} pixels")
            if max_side and max(w, h) > max_side:
                raise ValueError(f"image is {w}x{h}; its longest side may be at most {max_side} px")
            if max_aspect and max(w, h) > max_aspect * max(1, min(w, h)):
                raise ValueError(f"image is {w}x{h}; its sides may differ by at most {max_aspect}x")
            img.load()
            # as browsers draw it: a phone photo's EXIF orientation applied, so boxes on
            # the page and on the server mean the same pixels
            return to_array(ImageOps.exif_transpose(img), channels)
    except Image.DecompressionBombError as exc:
        raise ValueError(f"image is too large to decode safely: {exc}") from exc
    except UnidentifiedImageError:
        raise ValueError("not a readable image (PNG, JPEG or WebP expected)") from None
    except (OSError, SyntaxError) as exc:
        raise ValueError(f"the image data is corrupt or truncated: {exc}") from exc


def to_array(img, channels):
    """PIL image -> (H, W, channels) uint8, with transparency flattened onto white."""
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    img = img.convert("RGB" if channels == 3 else "L")
    return np.asarray(img, np.uint8).reshape(img.height, img.width, channels)


def read(path, channels):
    """Read an image file -> (H, W, channels) uint8; ValueError if unreadable."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    return decode(data, channels, formats=FORMATS + ("BMP", "GIF"))


def encode_png(array):
    """(H, W, C) or (H, W) uint8 -> PNG bytes."""
    array = np.asarray(array, np.uint8)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def write(path, array):
    with open(path, "wb") as f:
        f.write(encode_png(array))


def to_uint8(x):
    """[-1, 1] float -> [0, 255] uint8."""
    return np.clip(np.rint((np.asarray(x) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def to_float(x):
    """[0, 255] uint8 -> [-1, 1] float32."""
    return np.asarray(x, np.float32) / 127.5 - 1.0


def resize(x, size):
    """(H, W, C) float32 -> (h, w, C) float32, size = (h, w); area-averaged when it
    shrinks, bilinear when it grows. The channel axis is kept, even for C = 1."""
    h, w = size
    x = np.asarray(x, np.float32)
    if x.shape[:2] == (h, w):
        return x.copy()
    shrink = h * w < x.shape[0] * x.shape[1]
    out = cv2.resize(x, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return out.reshape(h, w, x.shape[-1])


def fit_within(shape, longest, grow=False):
    """(H, W, ...) -> (h, w) with the aspect kept and the longest side at most
    `longest` (exactly `longest` if grow)."""
    h, w = shape[:2]
    scale = longest / max(h, w) if grow else min(1.0, longest / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))
