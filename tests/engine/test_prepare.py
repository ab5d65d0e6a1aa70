import os

import cv2
import numpy as np

from app.engine.prepare import find_face, prepare
from tests.conftest import DATA_DIR, needs_shared_data


@needs_shared_data
def test_a_face_in_a_bigger_photo_is_found_and_cropped_like_training_faces():
    face = np.load(os.path.join(DATA_DIR, "faces64_val.npz"))["images"][3]
    big = cv2.resize(face, (256, 256), interpolation=cv2.INTER_CUBIC)
    photo = np.full((480, 640, 3), 90, np.uint8)
    photo[100:356, 300:556] = big
    prepared = prepare(photo, (64, 64, 3), "faces")
    assert prepared.face_found
    x, y, side, _ = prepared.box
    assert 150 < side < 360
    assert abs((x + side / 2) - 428) < 40 and abs((y + side / 2) - 228) < 50, prepared.box
    assert prepared.image.shape == (64, 64, 3)
    # the crop looks like the training face it came from
    diff = np.abs(prepared.image.astype(int) - face.astype(int)).mean()
    assert diff < 40, diff


def test_no_face_falls_back_to_the_central_square():
    photo = np.random.default_rng(0).integers(0, 256, (100, 200, 3), dtype=np.uint8)
    assert find_face(photo) is None
    prepared = prepare(photo, (64, 64, 3), "faces")
    assert not prepared.face_found and prepared.box == [50, 0, 100, 100]
    assert prepared.image.shape == (64, 64, 3)


def test_digit_is_centred_with_mnist_margins():
    photo = np.zeros((200, 200, 3), np.uint8)
    photo[20:120, 140:160] = 255                         # a white bar off-centre, on black
    prepared = prepare(photo, (28, 28, 1), "digits")
    assert not prepared.inverted
    ink = np.argwhere(prepared.image[..., 0] > 64)
    assert 18 <= ink[:, 0].max() - ink[:, 0].min() + 1 <= 22, "20 of 28 pixels tall"
    centre = ink.mean(0)
    assert np.all(np.abs(centre - 13.5) < 2)
