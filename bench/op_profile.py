"""Where one search step's time goes: kernel time per op type.

    python -m bench.op_profile --model NAME [--batch 1] [--runs 10] [--top 15]

Runs the search's gradient graph (`bench.inpaint_speed.gradient_graph`) with
full tracing and sums the time of every kernel, by network (G, D, gradients)
and op type. The total is a floor for any loop that runs these graphs once per
step: what a loop costs on top of it is overhead (Python, calls, Adam).
"""
import argparse
import collections
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from app.engine.model import load_model  # noqa: E402
from bench.inpaint_speed import gradient_graph  # noqa: E402


def kernel_times(model, batch=1, runs=10, warm=20):
    """({"G:Conv2D": microseconds per step, ...}, total microseconds per step)."""
    g, z, grad = gradient_graph(model, batch)
    feed = {z: np.random.default_rng(0).uniform(-1, 1, (batch, model.latent_dim)).astype(np.float32)}
    options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
    totals = collections.Counter()
    with tf.compat.v1.Session(graph=g) as sess:
        for _ in range(warm):
            sess.run(grad, feed)
        for _ in range(runs):
            meta = tf.compat.v1.RunMetadata()
            sess.run(grad, feed, options=options, run_metadata=meta)
            for device in meta.step_stats.dev_stats:
                for node in device.node_stats:
                    label = node.timeline_label or node.node_name
                    op = label.split("=")[-1].split("(")[0].strip()
                    totals[f"{node.node_name.split('/')[0]}:{op}"] += node.all_end_rel_micros
    per_step = {k: v / runs for k, v in totals.items()}
    return per_step, sum(per_step.values())


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.op_profile", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--models-dir", default="models")
    args = p.parse_args(argv)
    try:
        model = load_model(args.models_dir, args.model)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    per_op, total = kernel_times(model, args.batch, args.runs)
    print(f"{args.model}, batch {args.batch}: {total / 1000:.2f} ms of kernels per step "
          f"(at most {args.batch * 1e6 / total:.0f} sample-it/s for any loop)")
    for name, us in sorted(per_op.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"  {name:50s} {us / 1000:7.3f} ms  {us / total:5.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
