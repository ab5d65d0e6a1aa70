import numpy as np
import pytest

from app.engine.blend import poisson_blend


def smooth_image(size=64):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    img = np.stack([100 + 60 * np.sin(xx / 9) + yy, 80 + 50 * np.cos(yy / 7), 60 + xx + yy / 2], -1)
    return np.clip(img, 0, 215).astype(np.uint8)


@pytest.mark.parametrize("hole", [np.s_[16:48, 16:48], np.s_[:, :32], np.s_[32:, :], np.s_[40:50, 5:60]])
def test_a_constant_offset_in_the_fill_is_removed(hole):
    truth = smooth_image()
    mask = np.ones((64, 64), np.float32)
    mask[hole] = 0
    fill = truth + 40                      # right texture, wrong brightness
    target = np.where(mask[..., None] > 0.5, truth, fill)
    out = poisson_blend(fill, target, mask)
    in_hole = mask < 0.5
    assert np.abs(fill[in_hole].astype(int) - truth[in_hole]).mean() == pytest.approx(40)
    assert np.abs(out[in_hole].astype(int) - truth[in_hole]).mean() < 1.0
    assert np.array_equal(out[~in_hole], truth[~in_hole])


def test_gray_images_blend_too():
    truth = smooth_image(28)[..., :1]
    mask = np.ones((28, 28), np.float32)
    mask[14:] = 0
    fill = truth + 30
    out = poisson_blend(fill, np.where(mask[..., None] > 0.5, truth, fill), mask)
    assert out.shape == (28, 28, 1)
    assert np.abs(out[14:].astype(int) - truth[14:]).mean() < 1.0
