import numpy as np
import pytest

from training.random_masks import KINDS, random_mask, random_masks


@pytest.mark.parametrize("size", [28, 64])
def test_every_mask_has_a_hole_and_known_pixels(size):
    masks = random_masks(200, size, np.random.default_rng(0))
    assert masks.shape == (200, size, size, 1) and masks.dtype == np.float32
    assert set(np.unique(masks)) <= {0.0, 1.0}
    holes = 1 - masks.mean(axis=(1, 2, 3))
    assert np.all((holes > 0) & (holes < 1))
    # a varied mix: small strokes and boxes up to most of the image
    assert holes.min() < 0.1 and holes.max() > 0.6


def test_masks_are_reproducible_and_vary():
    a = random_masks(8, 28, np.random.default_rng(5))
    b = random_masks(8, 28, np.random.default_rng(5))
    assert np.array_equal(a, b)
    assert len({m.tobytes() for m in a}) == 8
    assert abs(sum(KINDS.values()) - 1) < 1e-9


def test_single_mask_shape():
    assert random_mask(16, np.random.default_rng(0)).shape == (16, 16)
