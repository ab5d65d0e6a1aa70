"""Reading and writing images as uint8 arrays: (H, W, 3) RGB or (H, W, 1) gray."""
import io

import numpy as np
from PIL import Image, UnidentifiedImageError

FORMATS = ("PNG", "JPEG", "WEBP")


def decode(data, channels, max_pixels=None, formats=FORMATS):
    """Image bytes -> (H, W, channels) uint8, RGB or gray.

    ValueError says what is wrong: not an image, a format outside `formats`
    (identified by content, not by name), more than `max_pixels`, truncated data.
    """
    if not data:
        raise ValueError("the image is empty (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in formats:
                raise ValueError(f"unsupported image format {img.format}: use {', '.join(formats)}")
            if max_pixels and img.width * img.height > max_pixels:
                raise ValueError(f"image is {img.width}x{img.height}, more than {max_pixels} pixels")
            img.load()
            return to_array(img, channels)
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
