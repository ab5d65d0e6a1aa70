"""Strict checking of incoming socket payloads. Nothing reaches the engine or the
filesystem before it passes here; every failure is a `RequestError` with a
stable code from `protocol.ERROR_CODES` and a message that says what is allowed."""
import dataclasses
import math

import numpy as np

from app.engine import imageio
from app.engine.imageio import to_float
from app.engine.params import PLAIN_SEARCH, CompletionParams
from app.engine.masks import check_inputs, mask_from_hole_image
from app.web.protocol import CANCEL_KEYS, COMPLETE_KEYS, ERROR_CODES, LIMITS, PARAM_KEYS

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
    return CompletionParams(
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
    if not isinstance(name, str) or not 0 < len(name) <= LIMITS["name_length"]:
        raise bad(f"model must be a name of at most {LIMITS['name_length']} characters")
    try:
        entry = registry.get(name)
    except (KeyError, ValueError):
        raise bad(f"unknown model {name[:64]!r} (available: {', '.join(registry.names()) or 'none'})",
                  ERROR_CODES["UNKNOWN_MODEL"]) from None
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
    return JobRequest(name, image, mask, parse_params(payload.get("params")))


def parse_cancel(payload):
    """A `cancel` payload -> the job id to cancel, or None for the client's current job."""
    if payload is None:
        return None
    check_keys(payload, CANCEL_KEYS, "cancel")
    job = payload.get("job")
    if job is not None and (not isinstance(job, str) or len(job) > 64):
        raise bad("job must be a job id string")
    return job
