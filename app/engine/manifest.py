"""The model format, in one place: what a model folder holds and what its
manifest.json says.

A model folder (written by `training.export`, read by `app.engine.model`):

    manifest.json      a `Manifest`: shapes, ranges, the graphs' files and tensor names
                       (a graph entry's "stored_weights": "float16" says its large weights are
                       stored as float16 and cast to float32 inside the graph)
    generator.pb       frozen GraphDef: z (B, latent_dim) -> image (B, H, W, C) in [-1, 1]
    discriminator.pb   frozen GraphDef: image -> (probability of real (B,), logit (B,))
    encoder.pb         optional frozen GraphDef: (image, mask (B, H, W, 1), 1 = known) -> z guess
    *.weights.h5       optional Keras weights of G and D (`weights`), for training on from the model
    samples/           optional held-out images the app offers (PNG, the model's size)

Channel order is RGB for C = 3 and "L" (gray) for C = 1. A manifest of another
`format` than FORMAT is refused rather than half-read.
"""
import dataclasses
import json
import os
import re

import numpy as np


FORMAT = 1
FILE = "manifest.json"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
PERCEPTUAL_TERMS = ("log1m_sigmoid", "neg_critic")   # log(1 - D) = -softplus(logit); -critic(G(z))
GRAPH_ROLES = ("generator", "discriminator")           # required; "encoder" is optional


def check_name(name):
    """Model names are folder names: a letter or digit, then letters, digits, '-' and
    '_', at most 64 in all. Returns the name; ValueError otherwise."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError(f"bad model name {name!r}: use letters, digits, '-' and '_' (at most 64)")
    return name


def has_manifest(folder):
    return os.path.exists(os.path.join(folder, FILE))


@dataclasses.dataclass
class Manifest:
    """manifest.json as fields. `graphs` maps a role (generator, discriminator,
    encoder) to its file and tensor names; `conditioning` is None or
    {"num_classes": K, "offset": i}: z[i:i + K] is a one-hot class code that the
    engine fixes per candidate instead of searching."""

    name: str
    image_shape: tuple                  # (H, W, C)
    latent_dim: int                     # d: the size of G's input, class code included
    graphs: dict
    title: str = ""
    channel_order: str = "RGB"
    pixel_range: tuple = (-1.0, 1.0)
    z_prior: dict = dataclasses.field(default_factory=lambda: {"distribution": "uniform", "low": -1.0, "high": 1.0})
    conditioning: dict | None = None
    continuous: dict | None = None      # InfoGAN: {"count": k, "offset": i}: z[i:i + k] are codes in [-1, 1]
    adversarial_loss: str = "bce"
    perceptual: str = "log1m_sigmoid"
    samples: list = dataclasses.field(default_factory=list)
    training: dict = dataclasses.field(default_factory=dict)   # how it was trained (training.export)
    encoder: dict | None = None                                 # how its encoder was trained
    weights: dict | None = None         # Keras weights for training (--init-from): {"generator": file, ...}
    kind: str | None = None             # "faces" or "digits"; None: by the channel count
    refine_steps: int = 0               # the engine's second stage for this G by default (engine.refine),
                                        #   chosen on its validation data (training.export --refine-steps; 0 unless told)
    format: int = FORMAT

    def __post_init__(self):
        self.image_shape, self.pixel_range = tuple(self.image_shape), tuple(self.pixel_range)
        self.latent_dim = int(self.latent_dim)
        self.validate()

    def validate(self, where="manifest"):
        if self.format != FORMAT:
            raise ValueError(f"{where}: model format {self.format!r}, but this Regen reads format {FORMAT}")
        check_name(self.name)
        if len(self.image_shape) != 3 or self.image_shape[-1] not in (1, 3) or min(self.image_shape) < 1:
            raise ValueError(f"{where}: image_shape must be (H, W, 1 or 3), got {list(self.image_shape)}")
        if self.latent_dim < 1:
            raise ValueError(f"{where}: latent_dim must be at least 1, got {self.latent_dim}")
        if isinstance(self.refine_steps, bool) or not isinstance(self.refine_steps, int) or self.refine_steps < 0:
            raise ValueError(f"{where}: refine_steps must be an integer >= 0, got {self.refine_steps!r}")
        if self.perceptual not in PERCEPTUAL_TERMS:
            raise ValueError(f"{where}: unknown perceptual term {self.perceptual!r}")
        for role in GRAPH_ROLES:
            if not isinstance(self.graphs.get(role), dict) or "file" not in self.graphs[role]:
                raise ValueError(f"{where}: graphs lacks the {role}")
        if self.conditioning:
            k, off = self.conditioning.get("num_classes", 0), self.conditioning.get("offset", -1)
            if not (k >= 1 and 0 <= off and off + k <= self.latent_dim):
                raise ValueError(f"{where}: conditioning {self.conditioning} does not fit latent_dim {self.latent_dim}")
        return self

    @property
    def num_classes(self):
        """K of a conditioned model, 0 for an unconditioned one."""
        return (self.conditioning or {}).get("num_classes", 0)

    def set_classes(self, z, classes):
        """Write the one-hot codes of `classes` ((N,) ints, or one int for all) into the
        class slice of z (N, d) in place, and return z; a no-op for an unconditioned model."""
        if self.conditioning:
            k, off = self.num_classes, self.conditioning["offset"]
            z[:, off:off + k] = np.eye(k, dtype=z.dtype)[np.broadcast_to(np.asarray(classes) % k, len(z))]
        return z

    def class_of(self, z):
        """The class (N,) whose one-hot code z (N, d) is nearest to; None if unconditioned."""
        if not self.conditioning:
            return None
        off = self.conditioning["offset"]
        return np.argmax(z[:, off:off + self.num_classes], axis=1)

    @property
    def model_kind(self):
        return self.kind or ("faces" if self.image_shape[-1] == 3 else "digits")

    def graph_path(self, folder, role):
        return os.path.join(folder, self.graphs[role]["file"])

    @classmethod
    def from_dict(cls, data, where="manifest"):
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown}")
        missing = [k for k in ("format", "name", "image_shape", "latent_dim", "graphs") if k not in data]
        if missing:
            raise ValueError(f"{where} lacks {missing[0]!r}")
        try:
            return cls(**data)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None

    def to_dict(self):
        data = dataclasses.asdict(self)
        data["image_shape"], data["pixel_range"] = list(self.image_shape), list(self.pixel_range)
        for optional in ("encoder", "kind", "weights", "continuous"):
            if data[optional] is None:
                del data[optional]
        return data


def read(folder):
    """The `Manifest` of the model folder; FileNotFoundError if it has none,
    ValueError if it is not valid JSON or not a valid manifest."""
    path = os.path.join(folder, FILE)
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"no {FILE} in {folder}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a JSON object")
    return Manifest.from_dict(data, where=path)


def write(folder, manifest):
    with open(os.path.join(folder, FILE), "w") as f:
        json.dump(manifest.validate().to_dict(), f, indent=2)


def read_graph_def(path):
    """The frozen GraphDef at path; ValueError if it cannot be read."""
    import tensorflow as tf   # here, so that reading a manifest does not load TensorFlow
    from google.protobuf.message import DecodeError

    graph_def = tf.compat.v1.GraphDef()
    try:
        with open(path, "rb") as f:
            graph_def.ParseFromString(f.read())
    except (OSError, DecodeError) as exc:
        raise ValueError(f"cannot read graph {path}: {exc}") from exc
    return graph_def
