"""Evaluate an exported model.

    python -m training.evaluate models/NAME [--samples 1000] [--seed 0]
        [--projection-faces 64 --projection-restarts 16 --projection-steps 500]

For MNIST models, the judge classifies 1,000 samples: the share it reads with
confidence > 0.9 and the class histogram (a mode-collapse check). For every
model, the nearest-neighbour distance of samples to the training set against
that of held-out images (a memorisation check: generated samples much closer to
the training set than held-out images are would be copies). For face models:
- the Fréchet distance between 2,000 samples and the 500 faces64_val faces in
  the features of the committed face network (`training.face_features`, whose
  version the report records), and the training faces' own distance as the floor;
- the projection PSNR: the best whole-image PSNR that Adam on z reaches on
  held-out faces with no hole (z kept in the prior's box), G's ceiling on faces
  it never saw.
Writes evaluation.json and eval_grid.png (64 samples from the fixed seed) into
the model folder and prints a summary.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from app.engine.adam import adam_step  # noqa: E402
from app.engine.model import load_model  # noqa: E402
from training import data, face_features, reporting  # noqa: E402
from training.cli import command  # noqa: E402
from training.judge import judge_digits, load_judge  # noqa: E402

CONFIDENT = 0.9
FD_SAMPLES = face_features.FaceMetrics.SAMPLES
PROJECTION_LR = 0.05


def generate(model, n, seed, batch=250):
    """n samples (n, H, W, C) float32 in [-1, 1] from the frozen generator."""
    rng = np.random.default_rng(seed)
    z = model.manifest.set_classes(rng.uniform(-1, 1, (n, model.latent_dim)).astype(np.float32), np.arange(n))
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


def digit_report(samples, requested=None):
    """The judge's reading of digit samples; with `requested` ((N,) the classes a
    conditioned G was asked for, in MNIST's order) also the share read as that class."""
    labels, conf = judge_digits(load_judge(), samples)
    hist = np.bincount(labels, minlength=10) / len(labels)
    report = {"confident_share": float((conf > CONFIDENT).mean()),
              "class_histogram": [round(float(h), 4) for h in hist],
              "min_class_share": float(hist.min())}
    if requested is not None:
        report["requested_class_share"] = float((labels == requested).mean())
    return report


def code_report(model, folder, seed=0, per_code=200, values=9, rows=5):
    """An InfoGAN's codes, read by the digit judge: for each categorical value, the share
    of its samples read as its most common digit (purity) and that digit; and
    `codes_grid.png`: per continuous code, `rows` noises x `values` settings from -1 to 1
    (the other codes at 0), to look at for width and slant."""
    manifest, rng = model.manifest, np.random.default_rng(seed)
    k, cont = manifest.num_classes, manifest.continuous
    z = rng.uniform(-1, 1, (k * per_code, model.latent_dim)).astype(np.float32)
    manifest.set_classes(z, np.repeat(np.arange(k), per_code))
    z[:, cont["offset"]:cont["offset"] + cont["count"]] = 0.0
    labels, _ = judge_digits(load_judge(), model.generate(tf.constant(z))[0].numpy())
    modal = [np.bincount(labels[i * per_code:(i + 1) * per_code], minlength=10) for i in range(k)]
    purity = [float(m.max() / per_code) for m in modal]
    blocks = []
    for c in range(cont["count"]):
        base = rng.uniform(-1, 1, (rows, model.latent_dim)).astype(np.float32)
        manifest.set_classes(base, np.arange(rows) * 2 % k)
        grid = np.repeat(base, values, axis=0)
        grid[:, cont["offset"]:cont["offset"] + cont["count"]] = 0.0
        grid[:, cont["offset"] + c] = np.tile(np.linspace(-1, 1, values), rows)
        blocks.append(model.generate(tf.constant(grid))[0].numpy())
    reporting.save_grid(np.concatenate(blocks), os.path.join(folder, "codes_grid.png"), cols=values, scale=2)
    return {"digit_of_category": [int(m.argmax()) for m in modal], "purity": purity,
            "mean_purity": float(np.mean(purity)), "distinct_digits": len({int(m.argmax()) for m in modal})}


def memorisation_report(samples, dataset, data_dir, n=200):
    train = data.load_dataset(dataset, data_dir).images
    held = data.held_out_samples(dataset, data_dir, n)
    train = data.to_unit_range(train).numpy()
    gen = nn_distance(samples[:n], train)
    report = {"samples_nn_median": float(np.median(gen)), "samples_nn_min": float(gen.min())}
    if held is not None:
        ref = nn_distance(data.to_unit_range(held).numpy(), train)
        report["held_out_nn_median"] = float(np.median(ref))
        report["ratio"] = float(np.median(gen) / np.median(ref))
    return report


def psnr(a, b, axis=(1, 2, 3)):
    """PSNR in dB of images in [-1, 1] (peak 1 in [0, 1] units), per image."""
    mse = np.mean(((np.asarray(a) - np.asarray(b)) / 2.0) ** 2, axis=axis)
    return 10 * np.log10(1.0 / np.maximum(mse, 1e-12))


def project(model, targets, restarts=16, steps=500, lr=PROJECTION_LR, seed=0, chunk=8):
    """Adam on z towards each target (N, H, W, C) in [-1, 1], every pixel known.

    Each target gets `restarts` random starts; z is clipped into the prior's box
    after every step. Returns the best whole-image PSNR (N,) in dB."""
    prior = model.manifest.z_prior
    low, high = float(prior.get("low", -1.0)), float(prior.get("high", 1.0))
    rng = np.random.default_rng(seed)
    generate = model.generate

    @tf.function
    def descend(z, m, v, t, y):
        with tf.GradientTape() as tape:
            tape.watch(z)
            loss = tf.reduce_sum(tf.reduce_mean(tf.square(generate(z)[0] - y), axis=[1, 2, 3]))
        return adam_step(z, tape.gradient(loss, z), m, v, t, lr, low, high)

    best = []
    for i in range(0, len(targets), chunk):
        y = np.repeat(targets[i:i + chunk], restarts, axis=0).astype(np.float32)
        z = tf.constant(rng.uniform(low, high, (len(y), model.latent_dim)).astype(np.float32))
        m = v = tf.zeros_like(z)
        y_t = tf.constant(y)
        for t in range(1, steps + 1):
            z, m, v = descend(z, m, v, tf.constant(float(t)), y_t)
        scores = psnr(generate(z)[0].numpy(), y).reshape(-1, restarts)
        best.append(scores.max(1))
    return np.concatenate(best)


def projection_report(model, data_dir, faces=64, restarts=16, steps=500, seed=0):
    held = data.held_out_samples("faces", data_dir, faces)
    if held is None:
        return None
    scores = project(model, data.to_unit_range(held).numpy(), restarts, steps, seed=seed)
    return {"faces": len(scores), "restarts": restarts, "steps": steps, "lr": PROJECTION_LR,
            "psnr_median": float(np.median(scores)), "psnr_mean": float(scores.mean())}


def frechet_report(model, data_dir, seed=0, n=FD_SAMPLES):
    """The Fréchet distance of n samples, and of n training faces (the floor), to faces64_val."""
    metrics = face_features.FaceMetrics(data_dir)
    train = data.load_faces(data_dir).images
    floor = train[np.random.default_rng(seed).choice(len(train), n, replace=False)]
    return {"features_version": face_features.VERSION, "samples": n,
            "reference": f"faces64_val ({metrics.reference_size})",
            "fd": metrics.distance(generate(model, n, seed)), "fd_training_faces": metrics.distance(floor)}


def evaluate(folder, n=1000, seed=0, data_dir=None, projection=(64, 16, 500)):
    folder = os.path.normpath(folder)
    model = load_model(os.path.dirname(folder), os.path.basename(folder))
    samples = generate(model, n, seed)
    dataset = model.manifest.training.get("dataset")
    report = {"model": model.name, "samples": n, "seed": seed}
    if dataset == "mnist":
        # generate() cycles a conditioned G's classes: sample i is asked for class i mod K;
        # an ACGAN's classes are the digits (an InfoGAN's categorical code is unsupervised)
        acgan = model.manifest.training.get("arch") == "acgan"
        report["judge"] = digit_report(samples, np.arange(n) % model.manifest.num_classes if acgan else None)
    if model.manifest.continuous and model.manifest.num_classes and dataset == "mnist":
        report["codes"] = code_report(model, folder, seed)
    if dataset in ("mnist", "faces"):
        report["memorisation"] = memorisation_report(samples, dataset, data_dir)
    if dataset == "faces":
        report["frechet"] = frechet_report(model, data_dir, seed)
        if projection:
            report["projection"] = projection_report(model, data_dir, *projection, seed=seed)
    reporting.save_grid(samples[:64], os.path.join(folder, "eval_grid.png"), scale=1)
    with open(os.path.join(folder, "evaluation.json"), "w") as f:
        json.dump(report, f, indent=2)
    return report


@command
def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("model", help="model folder, e.g. models/mnist")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--projection-faces", type=int, default=64, help="faces: held-out faces to project (0 = skip)")
    p.add_argument("--projection-restarts", type=int, default=16)
    p.add_argument("--projection-steps", type=int, default=500)
    args = p.parse_args(argv)
    projection = ((args.projection_faces, args.projection_restarts, args.projection_steps)
                  if args.projection_faces > 0 else None)
    report = evaluate(args.model, args.samples, args.seed, args.data_dir, projection)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
