"""Start a training run from an exported model instead of from random weights.

A run's checkpoints live in `runs/`, which may not survive a move to another
machine; the exported model in `models/NAME/` does. Its frozen graphs still
hold every weight as a constant, so a new run can pick up where the model was
exported: G and its average start from the exported (averaged) generator, D
from the exported discriminator (or a new one). The optimizers start afresh. An encoder run
can start from an exported encoder.pb the same way (`train_encoder --init`).

Which constant belongs to which variable is learned, not guessed from node
names: the same functions the export freezes are frozen again with every
variable set to its own index, and the constants read back give the order.
"""
import json
import os

import numpy as np
import tensorflow as tf
from tensorflow.python.framework import tensor_util
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from training.config import ModelConfig

# convert_variables_to_constants_v2 turns each captured variable into a Const with this suffix.
VARIABLE_SUFFIX = "ReadVariableOp/resource"


def variable_constants(graph_def):
    """The frozen variables of a GraphDef, as arrays in node order."""
    return [tensor_util.MakeNdarray(n.attr["value"].tensor) for n in graph_def.node
            if n.op == "Const" and n.name.endswith(VARIABLE_SUFFIX)]


def frozen_order(fn, specs):
    """[variable] in the order their constants appear when `fn` is frozen for `specs`
    (a TensorSpec or a list of them, one per argument)."""
    specs = list(specs) if isinstance(specs, (list, tuple)) else [specs]
    concrete = tf.function(fn).get_concrete_function(*specs)
    variables = list(concrete.variables)
    saved = [v.numpy() for v in variables]
    try:
        for i, v in enumerate(variables):
            v.assign(tf.fill(v.shape, tf.cast(i, v.dtype)))
        frozen = convert_variables_to_constants_v2(concrete).graph.as_graph_def()
        order = [int(np.asarray(c).flat[0]) for c in variable_constants(frozen)]
    finally:
        for v, value in zip(variables, saved):
            v.assign(value)
    return [variables[i] for i in order]


def read_graph_def(path):
    graph_def = tf.compat.v1.GraphDef()
    with open(path, "rb") as f:
        graph_def.ParseFromString(f.read())
    return graph_def


def load_into(fn, specs, graph_path):
    """Assign the constants of the frozen graph at graph_path to the variables `fn` reads
    (fn and specs as the export froze them)."""
    variables = frozen_order(fn, specs)
    values = variable_constants(read_graph_def(graph_path))
    if len(values) != len(variables):
        raise ValueError(f"{graph_path} holds {len(values)} weights but the network has {len(variables)}")
    for var, value in zip(variables, values):
        if tuple(var.shape) != value.shape:
            raise ValueError(f"{graph_path}: a weight of shape {value.shape} does not fit {var.name} "
                             f"{tuple(var.shape)}")
    for var, value in zip(variables, values):
        var.assign(value)


def read_manifest(folder):
    """(ModelConfig, steps trained, training arguments) of an exported model."""
    path = os.path.join(folder, "manifest.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no exported model at {folder} (manifest.json missing)")
    with open(path) as f:
        training = json.load(f).get("training") or {}
    if "config" not in training:
        raise ValueError(f"{path} does not say how the model was built (training.config)")
    return ModelConfig.from_dict(training["config"]), int(training.get("steps", 0)), training


def init_from_export(gan, folder, with_discriminator=True):
    """Load an exported model's G (into G and its average) and, unless told not to
    (a new D is to be trained against that G), its D into `gan`."""
    cfg = gan.cfg
    g_spec = tf.TensorSpec([None, cfg.g_input_dim], tf.float32)
    d_spec = tf.TensorSpec([None, *cfg.image_shape], tf.float32)
    load_into(lambda z: gan.ema_generator(z, training=False), g_spec, os.path.join(folder, "generator.pb"))
    gan.generator.set_weights(gan.ema_generator.get_weights())
    if with_discriminator:
        load_into(gan.d_outputs, d_spec, os.path.join(folder, "discriminator.pb"))
