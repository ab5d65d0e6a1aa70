"""Classical inpainting (OpenCV), the baselines Regen is compared with.

image: (H, W, C) uint8, RGB or gray; mask: (H, W), 1 = known pixel.
"""
import cv2
import numpy as np

METHODS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}


def inpaint(image, mask, method="telea", radius=3):
    """Fill the hole with cv2.inpaint; returns (H, W, C) uint8 with known pixels unchanged."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: use {', '.join(METHODS)}")
    image = np.ascontiguousarray(image, np.uint8)
    hole = (np.asarray(mask) < 0.5).astype(np.uint8)
    src = image[..., 0] if image.shape[-1] == 1 else image
    out = cv2.inpaint(src, hole, radius, METHODS[method])
    return out.reshape(image.shape)
