import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from app.engine import imageio
from app.web.protocol import ERROR_CODES, EVENTS
from tests.web.helpers import complete_payload, hole_png, wait_for


def png_bytes(array):
    return imageio.encode_png(array)


def fake_png_header(width, height):
    """A PNG whose header claims a huge size (a decompression bomb's calling card)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")


def encoded(fmt, size=(16, 16)):
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buf, format=fmt)
    return buf.getvalue()


GOOD = png_bytes(np.full((16, 16, 3), 100, np.uint8))

CASES = {
    "zero bytes": (b"", "empty"),
    "corrupt": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "not a readable image"),
    "truncated": (GOOD[: len(GOOD) // 2], "corrupt or truncated"),
    "one pixel": (png_bytes(np.zeros((1, 1, 3), np.uint8)), "image is 1x1 but model tiny takes 16x16"),
    "bomb": (fake_png_header(100000, 100000), "pixels"),
    "gif": (encoded("GIF"), "unsupported image format GIF"),
    "bmp": (encoded("BMP"), "unsupported image format BMP"),
    "text": (b"hello, I am not an image", "not a readable image"),
    "not bytes": ("a string", "binary image data"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_images_get_a_clear_error(sio, case):
    data, message = CASES[case]
    payload = complete_payload(image=data)
    del payload["sample"]
    sio.emit(EVENTS["COMPLETE"], payload)
    error = wait_for(sio, EVENTS["ERROR"], timeout=10)[-1][1]
    assert error["code"] == ERROR_CODES["BAD_IMAGE"], error
    assert message in error["message"]


def test_jpeg_and_webp_are_accepted(sio):
    for fmt in ("JPEG", "WEBP"):
        payload = complete_payload(image=encoded(fmt), params={"steps": 2, "restarts": 1})
        del payload["sample"]
        sio.emit(EVENTS["COMPLETE"], payload)
        assert wait_for(sio, EVENTS["DONE"])[-1][0] == EVENTS["DONE"]


@pytest.mark.parametrize("mask, message", [
    (hole_png(32, (0, 8, 0, 8)), "mask is 32x32 but the image is 16x16"),
    (b"\x89PNGbroken", "mask: not a readable image"),
    (png_bytes(np.zeros((16, 16), np.uint8)), "no hole"),
    (png_bytes(np.full((16, 16), 255, np.uint8)), "no known pixel"),
])
def test_bad_masks(sio, mask, message):
    sio.emit(EVENTS["COMPLETE"], complete_payload(mask=mask))
    error = wait_for(sio, EVENTS["ERROR"], timeout=10)[-1][1]
    assert message in error["message"]


def test_oversized_upload_is_refused_before_decoding(make_app):
    from app.web import socketio
    app = make_app(MAX_IMAGE_BYTES=1000)
    client = socketio.test_client(app)
    payload = complete_payload(image=b"\x89PNG" + b"\0" * 5000)
    del payload["sample"]
    client.emit(EVENTS["COMPLETE"], payload)
    error = wait_for(client, EVENTS["ERROR"], timeout=10)[-1][1]
    assert error["code"] == ERROR_CODES["BAD_IMAGE"] and "limit is 1000" in error["message"]
    client.disconnect()


@pytest.mark.parametrize("sample", ["../../etc/passwd", "..", "000.png", "999", "a/b"])
def test_sample_ids_never_reach_the_filesystem(sio, sample):
    sio.emit(EVENTS["COMPLETE"], complete_payload(sample=sample))
    error = wait_for(sio, EVENTS["ERROR"], timeout=10)[-1][1]
    assert error["code"] == ERROR_CODES["UNKNOWN_SAMPLE"]


@pytest.mark.parametrize("model", ["../tiny", "tiny/..", "/etc", "tiny\x00"])
def test_model_names_never_reach_the_filesystem(sio, model):
    sio.emit(EVENTS["COMPLETE"], complete_payload(model=model))
    assert wait_for(sio, EVENTS["ERROR"], timeout=10)[-1][1]["code"] == ERROR_CODES["UNKNOWN_MODEL"]


@pytest.mark.parametrize("params, message", [
    ({"steps": 0}, "steps must be from 1 to 5000"),
    ({"steps": 5001}, "steps must be from 1 to 5000"),
    ({"steps": 2.5}, "steps must be an integer"),
    ({"steps": True}, "steps must be an integer"),
    ({"restarts": 129}, "restarts must be from 1 to 128"),
    ({"lambda": float("nan")}, "lambda must be a finite number"),
    ({"lambda": 11}, "lambda must be"),
    ({"lr": 0}, "lr must be >= 1e-06"),
    ({"lr": float("inf")}, "lr must be a finite number"),
    ({"seed": -1}, "seed must be an integer"),
    ({"seed": "7"}, "seed must be an integer"),
    ({"blend": "yes"}, "blend must be true or false"),
    ({"fast": 1}, "fast must be true or false"),
    ({"steps": 10, "speed": 3}, "unknown key 'speed' in params"),
])
def test_params_are_checked(sio, params, message):
    sio.emit(EVENTS["COMPLETE"], complete_payload(params=params))
    error = wait_for(sio, EVENTS["ERROR"], timeout=10)[-1][1]
    assert error["code"] == ERROR_CODES["BAD_REQUEST"] and message in error["message"]
