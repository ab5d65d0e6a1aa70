import io

import numpy as np
from PIL import Image

from app.engine import imageio


def test_index_serves_the_page_with_defaults(client):
    res = client.get("/")
    assert res.status_code == 200
    html = res.get_data(as_text=True)
    assert 'id="mask-canvas"' in html and 'name="steps"' in html and "js/main.js" in html
    assert "http://" not in html and "https://" not in html, "nothing is loaded from the internet"


def test_models_list(client):
    models = client.get("/api/models").get_json()
    assert [m["name"] for m in models] == ["tiny", "tiny-gray"]
    assert models[0]["image_shape"] == [16, 16, 3] and models[0]["kind"] == "faces"
    assert models[1]["kind"] == "digits"
    assert models[0]["encoder"] is False, "the tiny models have no encoder"


def test_samples_and_sample_images(client):
    samples = client.get("/api/models/tiny/samples").get_json()
    assert [s["id"] for s in samples] == ["000", "001", "002"]
    with client.get(samples[0]["url"]) as res:
        assert res.status_code == 200 and res.mimetype == "image/png"
        assert Image.open(io.BytesIO(res.data)).size == (16, 16)


def test_unknown_things_are_404_with_json(client):
    for url in ("/api/models/nope/samples", "/api/models/tiny/samples/999.png",
                "/api/models/..%2F..%2Fetc/samples", "/api/models/tiny/secret.png"):
        with client.get(url) as res:
            assert res.status_code == 404, url


def test_model_assets(client):
    with client.get("/api/models/tiny/grid.png") as res:
        assert res.status_code == 200


def test_healthz(client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["models"] == ["tiny", "tiny-gray"]
    assert body["jobs"] == {"waiting": 0, "running": 0, "workers": 1, "clients": 0}


def test_prepare_digit_inverts_light_backgrounds(client):
    photo = np.full((120, 90, 3), 240, np.uint8)
    photo[30:90, 40:50] = 20                              # a dark stroke, a "1"
    res = client.post("/api/prepare?model=tiny-gray", data=imageio.encode_png(photo))
    body = res.get_json()
    assert res.status_code == 200 and body["inverted"] is True
    assert body["image"].startswith("data:image/png;base64,")
    img = imageio.decode(__import__("base64").b64decode(body["image"].split(",", 1)[1]), 1)
    assert img.shape == (16, 16, 1)
    assert img[..., 0].max() > 150 and img[0, 0, 0] < 30, "white digit on black"


def test_prepare_refuses_bad_uploads(client, make_app):
    res = client.post("/api/prepare?model=tiny", data=b"not an image")
    assert res.status_code == 400 and res.get_json()["code"] == "bad_image"
    assert client.post("/api/prepare?model=nope", data=b"x").status_code == 404
    small = make_app(MAX_CONTENT_LENGTH=1000).test_client()
    assert small.post("/api/prepare?model=tiny", data=b"\0" * 5000).status_code == 413
