"""Evaluate an exported model.

    python -m training.evaluate models/NAME [--samples 1000] [--seed 0]

For MNIST models, the judge classifies 1,000 samples: the share it reads with
confidence > 0.9 and the class histogram (a mode-collapse check). For every
model, the nearest-neighbour distance of samples to the training set against
that of held-out images (a memorisation check: generated samples much closer to
the training set than held-out images are would be copies). Writes
evaluation.json and eval_grid.png into the model folder and prints a summary.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from app.engine.model import load_model  # noqa: E402
from training import data, export, reporting  # noqa: E402
from training.judge import judge_digits, load_judge  # noqa: E402

CONFIDENT = 0.9


def generate(model, n, seed, batch=250):
    """n samples (n, H, W, C) float32 in [-1, 1] from the frozen generator."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(-1, 1, (n, model.latent_dim)).astype(np.float32)
    cond = model.conditioning
    if cond:
        k, off = cond["num_classes"], cond["offset"]
        z[:, off:off + k] = np.eye(k, dtype=np.float32)[np.arange(n) % k]
    return np.concatenate([model.generate(tf.constant(z[i:i + batch]))[0].numpy() for i in range(0, n, batch)])


def nn_distance(queries, reference, chunk=500):
    """RMS pixel distance (in [0, 1] units) from each query to its nearest reference image."""
    q = queries.reshape(len(queries), -1).astype(np.float32)
    r = reference.reshape(len(reference), -1).astype(np.float32)
    r_sq = (r ** 2).sum(1)
    best = np.full(len(q), np.inf, np.float32)
    for i in range(0, len(r), chunk):
        d = (q ** 2).sum(1)[:, None] - 2 * q @ r[i:i + chunk].T + r_sq[None, i:i + chunk]
        best = np.minimum(best, d.min(1))
    return np.sqrt(np.maximum(best, 0) / q.shape[1]) / 2.0   # [-1, 1] -> [0, 1] units


def digit_report(samples):
    labels, conf = judge_digits(load_judge(), samples)
    hist = np.bincount(labels, minlength=10) / len(labels)
    return {"confident_share": float((conf > CONFIDENT).mean()),
            "class_histogram": [round(float(h), 4) for h in hist],
            "min_class_share": float(hist.min())}


def memorisation_report(samples, dataset, data_dir, n=200):
    train = data.load_dataset(dataset, data_dir).images
    held = export.held_out_samples(dataset, data_dir, n)
    train = data.to_unit_range(train).numpy()
    gen = nn_distance(samples[:n], train)
    report = {"samples_nn_median": float(np.median(gen)), "samples_nn_min": float(gen.min())}
    if held is not None:
        ref = nn_distance(data.to_unit_range(held).numpy(), train)
        report["held_out_nn_median"] = float(np.median(ref))
        report["ratio"] = float(np.median(gen) / np.median(ref))
    return report


def evaluate(folder, n=1000, seed=0, data_dir=None):
    folder = os.path.normpath(folder)
    model = load_model(os.path.dirname(folder), os.path.basename(folder))
    samples = generate(model, n, seed)
    dataset = model.manifest.get("training", {}).get("dataset")
    report = {"model": model.name, "samples": n, "seed": seed}
    if dataset == "mnist":
        report["judge"] = digit_report(samples)
    if dataset in ("mnist", "faces"):
        report["memorisation"] = memorisation_report(samples, dataset, data_dir)
    reporting.save_grid(samples[:64], os.path.join(folder, "eval_grid.png"), scale=1)
    with open(os.path.join(folder, "evaluation.json"), "w") as f:
        json.dump(report, f, indent=2)
    return report


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("model", help="model folder, e.g. models/mnist")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    try:
        report = evaluate(args.model, args.samples, args.seed, args.data_dir)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
