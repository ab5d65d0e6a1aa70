"""Store an exported model's frozen weights as float16, in place.

    python -m training.shrink models/NAME [--roles encoder,generator,...]

The bundled models share a size cap (60 MB for `models/`). This rewrites the
chosen graphs of a model folder (`training.export --half-weights` calls it on a
fresh export): large weights stored as float16 (`half_weights`) and cast back
to float32 inside the graph, about half the file, outputs within about 1e-3. The manifest records it (`"stored_weights": "float16"` on the graph's
entry); a graph already stored so is left as it is. An encoder trained against a
generator cannot be exported onto it once that generator has been shrunk (its
file, and so its hash, changed): shrink the generator after the encoder.
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from app.engine import manifest as model_format  # noqa: E402
from training.cli import command  # noqa: E402

# weights of at least this many values are stored as float16; the graph's manifest
# entry is marked so (a record for people: the graph says it itself)
HALF_MIN_VALUES = 1024
HALF_WEIGHTS_ENTRY = {"stored_weights": "float16"}


def half_weights(graph_def):
    """A copy of a frozen GraphDef whose float32 weights of HALF_MIN_VALUES values or
    more are stored as float16 and cast back to float32 where they are read: the file
    is about half the size, the graph's inputs, outputs and arithmetic stay float32,
    and the outputs move by about float16's rounding (a relative 5e-4 per weight).

    Each such Const `w` becomes a float16 Const `w/float16` and a Cast named `w`, so
    every node that read `w` reads the same name (`training.warm_start` reads the
    weights back through the Cast)."""
    out = tf.compat.v1.GraphDef()
    out.versions.CopyFrom(graph_def.versions)
    out.library.CopyFrom(graph_def.library)
    for node in graph_def.node:
        values = tf.make_ndarray(node.attr["value"].tensor) \
            if node.op == "Const" and node.attr["dtype"].type == tf.float32.as_datatype_enum else None
        if values is None or values.size < HALF_MIN_VALUES:
            out.node.add().CopyFrom(node)
            continue
        stored = out.node.add(name=f"{node.name}/float16", op="Const", device=node.device)
        stored.attr["dtype"].type = tf.float16.as_datatype_enum
        stored.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(values.astype(np.float16)))
        cast = out.node.add(name=node.name, op="Cast", input=[stored.name], device=node.device)
        cast.attr["SrcT"].type = tf.float16.as_datatype_enum
        cast.attr["DstT"].type = tf.float32.as_datatype_enum
        cast.attr["Truncate"].b = False
    return out


def shrink(folder, roles=None):
    """Halve the weights of `roles` (default: every graph) of the model in `folder`.
    Returns {role: (bytes before, bytes after)} for the graphs it rewrote."""
    manifest = model_format.read(folder)
    unknown = set(roles or ()) - set(manifest.graphs)
    if unknown:
        raise ValueError(f"{folder} has no graph {', '.join(sorted(unknown))}: it has {', '.join(manifest.graphs)}")
    sizes = {}
    for role in roles or list(manifest.graphs):
        entry = manifest.graphs[role]
        if HALF_WEIGHTS_ENTRY.items() <= entry.items():
            continue
        path = manifest.graph_path(folder, role)
        before = os.path.getsize(path)
        smaller = half_weights(model_format.read_graph_def(path))
        tf.io.write_graph(smaller, os.path.dirname(path), os.path.basename(path), as_text=False)
        entry.update(HALF_WEIGHTS_ENTRY)
        sizes[role] = (before, os.path.getsize(path))
    model_format.write(folder, manifest)
    return sizes


@command
def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m training.shrink", description=__doc__.split("\n")[0])
    p.add_argument("model", help="model folder, e.g. models/faces")
    p.add_argument("--roles", type=lambda s: [r for r in s.split(",") if r],
                   help="graphs to shrink, e.g. encoder,generator (default: all)")
    args = p.parse_args(argv)
    for role, (before, after) in shrink(args.model, args.roles).items():
        print(f"{role}: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
