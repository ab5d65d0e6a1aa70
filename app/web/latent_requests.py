"""The latent lab's requests: strict checking of `morph`, `project`, `samples`,
`generate` and `arithmetic` payloads (see protocol.py), and the answers of the
instant ones (one batch of G, no queue). Every failure is a `RequestError`."""
import dataclasses
import math

import numpy as np

from app.engine import imageio, latent
from app.web.protocol import (ARITHMETIC_KEYS, GENERATE_KEYS, LIMITS, MORPH_KEYS, PROJECT_KEYS,
                              SAMPLES_KEYS)
from app.web.validation import (SEED_MAX, _image_bytes, _int, bad, check_keys, decode_checked,
                                model_entry)


@dataclasses.dataclass(eq=False)
class MorphRequest:
    model: str
    z_a: np.ndarray          # (d,) float32 in [-1, 1]
    z_b: np.ndarray
    frames: int
    kind = "morph"

    def describe(self):
        return f"model={self.model} frames={self.frames}"


@dataclasses.dataclass(eq=False)
class ProjectRequest:
    model: str
    image: np.ndarray        # (H, W, C) uint8 at the model's size
    steps: int = 200
    restarts: int = 8
    kind = "project"

    def describe(self):
        return f"model={self.model} steps={self.steps} restarts={self.restarts}"


def parse_z(value, model, what):
    """A list of latent_dim finite numbers in [-1, 1] -> (d,) float32."""
    d = model.latent_dim
    if (not isinstance(value, list) or len(value) != d
            or any(isinstance(x, bool) or not isinstance(x, (int, float)) or not -1 <= x <= 1 or not math.isfinite(x)
                   for x in value)):
        raise bad(f"{what} must be a list of {d} numbers from -1 to 1 (model {model.name}'s z)")
    return np.asarray(value, np.float32)


def _seed(payload, default=0):
    seed = payload.get("seed", default)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise bad(f"seed must be an integer from 0 to {SEED_MAX}")
    return seed


def _class(payload, model):
    """The payload's class (None if absent) for a conditioned model."""
    value = payload.get("class")
    if value is None:
        return None
    k = model.manifest.num_classes
    if not k:
        raise bad(f"model {model.name} has no classes")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < k:
        raise bad(f"class must be from 0 to {k - 1} for model {model.name}")
    return value


def parse_morph(payload, registry, max_bytes, max_pixels):
    check_keys(payload, MORPH_KEYS, "morph")
    entry = model_entry(payload.get("model"), registry)
    ends = []
    for key in ("a", "b"):
        end = payload.get(key)
        check_keys(end, ("z",), key)
        ends.append(parse_z(end.get("z"), entry.model, f"{key}.z"))
    frames = _int(payload, "frames", *LIMITS["frames"], 16)
    return MorphRequest(payload["model"], ends[0], ends[1], frames)


def parse_project(payload, registry, max_bytes, max_pixels):
    check_keys(payload, PROJECT_KEYS, "project")
    entry = model_entry(payload.get("model"), registry)
    h, w, c = entry.model.image_shape
    if "image" not in payload:
        raise bad("image is required: PNG, JPEG or WebP bytes at the model's size")
    image = decode_checked(_image_bytes(payload["image"], "image", max_bytes), c, "image", max_pixels, (w, h),
                           f"model {payload['model']} takes {w}x{h}; crop it with /api/prepare first")
    return ProjectRequest(payload["model"], image)


@dataclasses.dataclass
class Instant:
    """A checked instant request: `images` passes of G it will cost (the rate counts
    them) and `answer()` -> the acknowledgement."""

    images: int
    answer: object


def samples(payload, registry):
    """`samples` -> {samples: [{z}], images: the PNGs end to end, sizes: their byte counts}:
    `count` samples of z from `seed`."""
    check_keys(payload, SAMPLES_KEYS, "samples")
    model = model_entry(payload.get("model"), registry).model
    count = _int(payload, "count", *LIMITS["count"], 16)
    z = latent.seeded_z(model, _seed(payload), count, _class(payload, model))

    def answer():
        pngs = [imageio.encode_png(im) for im in latent.generate(model, z)]
        # one binary attachment for all: Socket.IO's JS parser refuses a packet of more than 10
        return {"samples": [{"z": [round(float(v), 6) for v in zi]} for zi in z],
                "images": b"".join(pngs), "sizes": [len(p) for p in pngs]}

    return Instant(count, answer)


def generate(payload, registry):
    """`generate` -> {z, image}: G(z) with the class and the continuous codes set."""
    check_keys(payload, GENERATE_KEYS, "generate")
    model = model_entry(payload.get("model"), registry).model
    z = parse_z(payload.get("z"), model, "z")
    codes = payload.get("codes")
    if codes is not None:
        count = (model.manifest.continuous or {}).get("count", 0)
        if not count:
            raise bad(f"model {model.name} has no continuous codes")
        if (not isinstance(codes, list) or len(codes) != count
                or any(isinstance(x, bool) or not isinstance(x, (int, float)) or not -1 <= x <= 1 for x in codes)):
            raise bad(f"codes must be a list of {count} numbers from -1 to 1")
    z = latent.with_codes(model, z, _class(payload, model), codes)
    return Instant(1, lambda: {"z": [round(float(v), 6) for v in z],
                               "image": imageio.encode_png(latent.generate(model, z[None])[0])})


def arithmetic(payload, registry):
    """`arithmetic` -> {z, image, variations: [image], nearest: [index into the pool]}."""
    check_keys(payload, ARITHMETIC_KEYS, "arithmetic")
    model = model_entry(payload.get("model"), registry).model
    groups = []
    for key in ("a", "b", "c"):
        group = payload.get(key)
        if not isinstance(group, list) or not 1 <= len(group) <= LIMITS["group"]:
            raise bad(f"{key} must be a list of 1 to {LIMITS['group']} z vectors")
        groups.append(np.stack([parse_z(z, model, f"{key}[{i}]") for i, z in enumerate(group)]))
    variations = _int(payload, "variations", *LIMITS["variations"], 4)
    seed = _seed(payload)
    pool = payload.get("pool")
    if pool is not None:
        check_keys(pool, ("seed", "count"), "pool")
        pool = latent.seeded_z(model, _seed(pool), _int(pool, "count", *LIMITS["count"], 16))

    def answer():
        zs, images = latent.arithmetic(model, groups, variations, seed=seed)
        reply = {"z": [round(float(v), 6) for v in zs[0]], "image": imageio.encode_png(images[0]),
                 "variations": [imageio.encode_png(im) for im in images[1:]], "nearest": []}
        if pool is not None:
            reply["nearest"] = [int(i) for i in latent.nearest(images, latent.generate(model, pool))]
        return reply

    return Instant(1 + variations + (0 if pool is None else len(pool)), answer)


# the instant requests by event name: (payload, registry) -> Instant
INSTANT = {"samples": samples, "generate": generate, "arithmetic": arithmetic}
