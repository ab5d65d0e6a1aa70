"""Turning an arbitrary photo into a model's input.

Faces: find the largest face with OpenCV's bundled Haar cascade, take a square
around it framed like the CelebA training crops, resize to the model's size.
Digits: gray, inverted if the background is light, the ink's bounding box
centred in a square with MNIST's margin (a 20-pixel digit in 28).

Input photo: (H, W, 3) uint8 RGB. The returned `box` is the square's place in
the photo, [x, y, side, side], so the completion can be pasted back at full
resolution.
"""
import base64
import dataclasses
import os

import cv2
import numpy as np

from app.engine import imageio

# Calibrated on 120 held-out faces pasted into larger photos: the training crop's
# side is 1.07 times the cascade's face width (median), and its centre sits 0.12
# of a side above the detected face's centre.
FACE_SCALE = 1.07
FACE_SHIFT = -0.12    # share of the side to move the square down (negative: up)
# Photos are searched at most this large (longest side): the model needs 64 px, and
# a padded square around far-apart ink in a huge photo would cost gigabytes.
WORK_SIDE = 1024
_cascade = None


def _face_cascade():
    global _cascade
    if _cascade is None:
        path = os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
        _cascade = cv2.CascadeClassifier(path)
        if _cascade.empty():
            raise RuntimeError(f"cannot load the Haar cascade {path}")
    return _cascade


@dataclasses.dataclass
class Prepared:
    image: np.ndarray        # (h, w, C) uint8, the model's input
    box: list                # [x, y, side, side] in the photo (may reach past its edges)
    face_found: bool = False
    inverted: bool = False

    def png_base64(self):
        return base64.b64encode(imageio.encode_png(self.image)).decode("ascii")


def _crop_square(photo, x, y, side, border=cv2.BORDER_REFLECT):
    """Square crop that may reach past the photo's edges, padded by `border`
    (reflection, or cv2.BORDER_CONSTANT: black)."""
    h, w = photo.shape[:2]
    pad = max(0, -x, -y, x + side - w, y + side - h)
    if pad:
        photo = cv2.copyMakeBorder(photo, pad, pad, pad, pad, border, value=0)
    return photo[y + pad:y + pad + side, x + pad:x + pad + side]


def _shrink(image, f):
    """image scaled by f <= 1 (area-averaged), each side at least 1 px; itself if f == 1."""
    if f >= 1.0:
        return image
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)


def find_face(photo):
    """The largest detected face as (x, y, w, h), or None."""
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    min_side = max(24, min(gray.shape) // 8)
    faces = _face_cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                             minSize=(min_side, min_side))
    if len(faces) == 0:
        return None
    return tuple(int(v) for v in max(faces, key=lambda f: f[2] * f[3]))


def prepare_face(photo, size, box=None):
    """The face crop, or the square `box` [x, y, side] the user chose."""
    face = None if box is not None else find_face(photo)
    if box is not None:
        x, y, side = box[:3]
    elif face is None:   # fall back to the central square
        side = min(photo.shape[:2])
        x, y = (photo.shape[1] - side) // 2, (photo.shape[0] - side) // 2
    else:
        fx, fy, fw, fh = face
        side = int(round(fw * FACE_SCALE))
        x = fx + fw // 2 - side // 2
        y = fy + fh // 2 - side // 2 + int(round(FACE_SHIFT * side))
    crop = _crop_square(photo, x, y, side)
    image = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return Prepared(image, [x, y, side, side], face_found=face is not None)


def prepare_digit(photo, size, box=None):
    """The digit centred as MNIST has it, or the square `box` [x, y, side] the user chose."""
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    inverted = float(np.median(border)) > 127
    if inverted:
        gray = 255 - gray
    if box is not None:
        x, y, side = box[:3]
    else:
        ink = np.argwhere(gray > 64)
        if len(ink):
            (y0, x0), (y1, x1) = ink.min(0), ink.max(0) + 1
        else:
            y0, x0, y1, x1 = 0, 0, gray.shape[0], gray.shape[1]
        side = int(max(y1 - y0, x1 - x0) * size / 20)    # MNIST: the digit fills 20 of 28 pixels
        x = (x0 + x1) // 2 - side // 2
        y = (y0 + y1) // 2 - side // 2
    crop = _crop_square(gray, x, y, side, cv2.BORDER_CONSTANT)   # MNIST's background is black
    image = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)[..., None]
    return Prepared(image, [int(x), int(y), side, side], inverted=inverted)


class BadBox(ValueError):
    """The crop a user asked for does not fit the photo."""


def check_box(box, photo_shape):
    """A user's crop [x, y, side] (ints) -> the same list; ValueError unless the square
    is at least 4 px and at most twice the photo's long side, and overlaps the photo."""
    if len(box) != 3 or not all(isinstance(v, int) for v in box):
        raise BadBox("box must be three integers x,y,side")
    x, y, side = box
    h, w = photo_shape[:2]
    if not 4 <= side <= 2 * max(h, w):
        raise BadBox(f"the crop's side must be from 4 to {2 * max(h, w)} px, got {side}")
    if x + side <= 0 or y + side <= 0 or x >= w or y >= h:
        raise BadBox("the crop lies outside the photo")
    return [x, y, side]


def prepare(photo, image_shape, kind, box=None):
    """photo (H, W, 3) uint8 RGB -> Prepared for a model of `image_shape` and `kind`
    ("faces" or "digits"), cropped where found or at `box` [x, y, side] if given. A
    photo larger than WORK_SIDE is searched at that size and the box scaled between
    the two, so memory and time stay bounded."""
    size = image_shape[0]
    digits = kind == "digits" or image_shape[-1] == 1
    if box is not None:
        return _prepare_box(photo, size, digits, check_box(box, photo.shape))
    scale = min(1.0, WORK_SIDE / max(photo.shape[:2]))
    small = _shrink(photo, scale)
    prepared = prepare_digit(small, size) if digits else prepare_face(small, size)
    if scale != 1.0:
        prepared.box = [int(round(v / scale)) for v in prepared.box]
    return prepared


def _prepare_box(photo, size, digits, box):
    """The user's square [x, y, side], cut from the full-resolution photo: only the
    part of the photo under the square is read, then shrunk so its side is at most
    WORK_SIDE, so memory stays bounded and a small square keeps its detail."""
    x, y, side = box
    h, w = photo.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + side), min(h, y + side)
    f = min(1.0, WORK_SIDE / side)
    part = _shrink(photo[y0:y1, x0:x1], f)
    local = [int(round((x - x0) * f)), int(round((y - y0) * f)), max(1, int(round(side * f)))]
    prepared = prepare_digit(part, size, local) if digits else prepare_face(part, size, local)
    prepared.box = [x, y, side, side]
    return prepared
