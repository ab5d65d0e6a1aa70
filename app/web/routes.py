"""HTTP routes: the page, the model list, samples, face/digit preparation and health."""
import cv2
from flask import Blueprint, abort, current_app, jsonify, render_template, request, send_file

from app.engine import imageio
from app.engine.dream import DreamParams
from app.engine.params import CompletionParams
from app.engine.style import StyleParams
from app.engine.prepare import BadBox, prepare
from app.web.protocol import ERROR_CODES, LIMITS
from app.web.registry import SAMPLE_ID_RE

bp = Blueprint("regen", __name__)
MAX_ASPECT = LIMITS["aspect"]


def _registry():
    return current_app.extensions["regen"]["registry"]


def _entry(name):
    try:
        return _registry().get(name)
    except (KeyError, ValueError):
        abort(404, description=f"unknown model {name[:64]!r}")


@bp.get("/")
def index():
    return render_template("index.html", defaults=CompletionParams(), limits=LIMITS,
                           dream=DreamParams(layer=""), style=StyleParams())


@bp.get("/api/models")
def models():
    reg = _registry()
    return jsonify([reg.entries[n].model.summary() for n in reg.names()])


@bp.get("/api/features")
def features():
    """The Lab's feature networks: [{name, title, channels, layers: [{name, shape}]}]."""
    reg = _registry()
    blocking = current_app.extensions["regen"]["jobs"].blocking
    return jsonify([blocking(lambda spec=spec: reg.lab(spec).net.describe()) for spec in reg.feature_specs()])


@bp.get("/api/models/<name>/samples")
def samples(name):
    entry = _entry(name)
    return jsonify([{"id": sid, "url": f"/api/models/{name}/samples/{sid}.png"} for sid in sorted(entry.samples)])


@bp.get("/api/models/<name>/samples/<sample_id>.png")
def sample_image(name, sample_id):
    entry = _entry(name)
    if not SAMPLE_ID_RE.match(sample_id) or sample_id not in entry.samples:
        abort(404, description=f"model {name} has no sample {sample_id[:64]!r}")
    return send_file(entry.samples[sample_id], mimetype="image/png", max_age=3600)


@bp.get("/api/models/<name>/<asset>.png")
def model_asset(name, asset):
    if asset not in ("grid", "losses"):
        abort(404)
    entry = _entry(name)
    return send_file(f"{entry.model.folder}/{asset}.png", mimetype="image/png", max_age=3600)


@bp.post("/api/prepare")
def prepare_upload():
    """Turn an uploaded photo into the model's input: faces are found and cropped,
    digits made gray and inverted if needed. Body: the image bytes; ?model=NAME.

    ?box=x,y,side crops that square instead (the user moved or resized the crop).
    Returns {image: data URL of the crop, box: [x, y, w, h] of the crop in the
    original, face_found: bool, inverted: bool}.
    """
    entry = _entry(request.args.get("model", ""))
    box = None
    if "box" in request.args:
        try:
            box = [int(v) for v in request.args["box"].split(",")]
        except ValueError:
            return jsonify({"code": ERROR_CODES["BAD_REQUEST"], "message": "box must be x,y,side in pixels"}), 400
    if request.content_length is None:
        # a chunked upload has no length to check against the limit before reading it
        abort(411, description="send the image with a Content-Length header (no chunked uploads)")
    data = request.get_data(cache=False)
    cfg = current_app.config
    blocking = current_app.extensions["regen"]["jobs"].blocking

    def decode_and_prepare():
        photo = imageio.decode(data, 3, max_pixels=cfg["MAX_IMAGE_PIXELS"], max_side=cfg["MAX_IMAGE_SIDE"],
                               max_aspect=MAX_ASPECT)
        return prepare(photo, entry.model.image_shape, entry.model.summary()["kind"], box)

    try:
        prepared = blocking(decode_and_prepare)   # decoding and OpenCV work stay off the socket loop
    except BadBox as exc:
        return jsonify({"code": ERROR_CODES["BAD_REQUEST"], "message": str(exc)}), 400
    except (ValueError, cv2.error, MemoryError) as exc:
        message = str(exc) if isinstance(exc, ValueError) else "the image could not be processed"
        return jsonify({"code": ERROR_CODES["BAD_IMAGE"], "message": message}), 400
    return jsonify({"image": "data:image/png;base64," + prepared.png_base64(), "box": prepared.box,
                    "face_found": prepared.face_found, "inverted": prepared.inverted})


@bp.get("/healthz")
def healthz():
    ext = current_app.extensions["regen"]
    return jsonify({"status": "ok", "models": _registry().names(), "jobs": ext["jobs"].stats()})

