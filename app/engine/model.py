"""Frozen GAN models: a manifest plus generator and discriminator GraphDefs.

A model folder is written by `training.export` (see its docstring for the
layout). `load_model` reads the manifest and returns a `GanModel` whose
`generate` and `discriminate` are pruned concrete functions that can be called,
and differentiated, inside a `tf.function`.
"""
import dataclasses
import json
import os
import re

import tensorflow as tf

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
PERCEPTUAL_TERMS = ("log1m_sigmoid", "neg_critic")


def _load_graph(path, inputs, outputs):
    """Import a frozen GraphDef and prune it to a function inputs -> outputs.

    inputs: one tensor name, or a list of them for a graph of several inputs.
    """
    graph_def = tf.compat.v1.GraphDef()
    try:
        with open(path, "rb") as f:
            graph_def.ParseFromString(f.read())
    except OSError as exc:
        raise ValueError(f"cannot read graph {path}: {exc}") from exc
    wrapped = tf.compat.v1.wrap_function(
        lambda: tf.compat.v1.import_graph_def(graph_def, name=""), [])
    graph = wrapped.graph
    feeds = ([graph.get_tensor_by_name(i) for i in inputs] if isinstance(inputs, list)
             else graph.get_tensor_by_name(inputs))
    return wrapped.prune(feeds, [graph.get_tensor_by_name(o) for o in outputs])


@dataclasses.dataclass
class GanModel:
    """A loaded model.

    generate(z (B, latent_dim) float32 in [-1, 1]) -> [images (B, H, W, C) float32 in [-1, 1]]
    discriminate(images) -> [probability of real (B,), logit (B,)]
    encode(images, masks (B, H, W, 1), 1 = known) -> [z guess (B, latent_dim) in (-1, 1)],
        or None for a model without an encoder
    Channel order is `channel_order` ("RGB" or "L" for one channel).
    """

    name: str
    folder: str
    manifest: dict
    generate: object
    discriminate: object
    encode: object = None

    @property
    def image_shape(self):
        return tuple(self.manifest["image_shape"])

    @property
    def latent_dim(self):
        return int(self.manifest["latent_dim"])

    @property
    def perceptual(self):
        return self.manifest.get("perceptual", "log1m_sigmoid")

    @property
    def conditioning(self):
        return self.manifest.get("conditioning")

    def summary(self):
        """The public description the web app lists."""
        m = self.manifest
        return {"name": self.name, "title": m.get("title", self.name),
                "image_shape": list(self.image_shape), "latent_dim": self.latent_dim,
                "channel_order": m.get("channel_order"), "adversarial_loss": m.get("adversarial_loss"),
                "num_classes": (self.conditioning or {}).get("num_classes", 0),
                "kind": m.get("kind", "faces" if self.image_shape[-1] == 3 else "digits"),
                "encoder": self.encode is not None,
                "training": m.get("training", {})}


def check_name(name):
    """Model names are folder names: letters, digits, '-' and '_' only."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError(f"bad model name {name!r}: use letters, digits, '-' and '_' (at most 64)")
    return name


def read_manifest(folder):
    path = os.path.join(folder, "manifest.json")
    try:
        with open(path) as f:
            manifest = json.load(f)
    except FileNotFoundError:
        raise ValueError(f"no manifest.json in {folder}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    for key in ("image_shape", "latent_dim", "graphs"):
        if key not in manifest:
            raise ValueError(f"{path} lacks {key!r}")
    if manifest.get("perceptual", "log1m_sigmoid") not in PERCEPTUAL_TERMS:
        raise ValueError(f"{path}: unknown perceptual term {manifest['perceptual']!r}")
    return manifest


def load_model(models_dir, name):
    """Load models_dir/name; ValueError if the name is bad or the model is missing or broken."""
    check_name(name)
    folder = os.path.join(models_dir, name)
    if not os.path.isdir(folder):
        known = ", ".join(list_models(models_dir)) or "none"
        raise ValueError(f"unknown model {name!r} (available: {known})")
    manifest = read_manifest(folder)
    graphs = manifest["graphs"]
    g, d = graphs["generator"], graphs["discriminator"]
    generate = _load_graph(os.path.join(folder, g["file"]), g["input"], [g["output"]])
    outs = d["outputs"]
    discriminate = _load_graph(os.path.join(folder, d["file"]), d["input"],
                               [outs["probability"], outs["logit"]])
    encode = None
    if "encoder" in graphs:
        e = graphs["encoder"]
        encode = _load_graph(os.path.join(folder, e["file"]),
                             [e["inputs"]["image"], e["inputs"]["mask"]], [e["output"]])
    return GanModel(name, folder, manifest, generate, discriminate, encode)


def list_models(models_dir):
    """Names of the folders in models_dir that hold a manifest, sorted."""
    if not os.path.isdir(models_dir):
        return []
    return sorted(n for n in os.listdir(models_dir)
                  if NAME_RE.match(n) and os.path.exists(os.path.join(models_dir, n, "manifest.json")))
