"""Freeze a trained run into a model folder the engine serves.

    python -m training.export runs/NAME --name NAME [--title "..."] [--models-dir models] [--checkpoint best]
    python -m training.export runs/NAME-encoder --name NAME    (adds the encoder)

models/NAME/ (the format is `app.engine.manifest`'s)
    generator.pb, discriminator.pb, manifest.json
    generator.weights.h5, discriminator.weights.h5   Keras weights (averaged G, D) for --init-from
    samples/NNN.png    held-out images for the app's gallery (never trained on)
    grid.png           samples from the exported G
    losses.png         the run's loss plot
    encoder.pb         optional, from an encoder run (`training.train_encoder`):
                       (image (B, H, W, C) in [-1, 1], mask (B, H, W, 1), 1 = known)
                       -> z guess (B, latent) in (-1, 1)

Exporting a GAN run replaces the whole folder, encoder included: an encoder
only fits the generator it was trained against.
"""
import argparse
import datetime
import json
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402
from tensorflow.python.framework.convert_to_constants import (  # noqa: E402
    convert_variables_to_constants_v2)

from app.engine import manifest as model_format  # noqa: E402
from training import checkpoint, data, reporting, shrink, train_encoder  # noqa: E402
from training.cli import command  # noqa: E402
from training.gans import build_gan  # noqa: E402
from training.nets.encoder import build_encoder  # noqa: E402

# training arguments (train.py's dests) that the manifest's "training" block records
TRAINING_SETTINGS = ("dataset", "batch", "lr", "d_lr", "beta1", "top_k", "r1", "class_entropy", "diffaugment", "precision",
                     "seed", "init_from")
SAMPLE_COUNT = 24


def freeze(fn, specs, folder, filename):
    """Trace `fn` for one TensorSpec or a list of them, fold its variables into
    constants and write the GraphDef.

    Returns (input tensor name, or a list of them for a list of specs,
    [output tensor names in return order]).
    """
    many = isinstance(specs, (list, tuple))
    concrete = tf.function(fn).get_concrete_function(*(specs if many else [specs]))
    frozen = convert_variables_to_constants_v2(concrete)
    tf.io.write_graph(frozen.graph.as_graph_def(), folder, filename, as_text=False)
    inputs = [t.name for t in frozen.inputs[:len(specs) if many else 1]]
    return inputs if many else inputs[0], [t.name for t in frozen.outputs]


def export_graphs(gan, folder):
    """Write generator.pb (the averaged G) and discriminator.pb; returns the
    manifest's `graphs` entry."""
    cfg = gan.cfg
    g_in, (g_out,) = freeze(lambda z: gan.ema_generator(z, training=False),
                            tf.TensorSpec([None, cfg.g_input_dim], tf.float32, name="z"),
                            folder, "generator.pb")
    d_in, (d_prob, d_logit) = freeze(gan.d_outputs,
                                     tf.TensorSpec([None, *cfg.image_shape], tf.float32, name="image"),
                                     folder, "discriminator.pb")
    return {
        "generator": {"file": "generator.pb", "input": g_in, "output": g_out},
        "discriminator": {"file": "discriminator.pb", "input": d_in,
                          "outputs": {"probability": d_prob, "logit": d_logit}},
    }


def export_weights(gan, folder):
    """Write the Keras weights of the averaged G and of D, which `--init-from` loads
    (the frozen graphs stay the serving format); returns the manifest's `weights`."""
    files = {"generator": "generator.weights.h5", "discriminator": "discriminator.weights.h5"}
    gan.ema_generator.save_weights(os.path.join(folder, files["generator"]))
    gan.discriminator.save_weights(os.path.join(folder, files["discriminator"]))
    return files


def write_samples(images, folder):
    os.makedirs(folder, exist_ok=True)
    names = []
    for i, img in enumerate(images):
        name = f"{i:03d}.png"
        Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(os.path.join(folder, name))
        names.append(name)
    return names


def build_manifest(name, title, gan, graphs, step, args, samples, weights=None):
    cfg = gan.cfg
    return model_format.Manifest(
        name=name, title=title, image_shape=cfg.image_shape, latent_dim=cfg.g_input_dim, graphs=graphs,
        channel_order="RGB" if cfg.image_shape[-1] == 3 else "L",
        # For ACGAN/InfoGAN the slice [offset, offset + num_classes) of G's input is a
        # one-hot class code that the engine fixes per candidate instead of optimising.
        conditioning={"num_classes": cfg.num_classes, "offset": cfg.latent_dim} if cfg.num_classes else None,
        continuous=({"count": cfg.num_continuous, "offset": cfg.latent_dim + cfg.num_classes}
                    if cfg.num_continuous else None),
        adversarial_loss=gan.adversarial_loss, perceptual=gan.perceptual, samples=samples, weights=weights,
        training={
            "arch": cfg.arch,
            "steps": int(step),
            # the data, loss and optimiser settings of the last stretch of training
            **{key: args.get(key) for key in TRAINING_SETTINGS},
            "config": json.loads(cfg.to_json()),
            "exported": now(),
        })


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def export(run_dir, name, title=None, models_dir="models", data_dir=None, samples=True, graphs_only=False,
           half_weights=False, which="last", refine_steps=0):
    """Freeze the run's checkpoint (which: "last", or "best" by its metrics, see
    `checkpoint.FOLDERS`) into models_dir/name; returns the folder. graphs_only
    leaves out the Keras weights: the bundled models share a size cap, and `--init-from`
    can still start from the graphs (the older path), though less exactly; half_weights
    stores the graphs' large weights as float16 (`training.shrink`); refine_steps is the
    engine's default second stage for this G (0: off), chosen on validation data by
    `bench.inpaint_quality`: a new G is not given the old one's choice silently."""
    model_format.check_name(name)
    if isinstance(refine_steps, bool) or not isinstance(refine_steps, int) or refine_steps < 0:
        raise ValueError(f"refine_steps must be an integer >= 0, got {refine_steps!r}")
    kept = checkpoint.FOLDERS[which]
    step, cfg, args, metric = checkpoint.read_state(run_dir, kept)
    gan = build_gan(cfg)
    checkpoint.restore(run_dir, gan, with_optimizers=False, folder=kept)
    folder = os.path.join(models_dir, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    graphs = export_graphs(gan, folder)
    weights = None if graphs_only else export_weights(gan, folder)
    sample_names = []
    held_out = data.held_out_samples(args.get("dataset"), data_dir, SAMPLE_COUNT) if samples else None
    if held_out is not None:
        sample_names = write_samples(held_out, os.path.join(folder, "samples"))
    z = gan.sample_latent(64, tf.range(64) % cfg.num_classes if cfg.num_classes else None)
    reporting.save_grid(gan.ema_generator(z, training=False).numpy(), os.path.join(folder, "grid.png"), scale=1)
    log = os.path.join(run_dir, "log.csv")
    if os.path.exists(log):
        reporting.save_loss_plot(log, os.path.join(folder, "losses.png"))
    title = title or f"{args.get('dataset', name)} {cfg.arch}"
    manifest = build_manifest(name, title, gan, graphs, step, args, sample_names, weights)
    manifest.refine_steps = refine_steps
    manifest.training.update(checkpoint=which, **({"metric": metric} if metric else {}))
    model_format.write(folder, manifest)
    if half_weights:
        shrink.shrink(folder, list(graphs))
    return folder


def export_encoder(run_dir, name, models_dir="models"):
    """Freeze an encoder run into models_dir/name (which must hold the generator it
    was trained against); returns the folder."""
    state = train_encoder.read_state(run_dir)
    folder = os.path.join(models_dir, model_format.check_name(name))
    if not model_format.has_manifest(folder):
        raise FileNotFoundError(f"no model {folder} to add the encoder to: export the GAN first")
    manifest = model_format.read(folder)
    g_hash = train_encoder.file_sha256(manifest.graph_path(folder, "generator"))
    if g_hash != state["generator_sha256"]:
        raise ValueError(f"{run_dir} was trained against another generator than {folder}'s; "
                         "train a new encoder for this one")
    shape, latent = manifest.image_shape, manifest.latent_dim
    encoder = build_encoder(shape, latent)
    encoder.load_weights(os.path.join(run_dir, checkpoint.CKPT_DIR, "encoder.weights.h5"))
    (img_in, mask_in), (z_out,) = freeze(
        lambda image, mask: encoder(train_encoder.encoder_input(image, mask), training=False),
        [tf.TensorSpec([None, *shape], tf.float32, name="image"),
         tf.TensorSpec([None, *shape[:2], 1], tf.float32, name="mask")],
        folder, "encoder.pb")
    manifest.graphs["encoder"] = {"file": "encoder.pb", "inputs": {"image": img_in, "mask": mask_in},
                                  "output": z_out}
    manifest.encoder = {"steps": state["step"], "batch": state["args"].get("batch"),
                        "real_share": state["args"].get("real_share"), "exported": now()}
    model_format.write(folder, manifest)
    return folder


def is_encoder_run(run_dir):
    try:
        return train_encoder.read_state(run_dir).get("kind") == "encoder"
    except FileNotFoundError:
        return False


@command
def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m training.export", description=__doc__.split("\n")[0])
    p.add_argument("run", help="run directory with a checkpoint")
    p.add_argument("--name", required=True, help="model name: letters, digits, '-' and '_'")
    p.add_argument("--title", help="human-readable title for the app")
    p.add_argument("--models-dir", default="models")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--graphs-only", action="store_true",
                   help="leave out the Keras weights (half the size; --init-from then reads the graphs)")
    p.add_argument("--half-weights", action="store_true",
                   help="store the graphs' weights as float16, computed in float32 (half the size again; "
                        "outputs move by about 1e-3)")
    p.add_argument("--checkpoint", choices=tuple(checkpoint.FOLDERS), default="last",
                   help="a GAN run's last checkpoint, or its best by --metrics-every (the lowest FD)")
    p.add_argument("--refine-steps", type=int, default=0, metavar="N",
                   help="the engine's default refinement steps for this G (default 0: off); "
                        "choose N on validation data with bench.inpaint_quality --sweep refine_steps=0,25,...")
    args = p.parse_args(argv)
    try:
        model_format.check_name(args.name)
    except ValueError as exc:
        p.error(str(exc))
    if args.refine_steps < 0:
        p.error("--refine-steps must be at least 0")
    if is_encoder_run(args.run):
        if args.checkpoint != "last":
            p.error("an encoder run has one checkpoint: --checkpoint is for GAN runs")
        if args.refine_steps:
            p.error("--refine-steps is a setting of G's export, not of its encoder's")
        folder = export_encoder(args.run, args.name, args.models_dir)
    else:
        folder = export(args.run, args.name, args.title, args.models_dir, args.data_dir,
                        graphs_only=args.graphs_only, half_weights=args.half_weights,
                        which=args.checkpoint, refine_steps=args.refine_steps)
    print(f"exported {args.run} to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
