"""Store an exported model's frozen weights as float16, in place.

    python -m training.shrink models/NAME [--roles encoder,generator,...]

The bundled models share a size cap (60 MB for `models/`). This rewrites the
chosen graphs of a model folder the way `training.export --half-weights` writes
them (`training.export.half_weights`): large weights stored as float16 and cast
back to float32 inside the graph, about half the file, outputs within about
1e-3. The manifest records it (`"stored_weights": "float16"` on the graph's
entry); a graph already stored so is left as it is. An encoder trained against a
generator cannot be exported onto it once that generator has been shrunk (its
file, and so its hash, changed): shrink the generator after the encoder.
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from app.engine import manifest as model_format  # noqa: E402
from training.cli import command  # noqa: E402
from training.export import HALF_WEIGHTS_ENTRY, half_weights  # noqa: E402


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
