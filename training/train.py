"""Train a GAN.

    python -m training.train --dataset mnist|faces|folder:PATH \
        --arch dcgan|capsule|wgan-gp|acgan|infogan [--d conv|capsule] --steps N --out runs/NAME [--resume]

`--steps` is the total step count: with `--resume` the run carries on from its
last checkpoint until it reaches N (a run already there is refused, as is an
`--init-from` whose model has N steps or more). `--init-from models/NAME` starts a new run
from an exported model's weights (see `training.warm_start`), counting on from
the steps that model had; use it when the original run's folder is gone, or with
`--d-filters`/`--dropout`/`--class-entropy` to train that G against a new D. `--precision bfloat16`
computes the hidden layers in bfloat16 (weights, losses and checkpoints stay
float32): about 2.2x faster on a CPU with AMX or AVX-512 BF16, slower on one
without. Everything is written under `--out`:
checkpoint/, log.csv, tensorboard/, samples/step_XXXXXXX.png, progress.gif (the
grids so far, animated), losses.png. `--data-share 0.1` trains on a fixed tenth of
the data (of every class). `--metrics-every N` also writes metrics.csv: every N
steps, the metrics of the EMA G's samples (MNIST: the judge's reading of 1,000,
`training.digit_metrics`; faces: the Fréchet distance of 2,000 to faces64_val,
`training.face_features`), the mean losses and D accuracy since the last row, and
the training seconds so far, and keeps the checkpoint of the best row so far in
best/ (the lowest FD; for MNIST the lowest judge FD): `training.export
--checkpoint best` exports it. `--best-from STEP` lets only rows from STEP on into
best/ (a model that must have seen so many images: the best of the rows past it).
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from training import augment, checkpoint, data, loop, reporting, run_metrics, warm_start  # noqa: E402
from training.cli import command  # noqa: E402
from training.gans import ARCHS, G_ARCHS, build_gan, default_config  # noqa: E402
from training.nets import D_ARCHS, drop_foreign_options  # noqa: E402

# --precision -> the Keras dtype policy the nets are built under
PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def _int_tuple(text):
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", required=True, help="mnist, faces or folder:PATH")
    p.add_argument("--arch", choices=ARCHS, help="default dcgan, or the --init-from model's")
    p.add_argument("--steps", type=int, required=True, help="total training steps")
    p.add_argument("--out", required=True, help="run directory, e.g. runs/faces")
    p.add_argument("--resume", action="store_true", help="carry on from the run's last checkpoint")
    p.add_argument("--init-from", metavar="MODEL_DIR",
                   help="start from an exported model (models/NAME) rather than random weights")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--d-lr", type=float, help="D's learning rate, if not --lr (TTUR)")
    p.add_argument("--top-k", type=float, default=1.0, metavar="SHARE",
                   help="dcgan: train G on this share of each batch that D rates most real (Sinha et al. 2020); "
                        "1 = off")
    p.add_argument("--r1", type=float, default=0.0, metavar="GAMMA",
                   help="dcgan: add the R1 penalty (GAMMA/2) E|grad D(real)|^2 to D's loss (Mescheder et al. 2018); "
                        "0 = off")
    p.add_argument("--class-entropy", type=float, default=0.0, metavar="WEIGHT",
                   help="dcgan on labelled data: D also learns the class of real images, and G's loss adds "
                        "WEIGHT x (entropy of D's class guess per sample - entropy of the batch's mean guess), "
                        "CatGAN's terms (Springenberg 2016); a new D gets the class head; 0 = off")
    p.add_argument("--diffaugment", default="", metavar="POLICY",
                   help="DiffAugment (Zhao et al. 2020): apply these differentiable ops, e.g. "
                        "color,translation,cutout, to every image D sees, real and generated; any arch; '' = off")
    p.add_argument("--beta1", type=float, default=0.5)
    p.add_argument("--latent", type=int, default=100, help="size of z")
    p.add_argument("--g-arch", choices=G_ARCHS,
                   help="G of a new run: dcgan (the origin's, default) or resnet (residual up-blocks with "
                        "skip-layer excitation)")
    p.add_argument("--g-filters", type=_int_tuple, metavar="N,N,...",
                   help="filters of G's upsampling rounds for a new run (default 128,64 at 28x28, 128,64,32 at 64x64)")
    p.add_argument("--g-start-filters", type=int, metavar="N",
                   help="channels of the map G's Dense layer makes, for a new run (default 128)")
    p.add_argument("--g-mixture", type=int, default=0, metavar="M",
                   help="give G a latent gate of M components, so samples fall less often between classes "
                        "(a new run, or grafted onto an --init-from G); 0 = none")
    p.add_argument("--d-filters", type=_int_tuple, metavar="N,N,...",
                   help="filters of D's stride-2 convs for a new D (default 64,128 at 28x28, 64,128,256 at 64x64)")
    p.add_argument("--d", dest="d_arch", choices=D_ARCHS,
                   help="the kind of a new D, for any arch: conv (default) or capsule (routing by agreement; "
                        "see training.nets.capsule for how each trainer's heads sit on it)")
    p.add_argument("--dropout", type=float, help="dropout before the output of a new D (default 0.2)")
    p.add_argument("--d-border", type=int,
                   help="a new capsule D: reflect its input by this many pixels on each side, so its unpadded "
                        "9x9 convolutions see the border pixels (4 covers them); default 0, the origin's")
    p.add_argument("--size", type=int, default=64, help="image side for folder datasets")
    p.add_argument("--precision", choices=PRECISIONS, default="float32",
                   help="bfloat16: mixed precision, the hidden layers compute in bfloat16")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sample-every", type=int, default=500, help="steps between sample grids")
    p.add_argument("--ckpt-every", type=int, default=500, help="steps between checkpoints")
    p.add_argument("--data-dir", default=None, help="folder of the npz datasets")
    p.add_argument("--data-share", type=float, default=1.0, metavar="SHARE",
                   help="train on this share (0, 1] of the training images, the same ones every run "
                        "(a share of every class for labelled data)")
    p.add_argument("--metrics-every", type=int, default=0, metavar="N",
                   help="every N steps, write metrics of the samples to metrics.csv: MNIST the judge's reading "
                        "of 1,000, faces the Fréchet distance of 2,000 to faces64_val; 0 = off")
    p.add_argument("--best-from", type=int, default=0, metavar="STEP",
                   help="only rows from this step on may become best/ (an earlier best/ is not compared against)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


# Options fields of the trainers -> the flag (dest) that sets them and the flag's default
OPTION_FLAGS = {"top_k": ("top_k", 1.0), "r1_gamma": ("r1", 0.0), "class_entropy": ("class_entropy", 0.0)}


def _build(args, cfg):
    """build_gan for cfg with the run's optimiser settings and the trainer options
    given on the command line (a flag left at its default is not passed)."""
    options = {field: getattr(args, dest) for field, (dest, default) in OPTION_FLAGS.items()
               if getattr(args, dest) != default}
    return build_gan(cfg, args.lr, args.beta1, args.d_lr, augment.parse_policy(args.diffaugment), **options)


def _shape_d(args, ds, cfg):
    """A new D's shape from the flags: filters, dropout, and a class head for --class-entropy."""
    if args.d_filters:
        cfg.d_filters = args.d_filters
    if args.dropout is not None:
        cfg.dropout = args.dropout
    if args.d_arch:
        cfg.d_arch = args.d_arch
        drop_foreign_options(cfg)   # a capsule D's border, from --init-from, does not carry over
    if args.d_border is not None:
        cfg.d_border = args.d_border
    if args.class_entropy > 0:
        if not ds.num_classes:
            raise ValueError(f"--class-entropy needs a labelled dataset (mnist), not {ds.name}")
        cfg.d_class_head = ds.num_classes
    return cfg


def _check_shape(what, cfg, ds):
    if tuple(cfg.image_shape) != ds.image_shape:
        raise ValueError(f"{what} is for {tuple(cfg.image_shape)} images but the dataset has {ds.image_shape}")


def resume_run(args, ds):
    """Carry on from the run's checkpoint with its own nets; returns (gan, step)."""
    if new_d_flags(args) or new_g_flags(args) or args.g_mixture:
        raise ValueError("--g-arch, --g-filters, --g-start-filters, --g-mixture, --d, --d-filters and --dropout shape "
                         "new nets; a resumed run keeps its nets")
    cfg = checkpoint.read_state(args.out).config
    _check_shape("checkpoint", cfg, ds)
    if args.class_entropy > 0 and not cfg.d_class_head:
        raise ValueError("--class-entropy needs D's class head, which this run's D lacks: export the run "
                         "and start a new one from it with --init-from")
    gan = _build(args, cfg)
    return gan, checkpoint.restore(args.out, gan)


def init_from_run(args, ds):
    """A new run from an exported model's G (and its D unless the flags shape a new
    one), counting on from its steps; returns (gan, step)."""
    if new_g_flags(args):
        raise ValueError("--init-from keeps the exported G: --g-arch, --g-filters and --g-start-filters are for a new run")
    cfg, steps, _ = warm_start.read_manifest(args.init_from)
    _check_shape(args.init_from, cfg, ds)
    if args.arch and cfg.arch != args.arch:
        raise ValueError(f"{args.init_from} is a {cfg.arch} model, not {args.arch}")
    new_d = new_d_flags(args) or (args.class_entropy > 0 and not cfg.d_class_head)
    cfg.g_mixture = args.g_mixture or cfg.g_mixture
    gan = _build(args, _shape_d(args, ds, cfg))
    agreement = warm_start.init_from_export(gan, args.init_from, with_discriminator=not new_d)
    if agreement is not None:
        print(f"gate aligned with D's classes of G's samples ({agreement:.0%} of them)", file=sys.stderr)
    return gan, steps


def new_run(args, ds):
    """Fresh nets of --arch (default dcgan) shaped by the flags; returns (gan, 0)."""
    cfg = default_config(args.arch or "dcgan", ds.image_shape, ds.num_classes)
    cfg.latent_dim, cfg.g_mixture = args.latent, args.g_mixture
    if args.g_arch:
        cfg.g_arch = args.g_arch
    if args.g_filters:
        cfg.g_filters = args.g_filters
    if args.g_start_filters is not None:
        cfg.g_start_filters = args.g_start_filters
    return _build(args, _shape_d(args, ds, cfg)), 0


def new_d_flags(args):
    return bool(args.d_filters) or args.dropout is not None or args.d_arch is not None or args.d_border is not None


def new_g_flags(args):
    return bool(args.g_filters) or args.g_start_filters is not None or args.g_arch is not None


def prepare_run(args, ds):
    """The GAN and its first step: resumed, from an exported model, or new."""
    if args.g_mixture < 0:
        raise ValueError("--g-mixture must be 0 (no gate) or a number of components")
    if args.resume:
        return resume_run(args, ds)
    if os.path.exists(os.path.join(args.out, checkpoint.CKPT_DIR, "state.json")):
        raise FileExistsError(f"{args.out} already holds a checkpoint: pass --resume or another --out")
    return init_from_run(args, ds) if args.init_from else new_run(args, ds)


def fixed_latents(gan, run_dir, n=64):
    """The same G inputs for every sample grid of a run, so grids can be compared."""
    path = os.path.join(run_dir, "fixed_z.npy")
    if os.path.exists(path):
        return np.load(path)
    labels = tf.range(n) % gan.cfg.num_classes if gan.cfg.num_classes else None
    z = gan.sample_latent(n, labels).numpy()
    np.save(path, z)
    return z


def write_samples(gan, z, run_dir, step):
    images = gan.ema_generator(z, training=False).numpy()
    reporting.save_grid(images, os.path.join(run_dir, "samples", f"step_{step:07d}.png"))
    reporting.save_progress_gif(os.path.join(run_dir, "samples"), os.path.join(run_dir, "progress.gif"))
    reporting.save_loss_plot(os.path.join(run_dir, "log.csv"), os.path.join(run_dir, "losses.png"))


def train(args):
    ds = data.subset(data.load_dataset(args.dataset, args.data_dir, args.size), args.data_share)
    if args.metrics_every and ds.name not in run_metrics.READERS:
        raise ValueError(f"--metrics-every has no reader for {ds.name}: it is for {', '.join(run_metrics.READERS)}")
    os.makedirs(os.path.join(args.out, "samples"), exist_ok=True)
    keras.mixed_precision.set_global_policy(PRECISIONS[args.precision])
    try:
        gan, step = prepare_run(args, ds)
    finally:
        keras.mixed_precision.set_global_policy("float32")   # nets built later (export, tests) are float32
    if step >= args.steps:
        raise ValueError(f"nothing to train: the run starts at step {step} ("
                         f"{'its checkpoint' if args.resume else 'the steps of ' + args.init_from}) and --steps "
                         f"is the total to reach ({args.steps}): pass --steps above {step}")
    # A resumed run gets a fresh stream of randomness rather than replaying the first steps.
    keras.utils.set_random_seed(args.seed + step)
    z_fixed = fixed_latents(gan, args.out)
    batches = iter(data.make_pipeline(ds, args.batch, seed=args.seed + step))
    def step_fn(batch):
        values = gan.train_step(batch)
        gan.update_ema()
        return values

    train_step = tf.function(step_fn)
    log = reporting.RunLog(args.out, start_step=step)
    bar = None if args.quiet else keras.utils.Progbar(args.steps, interval=0.5 if sys.stdout.isatty() else 30)
    metrics = run_metrics.MetricsWriter(gan, args.out, args.metrics_every, args.steps, step, ds.name,
                                        args.data_dir, args.best_from) if args.metrics_every else None

    saved_args = {k: v for k, v in vars(args).items() if k not in ("resume", "quiet")}

    def report(s, values):
        if bar:
            bar.update(s, list(values.items()))
        if metrics and metrics(s, values):
            checkpoint.save(args.out, gan, s, saved_args, checkpoint.BEST_DIR, metrics.best)
    try:
        step, rate = loop.run(step, args.steps, lambda: train_step(next(batches)), log,
                              args.sample_every, args.ckpt_every,
                              sample=lambda s: write_samples(gan, z_fixed, args.out, s),
                              save=lambda s: checkpoint.save(args.out, gan, s, saved_args),
                              report=report)
    finally:
        if metrics:
            metrics.close()
    print(f"trained {gan.cfg.arch} on {ds.name} to step {step} ({rate:.2f} steps/s); run in {args.out}")
    return gan


@command
def main(argv=None):
    train(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
