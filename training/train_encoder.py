"""Train the encoder E of an exported model, for fast completion.

    python -m training.train_encoder models/NAME --steps N --out runs/NAME-encoder \
        [--resume | --init OTHER-ENCODER-RUN]

E maps a masked image and its mask to a guess of z (see `training.nets.encoder`).
It learns against the model's frozen generator.pb, the very graph the engine
searches, from two kinds of examples in every batch:

- G's own samples x = G(z), z ~ U(-1, 1): loss z_weight * |E(x) - z|^2 + |G(E(x)) - x|_1;
- real training images x (never the validation faces): loss |G(E(x)) - x|_1,
  over the whole image, hole included.

Each example gets a random hole (`training.random_masks`). Then
`python -m training.export runs/NAME-encoder --name NAME` adds encoder.pb to
models/NAME. A re-exported generator makes the encoder stale: the export checks
the generator's hash and refuses. `--init` starts a new run from an older
encoder's weights (a run, or an exported model folder's encoder.pb), which
adapts to a further-trained G much faster than from scratch.

runs/NAME-encoder/
    checkpoint/{encoder.weights.h5, optimizer.npz, state.json}
    log.csv, tensorboard/     loss, pixel_l1, z_mse per step
    samples/step_XXXXXXX.png  rows of masked input, G(E(x)), truth (progress.gif animates them)
"""
import argparse
import hashlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from app.engine.model import load_model  # noqa: E402
from training import checkpoint, data, loop, reporting, warm_start  # noqa: E402
from training.cli import command  # noqa: E402
from training.nets.encoder import build_encoder  # noqa: E402
from training.random_masks import random_masks  # noqa: E402

COLUMNS = ("step", "loss", "pixel_l1", "z_mse")
PREVIEW = 8


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m training.train_encoder", description=__doc__.split("\n")[0])
    p.add_argument("model", help="exported model folder, e.g. models/faces")
    p.add_argument("--steps", type=int, required=True, help="total training steps")
    p.add_argument("--out", required=True, help="run directory, e.g. runs/faces-encoder")
    p.add_argument("--resume", action="store_true", help="carry on from the run's last checkpoint")
    p.add_argument("--init", help="start from the weights of this encoder run (e.g. one trained on an older G), "
                   "or of the encoder.pb in this exported model folder")
    p.add_argument("--dataset", default=None, help="real images: mnist, faces or folder:PATH "
                   "(default: the model's training set)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--real-share", type=float, default=0.5, help="share of real images per batch")
    p.add_argument("--z-weight", type=float, default=1.0, help="weight of the loss on z for G's samples")
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sample-every", type=int, default=250)
    p.add_argument("--ckpt-every", type=int, default=250)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def encoder_input(images, masks):
    """(B, H, W, C) in [-1, 1] and (B, H, W, 1) known-masks -> E's (B, H, W, C + 1) input."""
    return tf.concat([images * masks, masks], axis=-1)


class EncoderTrainer:
    """E, its optimizer and one training step against a frozen G."""

    def __init__(self, model, lr=2e-4, z_weight=1.0):
        self.model = model
        self.z_weight = z_weight
        self.encoder = build_encoder(model.image_shape, model.latent_dim)
        self.optimizer = keras.optimizers.Adam(lr, beta_1=0.5)
        self.step = tf.function(self._step)

    def sample_latent(self, n, rng):
        """(n, d) z ~ U(-1, 1), with a random one-hot class code where the model is conditioned."""
        z = rng.uniform(-1, 1, (n, self.model.latent_dim)).astype(np.float32)
        manifest = self.model.manifest
        if manifest.conditioning:   # (an unconditioned model's z draws nothing more from rng)
            manifest.set_classes(z, rng.integers(0, manifest.num_classes, n))
        return z

    def _step(self, real, z_fake, masks):
        fake = self.model.generate(z_fake)[0]
        images = tf.concat([real, fake], axis=0)
        n_real = tf.shape(real)[0]
        with tf.GradientTape() as tape:
            z_hat = self.encoder(encoder_input(images, masks), training=True)
            recon = self.model.generate(z_hat)[0]
            pixel = tf.reduce_mean(tf.abs(recon - images))
            z_mse = tf.math.divide_no_nan(tf.reduce_sum(tf.square(z_hat[n_real:] - z_fake)),
                                          tf.cast(tf.size(z_fake), tf.float32))
            loss = pixel + self.z_weight * z_mse
        grads = tape.gradient(loss, self.encoder.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.encoder.trainable_weights))
        return {"loss": loss, "pixel_l1": pixel, "z_mse": z_mse}

    def guess(self, images, masks):
        """G(E(x)) for a preview: (B, H, W, C) in [-1, 1]."""
        return self.model.generate(self.encoder(encoder_input(images, masks), training=False))[0].numpy()


def save(run_dir, trainer, step, args, g_hash):
    def write(tmp):
        trainer.encoder.save_weights(os.path.join(tmp, "encoder.weights.h5"))
        np.savez(os.path.join(tmp, "optimizer.npz"), **checkpoint.optimizer_arrays("e", trainer.optimizer))
        with open(os.path.join(tmp, "state.json"), "w") as f:
            json.dump({"kind": "encoder", "step": int(step), "image_shape": list(trainer.model.image_shape),
                       "latent_dim": trainer.model.latent_dim, "generator_sha256": g_hash,
                       "args": args}, f, indent=1)

    checkpoint.write_atomically(os.path.join(run_dir, checkpoint.CKPT_DIR), write)


def read_state(run_dir):
    """The encoder run's checkpoint state (step, args, kind, generator_sha256)."""
    return checkpoint.read_state_json(run_dir)


def restore(run_dir, trainer):
    """Load E's weights and optimizer state; returns the step."""
    folder = os.path.join(run_dir, checkpoint.CKPT_DIR)
    trainer.encoder.load_weights(os.path.join(folder, "encoder.weights.h5"))
    checkpoint.load_optimizer(np.load(os.path.join(folder, "optimizer.npz")), "e",
                              trainer.optimizer, trainer.encoder)
    return read_state(run_dir)["step"]


def save_preview(trainer, images, masks, path):
    """Rows of PREVIEW: masked input (hole grey), E's guess, truth; and progress.gif of every preview so far."""
    masked = images * masks
    reporting.save_grid(np.concatenate([masked, trainer.guess(images, masks), images]), path, cols=PREVIEW)
    samples = os.path.dirname(path)
    reporting.save_progress_gif(samples, os.path.join(os.path.dirname(samples), "progress.gif"))


def train(args):
    folder = os.path.normpath(args.model)
    model = load_model(os.path.dirname(folder) or ".", os.path.basename(folder))
    g_hash = file_sha256(model.manifest.graph_path(folder, "generator"))
    spec = args.dataset or model.manifest.training.get("dataset")
    if not spec:
        raise ValueError(f"{folder} does not say which data it was trained on: pass --dataset")
    ds = data.load_dataset(spec, args.data_dir, model.image_shape[0])
    if ds.image_shape != model.image_shape:
        raise ValueError(f"dataset images are {ds.image_shape} but the model makes {model.image_shape}")
    trainer = EncoderTrainer(model, args.lr, args.z_weight)
    step = 0
    if args.resume:
        state = read_state(args.out)
        if state["generator_sha256"] != g_hash:
            raise ValueError(f"{args.out} was trained on another generator than {folder}'s: "
                             "start a new run (the old encoder does not fit this G)")
        step = restore(args.out, trainer)
    elif os.path.exists(os.path.join(args.out, checkpoint.CKPT_DIR)):
        raise FileExistsError(f"{args.out} already holds a checkpoint: pass --resume or another --out")
    elif args.init and os.path.exists(os.path.join(args.init, "encoder.pb")):
        # an exported model folder (say, a copy of models/NAME from before G was re-exported)
        h, w, c = model.image_shape
        warm_start.load_into(lambda image, mask: trainer.encoder(encoder_input(image, mask), training=False),
                             [tf.TensorSpec([None, h, w, c], tf.float32), tf.TensorSpec([None, h, w, 1], tf.float32)],
                             os.path.join(args.init, "encoder.pb"))
    elif args.init:
        read_state(args.init)
        trainer.encoder.load_weights(os.path.join(args.init, checkpoint.CKPT_DIR, "encoder.weights.h5"))
    os.makedirs(os.path.join(args.out, "samples"), exist_ok=True)
    keras.utils.set_random_seed(args.seed + step)
    rng = np.random.default_rng(args.seed + step)
    n_real = int(round(args.batch * args.real_share))
    batches = iter(data.make_pipeline(ds, max(n_real, 1), seed=args.seed + step))
    preview_rng = np.random.default_rng(12345)
    preview_images = next(iter(data.make_pipeline(ds, PREVIEW, seed=12345)))[0].numpy()
    preview_masks = random_masks(PREVIEW, model.image_shape[0], preview_rng)
    saved_args = {k: v for k, v in vars(args).items() if k not in ("resume", "quiet")}
    log = reporting.RunLog(args.out, COLUMNS, start_step=step)

    def train_step():
        real = next(batches)[0][:n_real]
        z_fake = trainer.sample_latent(args.batch - n_real, rng)
        return trainer.step(real, z_fake, random_masks(args.batch, model.image_shape[0], rng))

    def report(step, values):
        if step % 50 == 0:
            print(f"step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in values.items()), flush=True)

    step, rate = loop.run(step, args.steps, train_step, log, args.sample_every, args.ckpt_every,
                          sample=lambda s: save_preview(trainer, preview_images, preview_masks,
                                                        os.path.join(args.out, "samples", f"step_{s:07d}.png")),
                          save=lambda s: save(args.out, trainer, s, saved_args, g_hash),
                          report=None if args.quiet else report)
    print(f"trained the encoder of {folder} to step {step} ({rate:.2f} steps/s); run in {args.out}")
    return trainer


@command
def main(argv=None):
    train(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
