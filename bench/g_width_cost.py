"""What a wider face G would cost the search: seconds per search step at K
candidates for the origin's DCGAN G at several widths, with today's face D.

    python -m bench.g_width_cost [--widths 1,1.5,2] [--batch 16] [--runs 30] [--json PATH]

Width w scales G's start map and every upsampling round (128 -> 128w, (128, 64, 32)
-> (128w, 64w, 32w)). The networks are untrained (weights do not change the time);
each step is what the engine's fused loop runs: G and D forward, the gradient of the
contextual L1 plus D's term with respect to z. The ratio to width 1 scales the fast
path's seconds a face (BENCHMARKS.md), since the search is nearly all this step.
"""
import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from training.config import ModelConfig  # noqa: E402
from training.nets.dcgan import build_discriminator, build_generator  # noqa: E402

FACE_D = (64, 128, 256, 512)   # models/faces' D


def step_seconds(width, batch, runs):
    """Median seconds of one search step (forward and gradient to z) at G width `width`."""
    cfg = ModelConfig(g_start_filters=int(128 * width), g_filters=tuple(int(f * width) for f in (128, 64, 32)),
                      d_filters=FACE_D, dropout=0.0)
    g, d = build_generator(cfg), build_discriminator(cfg)
    target = tf.zeros([64, 64, 3])

    @tf.function
    def grad(z):
        with tf.GradientTape() as tape:
            tape.watch(z)
            images = g(z, training=False)
            logit = d(images, training=False)
            logit = logit[0] if isinstance(logit, (list, tuple)) else logit
            loss = tf.reduce_sum(tf.abs(images - target)) - 0.003 * tf.reduce_sum(tf.nn.softplus(logit))
        return tape.gradient(loss, z)

    z = tf.constant(np.random.default_rng(0).uniform(-1, 1, (batch, cfg.latent_dim)), tf.float32)
    for _ in range(5):
        grad(z).numpy()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        grad(z).numpy()
        times.append(time.perf_counter() - t)
    params = g.count_params()
    return float(np.median(times)), params


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--widths", default="1,1.5,2")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--json")
    args = p.parse_args(argv)
    rows = []
    for w in (float(x) for x in args.widths.split(",")):
        seconds, params = step_seconds(w, args.batch, args.runs)
        rows.append({"width": w, "g_params": params, "step_ms": 1000 * seconds})
    for r in rows:
        r["ratio"] = r["step_ms"] / rows[0]["step_ms"]
        print(f"G width {r['width']:.2g}x  {r['g_params'] / 1e6:5.2f}M params  "
              f"{r['step_ms']:7.1f} ms a step at K={args.batch}  {r['ratio']:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"batch": args.batch, "runs": args.runs, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
