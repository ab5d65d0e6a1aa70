import numpy as np
import pytest

from app.engine.masks import check_inputs, hole_image, importance_weights, mask_from_hole_image


def centre_mask(size=16, hole=8):
    m = np.ones((size, size), np.float32)
    a = (size - hole) // 2
    m[a:a + hole, a:a + hole] = 0
    return m


def test_weights_follow_the_paper():
    m = centre_mask()
    w = importance_weights(m, 7)
    assert np.all(w[m == 0] == 0), "hole pixels carry no weight"
    # the hole is rows/cols 4-11: the 7x7 window around (3, 3) holds its 3x3 corner
    assert w[3, 3] == pytest.approx(9 / 49)
    assert w[0, 0] == 0, "pixels farther than 3 from the hole get no weight"
    assert w.max() < 1
    # brute force the definition
    hole = 1 - m
    padded = np.pad(hole, 3)
    ref = np.array([[m[i, j] * padded[i:i + 7, j:j + 7].sum() / 49 for j in range(16)] for i in range(16)])
    np.testing.assert_allclose(w, ref, atol=1e-6)


def test_weight_floor_reaches_every_known_pixel():
    m = centre_mask()
    w = importance_weights(m, 7, floor=0.1)
    assert np.all(w[m == 0] == 0)
    assert w[0, 0] == pytest.approx(0.1) and w[3, 3] == pytest.approx(9 / 49)
    np.testing.assert_array_equal(w, np.where(m > 0, np.maximum(importance_weights(m, 7), 0.1), 0))


def test_weight_window_must_be_odd():
    with pytest.raises(ValueError, match="odd"):
        importance_weights(centre_mask(), 4)


def test_hole_image_round_trip():
    m = centre_mask()
    assert np.array_equal(mask_from_hole_image(hole_image(m)), m)
    rgb = np.repeat(hole_image(m)[..., None], 3, axis=2)
    assert np.array_equal(mask_from_hole_image(rgb), m)


@pytest.mark.parametrize("image, mask, message", [
    (np.zeros((16, 16, 3)), np.ones((8, 8)), "mask is 8x8 but the image is 16x16"),
    (np.zeros((16, 16, 3)), np.ones((16, 16)), "no hole"),
    (np.zeros((16, 16, 3)), np.zeros((16, 16)), "no known pixel"),
    (np.full((16, 16, 3), np.nan), centre_mask(), "NaN"),
    (np.zeros((8, 8, 3)), centre_mask(8, 2), "image is 8x8x3 but the model takes 16x16x3"),
    (np.full((16, 16, 3), 3.0), centre_mask(), r"must be in \[-1, 1\]"),
])
def test_bad_inputs_say_what_is_wrong(image, mask, message):
    with pytest.raises(ValueError, match=message):
        check_inputs(image, mask, (16, 16, 3))
