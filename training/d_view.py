"""How a face run's D sees training faces, held-out faces and G's samples.

    python -m training.d_view runs/faces-u [--checkpoint last|best] [--count 500]

For each group, the mean sign and mean value of D's logit, on the images as they
are and through the run's own DiffAugment policy (what D trains on). The mean
sign on augmented training faces is ADA's overfitting measure (Karras et al.
2020; its line is 0.6): D that has begun to memorise its training set is sure of
those faces and not of held-out ones, so the two columns part.
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from training import checkpoint, data  # noqa: E402
from training.augment import apply_policy, parse_policy  # noqa: E402
from training.cli import command  # noqa: E402
from training.gans import build_gan  # noqa: E402


def logit_view(gan, images, policy, batch=100):
    """(mean sign, mean) of D's logit on images (N, H, W, C) float32 in [-1, 1], through policy."""
    logits = np.concatenate([gan.d_logit(apply_policy(tf.constant(images[i:i + batch]), policy)).numpy().ravel()
                             for i in range(0, len(images), batch)])
    return float(np.mean(np.sign(logits))), float(np.mean(logits))


def d_view(run_dir, which="last", count=500, data_dir=None, seed=0):
    """{(policy name, group): (mean sign, mean logit)} for groups train, held_out and samples."""
    state = checkpoint.read_state(run_dir, checkpoint.FOLDERS[which])
    gan = build_gan(state.config)
    checkpoint.restore(run_dir, gan, with_optimizers=False, folder=checkpoint.FOLDERS[which])
    tf.random.set_seed(seed)
    rng = np.random.default_rng(seed)
    train = data.load_faces(data_dir).images
    groups = {"train": train[rng.choice(len(train), count, replace=False)],
              "held_out": data.held_out_samples("faces", data_dir, count)}
    groups = {k: v.astype(np.float32) / 127.5 - 1 for k, v in groups.items()}
    groups["samples"] = gan.generator(gan.sample_latent(count), training=False).numpy()
    policy = parse_policy(state.args.get("diffaugment") or "")
    views = {}
    for name, pol in (("as they are", ()), (",".join(policy) or "no policy", policy)):
        for group, images in groups.items():
            views[(name, group)] = logit_view(gan, images, pol)
    return state.step, views


@command
def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m training.d_view", description=__doc__.split("\n")[0])
    p.add_argument("run", help="a face training run folder")
    p.add_argument("--checkpoint", choices=sorted(checkpoint.FOLDERS), default="last")
    p.add_argument("--count", type=int, default=500, help="images per group")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    step, views = d_view(args.run, args.checkpoint, args.count, args.data_dir)
    print(f"step {step}: mean sign (mean logit) of D on {args.count} images each")
    print("| D sees | training faces | held-out faces | samples |\n| --- | --- | --- | --- |")
    for name in dict.fromkeys(k[0] for k in views):
        cells = [f"{views[(name, g)][0]:+.2f} ({views[(name, g)][1]:+.2f})" for g in ("train", "held_out", "samples")]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
