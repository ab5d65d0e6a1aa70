"""Strict checking of incoming socket payloads. Nothing reaches the engine or the
filesystem before it passes here; every failure is a `RequestError` with a
stable code from `protocol.ERROR_CODES` and a message that says what is allowed."""
import dataclasses
import math

import numpy as np

from app.engine import imageio
from app.engine.dream import DreamParams
from app.engine.imageio import to_float
from app.engine.masks import check_inputs, mask_from_hole_image
from app.engine.params import PLAIN_SEARCH, CompletionParams
from app.engine.style import StyleParams
from app.web.protocol import (CANCEL_KEYS, COMPLETE_KEYS, DREAM_KEYS, DREAM_PARAM_KEYS, ERROR_CODES, LIMITS,
                              PARAM_KEYS, SOURCE_KEYS, STYLE_KEYS, STYLE_PARAM_KEYS)

BYTES = (bytes, bytearray, memoryview)
SEED_MAX = LIMITS["seed"][1]


class RequestError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def bad(message, code=ERROR_CODES["BAD_REQUEST"]):
    return RequestError(code, message)


@dataclasses.dataclass(eq=False)
class JobRequest:
    model: str
    image: np.ndarray        # (H, W, C) uint8
    mask: np.ndarray         # (H, W) float32, 1 = known
    params: CompletionParams
    kind = "complete"

    def describe(self):
        return f"model={self.model} steps={self.params.steps} restarts={self.params.restarts}"


@dataclasses.dataclass(eq=False)
class DreamRequest:
    features: str            # "random" or "d:MODEL"
    image: np.ndarray        # (H, W, 3) uint8, RGB (a digit sample is repeated into RGB)
    params: DreamParams
    kind = "dream"

    def describe(self):
        h, w = self.image.shape[:2]
        return f"features={self.features} layer={self.params.layer} size={w}x{h} steps={self.params.steps}"


@dataclasses.dataclass(eq=False)
class StyleRequest:
    features: str
    content: np.ndarray      # (H, W, C) uint8
    style: np.ndarray        # (h, w, C) uint8
    params: StyleParams
    kind = "style"

    def describe(self):
        return f"features={self.features} size={self.params.size} steps={self.params.steps}"


def check_keys(payload, allowed, what):
    if not isinstance(payload, dict):
        raise bad(f"{what} must be an object, got {type(payload).__name__}")
    unknown = sorted(str(k)[:40] for k in payload if k not in allowed)
    if unknown:
        raise bad(f"unknown key {unknown[0]!r} in {what} (allowed: {', '.join(allowed)})")


def _int(params, key, low, high, default):
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"{key} must be an integer from {low} to {high}")
    if not low <= value <= high:
        raise bad(f"{key} must be from {low} to {high}, got {value}")
    return value


def _float(params, key, low, high, default, low_open=False):
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise bad(f"{key} must be a finite number")
    if value > high or value < low or (low_open and value <= low):
        raise bad(f"{key} must be {'>' if low_open else '>='} {low:g} and <= {high:g}, got {value:g}")
    return float(value)


def model_entry(name, registry):
    if not isinstance(name, str) or not 0 < len(name) <= LIMITS["name_length"]:
        raise bad(f"model must be a name of at most {LIMITS['name_length']} characters")
    try:
        return registry.get(name)
    except (KeyError, ValueError):
        raise bad(f"unknown model {name[:64]!r} (available: {', '.join(registry.names()) or 'none'})",
                  ERROR_CODES["UNKNOWN_MODEL"]) from None


def parse_params(params):
    """The `params` object -> CompletionParams; missing keys take the engine's defaults."""
    params = {} if params is None else params
    check_keys(params, PARAM_KEYS, "params")
    d = CompletionParams()
    blend, fast = params.get("blend", d.blend), params.get("fast", True)
    if not isinstance(blend, bool):
        raise bad("blend must be true or false")
    if not isinstance(fast, bool):
        raise bad("fast must be true or false")
    seed = params.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX):
        raise bad(f"seed must be an integer from 0 to {SEED_MAX}")
    target = params.get("class")
    if target is not None and (isinstance(target, bool) or not isinstance(target, int) or target < 0):
        raise bad("class must be a class number (0, 1, ...), or left out to search every class")
    return CompletionParams(
        target_class=target,
        steps=_int(params, "steps", *LIMITS["steps"], d.steps),
        restarts=_int(params, "restarts", *LIMITS["restarts"], d.restarts),
        lam=_float(params, "lambda", *LIMITS["lambda"], d.lam),
        lr=_float(params, "lr", *LIMITS["lr"], d.lr),
        blend=blend, seed=seed,
        **({} if fast else PLAIN_SEARCH))


def _image_bytes(value, what, max_bytes):
    if not isinstance(value, BYTES):
        raise bad(f"{what} must be binary image data (PNG, JPEG or WebP)", ERROR_CODES["BAD_IMAGE"])
    if len(value) > max_bytes:
        raise bad(f"{what} is {len(value)} bytes; the limit is {max_bytes}", ERROR_CODES["BAD_IMAGE"])
    return bytes(value)


def decode_checked(data, channels, what, max_pixels, size, hint):
    """Decode socket image bytes that must be exactly `size` (w, h): the header is
    checked first, so an oversized image is refused without decoding it."""
    try:
        return imageio.decode(data, channels, max_pixels=max_pixels, size=size)
    except imageio.WrongSize as exc:
        raise bad(f"{what} is {exc.actual[0]}x{exc.actual[1]} but {hint}", ERROR_CODES["BAD_IMAGE"]) from None
    except ValueError as exc:
        raise bad(f"{what}: {exc}", ERROR_CODES["BAD_IMAGE"]) from None


def parse_complete(payload, registry, max_bytes, max_pixels):
    """Validate a `complete` payload against the loaded models -> JobRequest."""
    check_keys(payload, COMPLETE_KEYS, "complete")
    name = payload.get("model")
    entry = model_entry(name, registry)
    h, w, c = entry.model.image_shape
    if ("sample" in payload) == ("image" in payload):
        raise bad("give exactly one of sample (an id) or image (bytes)")
    if "sample" in payload:
        try:
            image = entry.sample_image(payload["sample"])
        except (KeyError, TypeError):
            raise bad(f"model {name} has no sample {str(payload['sample'])[:64]!r}",
                      ERROR_CODES["UNKNOWN_SAMPLE"]) from None
    else:
        image = decode_checked(_image_bytes(payload["image"], "image", max_bytes), c, "image", max_pixels, (w, h),
                               f"model {name} takes {w}x{h}; crop it with /api/prepare first")
    if "mask" not in payload:
        raise bad("mask is required: PNG bytes, white = hole")
    hole = decode_checked(_image_bytes(payload["mask"], "mask", max_bytes), 1, "mask", max_pixels, (w, h),
                          f"the image is {w}x{h}; masks are never resized")
    mask = mask_from_hole_image(hole[..., 0])
    try:
        check_inputs(to_float(image), mask, entry.model.image_shape)
    except ValueError as exc:
        raise bad(str(exc)) from None
    params = parse_params(payload.get("params"))
    classes = entry.model.manifest.num_classes
    if params.target_class is not None and params.target_class >= classes:
        raise bad(f"model {name} has no classes to complete as" if not classes else
                  f"class must be from 0 to {classes - 1} for model {name}, got {params.target_class}")
    return JobRequest(name, image, mask, params)


def parse_cancel(payload):
    """A `cancel` payload -> the job id to cancel, or None for the client's current job."""
    if payload is None:
        return None
    check_keys(payload, CANCEL_KEYS, "cancel")
    job = payload.get("job")
    if job is not None and (not isinstance(job, str) or len(job) > 64):
        raise bad("job must be a job id string")
    return job


# -- the Lab ----------------------------------------------------------------------


def parse_source(source, what, registry, max_bytes, max_pixels):
    """{model, sample} or {image: bytes} -> (H, W, 3) uint8 (a digit sample is made RGB).
    An uploaded image's longest side is at most LIMITS["lab_side"]."""
    check_keys(source, SOURCE_KEYS, what)
    if ("sample" in source) == ("image" in source):
        raise bad(f"{what} needs exactly one of sample (with its model) or image (bytes)")
    if "sample" in source:
        entry = model_entry(source.get("model"), registry)
        try:
            image = entry.sample_image(source["sample"])
        except (KeyError, TypeError):
            raise bad(f"model {source['model']} has no sample {str(source['sample'])[:64]!r}",
                      ERROR_CODES["UNKNOWN_SAMPLE"]) from None
        return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image
    if "model" in source:
        raise bad(f"{what}: model goes with sample, not with image")
    side, least = LIMITS["lab_side"], LIMITS["lab_min_side"]
    try:
        image = imageio.decode(_image_bytes(source["image"], f"{what} image", max_bytes), 3,
                               max_pixels=max_pixels, max_side=side, max_aspect=LIMITS["lab_aspect"])
    except ValueError as exc:
        raise bad(f"{what} image: {exc} (the Lab takes images of {least} to {side} px a side, at most "
                  f"{LIMITS['lab_aspect']}:1)", ERROR_CODES["BAD_IMAGE"]) from None
    if min(image.shape[:2]) < least:
        raise bad(f"{what} image is {image.shape[1]}x{image.shape[0]}; the Lab needs at least {least} px a side",
                  ERROR_CODES["BAD_IMAGE"])
    return image


def _features(spec, registry):
    """A valid feature spec, its network built here (off the socket loop) so that costing
    the job later, under the job manager's lock, finds it ready."""
    try:
        registry.lab(spec if isinstance(spec, str) else "")
    except KeyError:
        raise bad(f"features must be one of {', '.join(registry.feature_specs())}, got {str(spec)[:64]!r}") from None
    return spec


def parse_dream(payload, registry, max_bytes, max_pixels):
    """Validate a `dream` payload -> DreamRequest."""
    check_keys(payload, DREAM_KEYS, "dream")
    features = _features(payload.get("features"), registry)
    layers = registry.feature_layers(features)
    layer = payload.get("layer")
    if not isinstance(layer, str) or layer not in layers:
        raise bad(f"layer must be one of {', '.join(layers)} for {features}, got {str(layer)[:40]!r}")
    image = parse_source(payload.get("source"), "source", registry, max_bytes, max_pixels)
    params = {} if payload.get("params") is None else payload["params"]
    check_keys(params, DREAM_PARAM_KEYS, "params")
    channels = params.get("channels", [])
    width = layers[layer]
    if (not isinstance(channels, list) or len(channels) > LIMITS["channels"]
            or any(isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < width for c in channels)):
        raise bad(f"channels must be a list of at most {LIMITS['channels']} channel numbers "
                  f"from 0 to {width - 1} (layer {layer} has {width})")
    d = DreamParams(layer=layer)
    seed = params.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX):
        raise bad(f"seed must be an integer from 0 to {SEED_MAX}")
    return DreamRequest(features, image, DreamParams(
        layer=layer, channels=tuple(sorted(set(channels))),
        steps=_int(params, "steps", *LIMITS["dream_steps"], d.steps),
        step_size=_float(params, "step_size", *LIMITS["step_size"], d.step_size),
        octaves=_int(params, "octaves", *LIMITS["octaves"], d.octaves),
        octave_scale=_float(params, "octave_scale", *LIMITS["octave_scale"], d.octave_scale),
        seed=seed))


def parse_style(payload, registry, max_bytes, max_pixels):
    """Validate a `style` payload -> StyleRequest."""
    check_keys(payload, STYLE_KEYS, "style")
    features = _features(payload.get("features"), registry)
    content = parse_source(payload.get("content"), "content", registry, max_bytes, max_pixels)
    style = parse_source(payload.get("style"), "style", registry, max_bytes, max_pixels)
    params = {} if payload.get("params") is None else payload["params"]
    check_keys(params, STYLE_PARAM_KEYS, "params")
    d = StyleParams()
    weights = {key: _float(params, key, *LIMITS["weight"], getattr(d, key))
               for key in ("content_weight", "style_weight", "histogram_weight", "smoothness_weight")}
    return StyleRequest(features, content, style, StyleParams(
        steps=_int(params, "steps", *LIMITS["style_steps"], d.steps),
        size=_int(params, "size", *LIMITS["style_size"], d.size), **weights))
