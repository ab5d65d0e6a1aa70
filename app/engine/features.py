"""Feature networks for DeepDream and style transfer. All are Regen's own; nothing is
downloaded:

- ``d:NAME``: the convolutional trunk of model NAME's trained discriminator, read
  from its frozen graph. Its image input is remapped to any height and width and
  the dense head is pruned away, so the trunk runs on images of any size.
- ``random``: a multi-scale network of random filters (Ustyuzhaninov et al. 2017:
  even untrained filters carry texture statistics), drawn from a fixed NumPy seed,
  so it is the same network on every machine.

A `FeatureNet` maps images (B, H, W, C) float32 in [-1, 1] (RGB, or gray when
``channels`` is 1) to {layer name: (B, h, w, c) activations}, differentiably.
Images with the other channel count are converted on the way in (`adapt`).
"""
import dataclasses

import numpy as np
import tensorflow as tf

from app.engine import manifest as model_format
from app.engine.model import list_models

ACTIVATIONS = ("LeakyRelu", "Relu", "Relu6", "Elu", "Selu")
RANDOM_SEED = 2017                      # the random network's one seed: fixed, never a user setting
RANDOM_WIDTHS = (32, 64, 128, 256)      # channels of each of its levels
RANDOM_KERNELS = (3, 5)                 # filter sizes mixed at each level (half the channels each)


@dataclasses.dataclass
class FeatureNet:
    """name: "d:NAME" or "random"; channels: 1 or 3, what `features` expects;
    layers: layer names, shallowest first; native: (H, W) it was trained on, or
    None; features(images (B, H, W, channels) float32 in [-1, 1]) -> {layer: (B, h, w, c)}."""

    name: str
    channels: int
    layers: tuple
    native: tuple | None
    features: object
    title: str = ""

    def __call__(self, images):
        return self.features(adapt(tf.convert_to_tensor(images, tf.float32), self.channels))

    def check_layer(self, layer):
        if layer not in self.layers:
            raise ValueError(f"unknown layer {str(layer)[:40]!r} of {self.name} (layers: {', '.join(self.layers)})")
        return layer

    def layer_sizes(self, size=None):
        """[(layer, (h, w, c))] for an input of `size` (H, W), by default the native one (or 64x64)."""
        h, w = size or self.native or (64, 64)
        out = self(tf.zeros((1, h, w, self.channels)))
        return [(name, tuple(int(d) for d in out[name].shape[1:])) for name in self.layers]

    def describe(self):
        """The public description the web app lists."""
        return {"name": self.name, "title": self.title or self.name, "channels": self.channels,
                "layers": [{"name": n, "shape": list(s)} for n, s in self.layer_sizes()]}


def adapt(images, channels):
    """(B, H, W, C) -> (B, H, W, channels): gray is repeated into RGB, RGB averaged into gray."""
    have = images.shape[-1]
    if have == channels:
        return images
    if channels == 1:
        return tf.reduce_mean(images, axis=-1, keepdims=True)
    return tf.repeat(images, channels, axis=-1)


def discriminator_features(models_dir, name):
    """The trunk of model `name`'s discriminator: one layer per activation of its
    frozen graph, named conv1, conv2, ... in graph order (shallowest first)."""
    model_format.check_name(name)
    folder = f"{models_dir}/{name}"
    manifest = model_format.read(folder)
    graph_def = model_format.read_graph_def(manifest.graph_path(folder, "discriminator"))
    d_input = manifest.graphs["discriminator"]["input"]
    channels = manifest.image_shape[-1]
    ops = [n.name for n in graph_def.node if n.op in ACTIVATIONS]
    if not ops:
        raise ValueError(f"model {name}'s discriminator has no activation layers to read")

    def import_any_size():
        image = tf.compat.v1.placeholder(tf.float32, (None, None, None, channels), name="any_image")
        tf.compat.v1.import_graph_def(graph_def, input_map={d_input: image}, name="d")

    wrapped = tf.compat.v1.wrap_function(import_any_size, [])
    graph = wrapped.graph
    pruned = wrapped.prune(graph.get_tensor_by_name("any_image:0"),
                           [graph.get_tensor_by_name(f"d/{op}:0") for op in ops])
    # 4-D activations only: a capsule D's later layers are vectors, not maps
    probe = pruned(tf.zeros((1,) + tuple(manifest.image_shape)))
    keep = [i for i, t in enumerate(probe) if len(t.shape) == 4]
    if not keep:
        raise ValueError(f"model {name}'s discriminator has no convolutional feature maps to read")
    layers = tuple(f"conv{k + 1}" for k in range(len(keep)))

    def features(images):
        outs = pruned(images)
        return {layer: outs[i] for layer, i in zip(layers, keep)}

    return FeatureNet(f"d:{name}", channels, layers, tuple(manifest.image_shape[:2]), features,
                      title=f"{manifest.title or name}: its discriminator")


def random_filters(seed=RANDOM_SEED, widths=RANDOM_WIDTHS, kernels=RANDOM_KERNELS, channels=3):
    """The random network's weights: per level, one (k, k, c_in, width / len(kernels))
    float32 tf.constant per kernel size k. Each filter has zero mean (it answers to
    structure, not to brightness) and He scale."""
    rng = np.random.default_rng(seed)
    levels, c_in = [], channels
    for width in widths:
        level = []
        for k in kernels:
            w = rng.standard_normal((k, k, c_in, width // len(kernels)))
            w -= w.mean(axis=(0, 1, 2), keepdims=True)
            w *= np.sqrt(2.0 / (k * k * c_in)) / (w.std(axis=(0, 1, 2), keepdims=True) + 1e-12)
            level.append(tf.constant(w, tf.float32))
        levels.append(level)
        c_in = width
    return levels


def random_features(seed=RANDOM_SEED):
    """Levels r1..r4: at each, the filter sizes side by side, ReLU, then a 2x2 average pool
    before the next level, so each level sees twice the scale of the one before."""
    levels = random_filters(seed)
    layers = tuple(f"r{i + 1}" for i in range(len(levels)))

    def features(images):
        out, x = {}, images
        for layer, level in zip(layers, levels):
            if out:
                x = tf.nn.avg_pool2d(x, 2, 2, "SAME")
            x = tf.nn.relu(tf.concat([tf.nn.conv2d(x, w, 1, "SAME") for w in level], axis=-1))
            out[layer] = x
        return out

    return FeatureNet("random", 3, layers, None, features,
                      title=f"random multi-scale filters (seed {seed})")


def load_features(spec, models_dir):
    """"random" or "d:NAME" -> a FeatureNet; ValueError says what is allowed."""
    if spec == "random":
        return random_features()
    if isinstance(spec, str) and spec.startswith("d:"):
        name = spec[2:]
        if name not in list_models(models_dir):
            raise ValueError(f"unknown model {name[:64]!r} (available: {', '.join(list_models(models_dir)) or 'none'})")
        return discriminator_features(models_dir, name)
    raise ValueError(f"unknown features {str(spec)[:64]!r}: use random or d:MODEL "
                     f"(models: {', '.join(list_models(models_dir)) or 'none'})")


def feature_specs(models_dir):
    """Every feature network that can be loaded from models_dir: "random", then "d:NAME"."""
    return ["random"] + [f"d:{name}" for name in list_models(models_dir)]
