import numpy as np
import pytest

from bench.data import DEFAULT_MASKS, make_mask
from bench.metrics import PSNR_CAP, l1, psnr, scores


def test_psnr_of_identical_images_is_capped():
    a = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert psnr(a, a) == PSNR_CAP


def test_psnr_known_value():
    a = np.zeros((8, 8, 1), np.uint8)
    b = np.full((8, 8, 1), 255, np.uint8)
    assert psnr(a, b) == pytest.approx(0.0)
    c = np.full((8, 8, 1), 16, np.uint8)          # mse 256 -> 10 log10(255^2 / 256)
    assert psnr(a, c) == pytest.approx(10 * np.log10(255 ** 2 / 256))


def test_hole_psnr_only_uses_hole_pixels():
    truth = np.zeros((8, 8, 3), np.uint8)
    out = truth.copy()
    out[:4] = 200                                  # errors only outside the hole
    mask = np.ones((8, 8), np.float32)
    mask[4:] = 0                                   # the hole is the bottom half
    s = scores(truth, out, mask)
    assert s["psnr_hole"] == PSNR_CAP and s["l1_hole"] == 0
    assert s["psnr"] < 20
    assert l1(truth, out) == pytest.approx(0.5 * 200 / 255)


@pytest.mark.parametrize("size", [28, 64])
@pytest.mark.parametrize("name, share", [("center", 0.25), ("half", 0.5), ("bottom", 0.5), ("random80", 0.8),
                                         ("eyes", None), ("mouth", None)])
def test_masks_fit_both_sizes(size, name, share):
    mask = make_mask(name, size, seed=1)
    assert mask.shape == (size, size) and mask.dtype == np.float32
    hole = 1 - mask.mean()
    if share is not None:
        assert hole == pytest.approx(share, abs=0.03)
    else:
        assert 0.1 < hole < 0.2
    assert set(np.unique(mask)) <= {0.0, 1.0}
    if name == "half":
        assert mask[:, : size // 2].max() == 0 and mask[:, size // 2:].min() == 1


def test_random_masks_are_seeded():
    assert np.array_equal(make_mask("random80", 28, 3), make_mask("random80", 28, 3))
    assert not np.array_equal(make_mask("random80", 28, 3), make_mask("random80", 28, 4))


def test_unknown_mask():
    with pytest.raises(ValueError, match="unknown mask"):
        make_mask("nose", 64)


def test_default_masks_all_exist():
    for name in DEFAULT_MASKS:
        make_mask(name, 64)
