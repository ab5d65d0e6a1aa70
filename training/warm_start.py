"""Start a training run from an exported model instead of from random weights.

A run's checkpoints live in `runs/`, which may not survive a move to another
machine; the exported model in `models/NAME/` does. An export writes G's and
D's Keras weights beside the graphs, and those are loaded as they are; for a
model exported before that (the frozen graphs alone), the graphs still hold
every weight as a constant. Either way a new run can pick up where the model was
exported: G and its average start from the exported (averaged) generator, D
from the exported discriminator (or a new one). The optimizers start afresh. An encoder run
can start from an exported encoder.pb the same way (`train_encoder --init`).

Which constant belongs to which variable is learned, not guessed from node
names: the same functions the export freezes are frozen again with every
variable set to its own index, and the constants read back give the order
(see `load_into` for the one place where that order is not stable).
"""
import os

import numpy as np
import tensorflow as tf
from tensorflow.python.framework import tensor_util
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from app.engine import manifest as model_format
from training.config import ModelConfig
from training.nets.dcgan import GATE_SHARPNESS, build_generator

# convert_variables_to_constants_v2 turns each captured variable into a Const with this suffix.
VARIABLE_SUFFIX = "ReadVariableOp/resource"


def variable_constants(graph_def):
    """The frozen variables of a GraphDef, as float32 arrays in node order (a weight the
    export stored as float16 is a Cast of its float16 Const: `shrink.half_weights`)."""
    nodes = {n.name: n for n in graph_def.node}

    def value(n):
        if n.op == "Cast":
            return tensor_util.MakeNdarray(nodes[n.input[0]].attr["value"].tensor).astype(np.float32)
        return tensor_util.MakeNdarray(n.attr["value"].tensor)

    return [value(n) for n in graph_def.node if n.op in ("Const", "Cast") and n.name.endswith(VARIABLE_SUFFIX)]


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


def load_into(fn, specs, graph_path):
    """Assign the constants of the frozen graph at graph_path to the variables `fn` reads
    (fn and specs as the export froze them)."""
    # Node order is stable, except within a layer whose output the frozen function never
    # reads (D's class head), whose kernel and bias can swap places. Pairing the weights
    # of each shape in order (a stable sort by shape) is the same as pairing in order
    # where that is right, and mends such a swap.
    variables = sorted(frozen_order(fn, specs), key=lambda v: tuple(v.shape))
    values = sorted(variable_constants(model_format.read_graph_def(graph_path)), key=lambda c: c.shape)
    if len(values) != len(variables):
        raise ValueError(f"{graph_path} holds {len(values)} weights but the network has {len(variables)}")
    for var, value in zip(variables, values):
        if tuple(var.shape) != value.shape:
            raise ValueError(f"{graph_path}: a weight of shape {value.shape} does not fit {var.name} "
                             f"{tuple(var.shape)}")
    for var, value in zip(variables, values):
        var.assign(value)


def load_net(net, fn, specs, exported, folder, role):
    """Load the exported `role` ("generator" or "discriminator") into the Keras `net`:
    from its Keras weights where the export wrote them, else from its frozen graph
    through `fn` and `specs` (as the export froze it; see `load_into`), as for
    models exported before the weights were."""
    if exported.weights and role in exported.weights:
        net.load_weights(os.path.join(folder, exported.weights[role]))
    else:
        load_into(fn, specs, exported.graph_path(folder, role))


def read_manifest(folder):
    """(ModelConfig, steps trained, training arguments) of an exported model."""
    if not model_format.has_manifest(folder):
        raise FileNotFoundError(f"no exported model at {folder} ({model_format.FILE} missing)")
    training = model_format.read(folder).training
    return _built_with(training, folder), int(training.get("steps", 0)), training


def _built_with(training, folder):
    """The ModelConfig in an exported manifest's training block."""
    if "config" not in training:
        raise ValueError(f"{folder}'s manifest does not say how the model was built (training.config)")
    return ModelConfig.from_dict(training["config"])


def graft_generator(source, target):
    """Copy a G's weights into a G of the same shape plus a latent gate (the layers
    named "mixture_*", see nets.dcgan.build_generator), which keep their own."""
    def weighted(model):
        return [layer for layer in model.layers if layer.weights and not layer.name.startswith("mixture_")]
    pairs = list(zip(weighted(source), weighted(target), strict=True))
    for src, dst in pairs:
        if [tuple(w.shape) for w in src.weights] != [tuple(w.shape) for w in dst.weights]:
            raise ValueError(f"layer {src.name} does not fit {dst.name}")
    for src, dst in pairs:
        dst.set_weights(src.get_weights())


def align_gate(gan, samples=10000, fit_steps=300, sharpen=3.0, seed=0):
    """Point a freshly grafted gate (nets.dcgan.build_generator) of G and its average
    at the classes G already draws, so that the gate's components and G's classes
    share their borders from the first step: a gate at random has to break that
    symmetry by itself, which takes G many thousands of steps.

    Component k is given class k mod K, K being the classes of D's class head. A
    linear softmax regression from z to the class D's head reads on G(z), fitted
    on `samples` draws, sets the gate's logits, made `sharpen` times steeper; copies
    of a class get a little noise so that they split its region. Returns the
    share of the draws whose fitted class matches D's reading.
    """
    cfg = gan.cfg
    classes = cfg.d_class_head
    if not classes or cfg.g_mixture % classes:
        raise ValueError(f"aligning a {cfg.g_mixture}-component gate needs D's class head with a number of "
                         f"classes that divides it (it has {classes})")
    rng = np.random.default_rng(seed)
    z = rng.uniform(-1, 1, (samples, cfg.g_input_dim)).astype(np.float32)
    labels = np.concatenate([
        np.argmax(tf.cast(gan.d_heads(gan.ema_generator(z[i:i + 500], training=False), False)[1], tf.float32), 1)
        for i in range(0, samples, 500)])
    kernel = tf.Variable(tf.zeros([cfg.g_input_dim, classes]))
    bias = tf.Variable(tf.zeros([classes]))
    optimizer = tf.keras.optimizers.Adam(0.05)
    for _ in range(fit_steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, z @ kernel + bias))
        optimizer.apply_gradients(zip(tape.gradient(loss, [kernel, bias]), [kernel, bias]))
    copies = cfg.g_mixture // classes
    scale = sharpen / GATE_SHARPNESS
    gate_kernel = np.tile(kernel.numpy(), copies) * scale
    gate_kernel += rng.normal(0, 0.1 * np.abs(gate_kernel).mean(), gate_kernel.shape) * (copies > 1)
    gate_bias = np.tile(bias.numpy(), copies) * scale
    for g in (gan.generator, gan.ema_generator):
        g.get_layer("mixture_gate").set_weights([gate_kernel.astype(np.float32), gate_bias.astype(np.float32)])
    return float(np.mean(np.argmax(z @ kernel.numpy() + bias.numpy(), 1) == labels))


def init_from_export(gan, folder, with_discriminator=True):
    """Load an exported model's G (into G and its average) and, unless told not to
    (a new D is to be trained against that G), its D into `gan`.

    Where gan's G has a latent gate that the exported G lacks, the gate is grafted
    on, and aimed at the classes of a loaded D's class head (`align_gate`); returns
    that fit's agreement with D, or None where no gate was aimed."""
    cfg = gan.cfg
    g_spec = tf.TensorSpec([None, cfg.g_input_dim], tf.float32)
    d_spec = tf.TensorSpec([None, *cfg.image_shape], tf.float32)
    exported = model_format.read(folder)
    exported_cfg = _built_with(exported.training, folder)
    grafted = exported_cfg.g_mixture != cfg.g_mixture
    if grafted:
        if exported_cfg.g_mixture:
            raise ValueError(f"{folder}'s G has a {exported_cfg.g_mixture}-component gate: it cannot be changed")
        plain = build_generator(exported_cfg)
        load_net(plain, lambda z: plain(z, training=False), g_spec, exported, folder, "generator")
        graft_generator(plain, gan.ema_generator)
    else:
        load_net(gan.ema_generator, lambda z: gan.ema_generator(z, training=False), g_spec, exported, folder,
                 "generator")
    gan.generator.set_weights(gan.ema_generator.get_weights())
    if with_discriminator:
        load_net(gan.discriminator, gan.d_outputs, d_spec, exported, folder, "discriminator")
        if grafted and cfg.d_class_head:
            return align_gate(gan)
    return None
