"""Frozen GAN models: load a model folder (see `app.engine.manifest` for the
format) as a `GanModel` whose `generate` and `discriminate` are pruned concrete
functions that can be called, and differentiated, inside a `tf.function`.
"""
import dataclasses
import os

import tensorflow as tf

from app.engine import manifest as model_format


def _import(path):
    """A frozen GraphDef imported into a wrapped function (prune it to call it)."""
    graph_def = model_format.read_graph_def(path)
    return tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph_def, name=""), [])


def _load_graph(path, inputs, outputs):
    """Import a frozen GraphDef and prune it to a function inputs -> outputs.

    inputs: one tensor name, or a list of them for a graph of several inputs.
    """
    wrapped = _import(path)
    graph = wrapped.graph
    feeds = ([graph.get_tensor_by_name(i) for i in inputs] if isinstance(inputs, list)
             else graph.get_tensor_by_name(inputs))
    return wrapped.prune(feeds, [graph.get_tensor_by_name(o) for o in outputs])


def _load_generator(path, z_name, image_name):
    """(generate, split): G as z -> [image], and (head, tail) cut at G's first
    feature map, the output of its first ReLU that is a 4-D map (B, h, w, c):
    head(z) -> [features], tail(features) -> [image]. split is None for a G where
    that map is not a cut, that is where the image also depends on z around it
    (a residual G's skip paths), or that has no such map."""
    wrapped = _import(path)
    graph = wrapped.graph
    z, image = graph.get_tensor_by_name(z_name), graph.get_tensor_by_name(image_name)
    generate = wrapped.prune(z, [image])
    ops = graph.get_operations()    # in the GraphDef's order, which is topological
    first = next((op.outputs[0] for op in ops if op.type == "Relu" and op.outputs[0].shape.rank == 4), None)
    if first is None:
        return generate, None
    try:
        tail = wrapped.prune(first, [image])
    except Exception:   # TF's UnliftableError (not public): the image still depends on z around the map
        return generate, None
    return generate, (wrapped.prune(z, [first]), tail)


@dataclasses.dataclass
class GanModel:
    """A loaded model.

    generate(z (B, latent_dim) float32 in [-1, 1]) -> [images (B, H, W, C) float32 in [-1, 1]]
    discriminate(images) -> [probability of real (B,), logit (B,)]
    encode(images, masks (B, H, W, 1), 1 = known) -> [z guess (B, latent_dim) in (-1, 1)],
        or None for a model without an encoder
    split: (head, tail), G cut at its first feature map F (B, h, w, c), c channels
        last, values >= 0 after a ReLU: head(z) -> [F], tail(F) -> [images]; tail(head(z))
        is generate(z). None for a G without one (see `engine.refine`).
    Channel order is `manifest.channel_order` ("RGB" or "L" for one channel).
    """

    name: str
    folder: str
    manifest: model_format.Manifest
    generate: object
    discriminate: object
    encode: object = None
    split: tuple | None = None

    @property
    def image_shape(self):
        return self.manifest.image_shape

    @property
    def latent_dim(self):
        return self.manifest.latent_dim

    @property
    def perceptual(self):
        return self.manifest.perceptual

    @property
    def conditioning(self):
        return self.manifest.conditioning

    def summary(self):
        """The public description the web app lists."""
        m = self.manifest
        return {"name": self.name, "title": m.title or self.name,
                "image_shape": list(self.image_shape), "latent_dim": self.latent_dim,
                "channel_order": m.channel_order, "adversarial_loss": m.adversarial_loss,
                "num_classes": (self.conditioning or {}).get("num_classes", 0),
                "continuous": (m.continuous or {}).get("count", 0),
                "continuous_offset": (m.continuous or {}).get("offset"),
                "kind": m.model_kind, "encoder": "encoder" in m.graphs, "training": m.training}


def load_model(models_dir, name, generator_only=False):
    """Load models_dir/name; ValueError if the name is bad or the model is missing or broken.

    generator_only leaves D and the encoder out (discriminate and encode are None): what
    a process that draws samples but runs no search needs (the distributed mode's web side)."""
    model_format.check_name(name)
    folder = os.path.join(models_dir, name)
    if not os.path.isdir(folder):
        known = ", ".join(list_models(models_dir)) or "none"
        raise ValueError(f"unknown model {name!r} (available: {known})")
    try:
        manifest = model_format.read(folder)
    except FileNotFoundError as exc:
        raise ValueError(str(exc)) from None
    g, d = manifest.graphs["generator"], manifest.graphs["discriminator"]
    generate, split = _load_generator(manifest.graph_path(folder, "generator"), g["input"], g["output"])
    if generator_only:
        return GanModel(name, folder, manifest, generate, None, split=split)
    outs = d["outputs"]
    discriminate = _load_graph(manifest.graph_path(folder, "discriminator"), d["input"],
                               [outs["probability"], outs["logit"]])
    encode = None
    if "encoder" in manifest.graphs:
        e = manifest.graphs["encoder"]
        encode = _load_graph(manifest.graph_path(folder, "encoder"),
                             [e["inputs"]["image"], e["inputs"]["mask"]], [e["output"]])
    return GanModel(name, folder, manifest, generate, discriminate, encode, split)


def list_models(models_dir):
    """Names of the folders in models_dir that hold a manifest, sorted."""
    if not os.path.isdir(models_dir):
        return []
    return sorted(n for n in os.listdir(models_dir)
                  if model_format.NAME_RE.match(n) and model_format.has_manifest(os.path.join(models_dir, n)))
