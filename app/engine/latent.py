"""What a GAN has learned, shown in its latent space: seeded samples, slerp morphs
(White 2016), vector arithmetic (Radford et al. 2016, section 6), InfoGAN's codes,
and the projection of a picture onto G's latent space.

z: (d,) or (N, d) float32, d = the model's latent_dim, drawn from U(-1, 1)^d. For a
conditioned model (ACGAN, InfoGAN) the slice `manifest.conditioning` of z is a
one-hot class code, and an InfoGAN's `manifest.codes["continuous"]` slice holds its
continuous codes in [-1, 1]. Images out: (N, H, W, C) uint8, RGB or gray.

    python -m app.engine.latent samples --model mnist --seed 0 --count 16 --out grid.png
    python -m app.engine.latent morph --model faces --seed-a 1 --seed-b 2 --frames 16 --out morph.gif
"""
import io
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

from app.engine import imageio  # noqa: E402
from app.engine.adam import adam_step  # noqa: E402
from app.engine.commands import ArgumentParser, run_command  # noqa: E402
from app.engine.driver import Frame, Outcome, drive  # noqa: E402
from app.engine.model import load_model  # noqa: E402


def seeded_z(model, seed, count=1, classes=None):
    """(count, d) z ~ U(-1, 1) from `seed`; a conditioned model's class codes are
    `classes` ((count,) ints or one int) or, if None, 0, 1, 2, ... in turn."""
    z = np.random.default_rng(seed).uniform(-1.0, 1.0, (count, model.latent_dim)).astype(np.float32)
    return model.manifest.set_classes(z, np.arange(count) if classes is None else classes)


def generate(model, z):
    """z (N, d) -> (N, H, W, C) uint8, in batches of at most 64."""
    z = np.atleast_2d(np.asarray(z, np.float32))
    out = [model.generate(tf.constant(z[i:i + 64]))[0].numpy() for i in range(0, len(z), 64)]
    return imageio.to_uint8(np.concatenate(out))


def free_mask(model):
    """(d,) bool: the entries of z that are noise, not a class code."""
    free = np.ones(model.latent_dim, bool)
    cond = model.conditioning
    if cond:
        free[cond["offset"]:cond["offset"] + cond["num_classes"]] = False
    return free


def slerp(a, b, t):
    """Spherical interpolation from a (t = 0) to b (t = 1): the direction turns along
    the great circle between a's and b's, and the norm goes linearly from |a| to |b|
    (linear interpolation where a and b are parallel or opposite). a, b: (d,) float;
    t in [0, 1] -> (d,) float32. Points between may leave the box [-1, 1]^d a little:
    G reads them as it reads any z near its prior."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-12 or nb < 1e-12:
        return ((1 - t) * a + t * b).astype(np.float32)
    ua, ub = a / na, b / nb
    omega = np.arccos(np.clip(ua @ ub, -1.0, 1.0))
    if omega < 1e-6 or np.pi - omega < 1e-6:    # parallel, or opposite: no single great circle
        return ((1 - t) * a + t * b).astype(np.float32)
    direction = (np.sin((1 - t) * omega) * ua + np.sin(t * omega) * ub) / np.sin(omega)
    direction /= np.linalg.norm(direction)
    return (direction * ((1 - t) * na + t * nb)).astype(np.float32)


def morph_path(model, z_a, z_b, frames):
    """(frames, d): slerp on the noise part of z, a linear blend of the class codes
    (a conditioned G reads a soft code as a mix of classes)."""
    free = free_mask(model)
    path = np.empty((frames, model.latent_dim), np.float32)
    for i, t in enumerate(np.linspace(0.0, 1.0, frames)):
        path[i, free] = slerp(z_a[free], z_b[free], t)
        path[i, ~free] = (1 - t) * z_a[~free] + t * z_b[~free]
    return path


def morph(model, z_a, z_b, frames=16, stop=None):
    """A morph as a generator: yields each frame (Frame: image (H, W, C) uint8) as it is
    drawn and returns an Outcome whose image is the last frame and whose `frames` are
    all of them; `stop()` ends it."""
    path = morph_path(model, np.asarray(z_a, np.float32), np.asarray(z_b, np.float32), frames)
    drawn = []
    for i, z in enumerate(path):
        if stop is not None and stop():
            return Outcome(drawn[-1] if drawn else None, {}, i, cancelled=True, frames=drawn)
        drawn.append(generate(model, z[None])[0])
        yield Frame(i + 1, frames, {"t": i / max(frames - 1, 1)}, drawn[-1])
    return Outcome(drawn[-1], {}, frames, frames=drawn)


def write_gif(images, fps=12, scale=1):
    """Frames (N, H, W, C) uint8 -> the bytes of a looping GIF, played forth and back."""
    images = list(images) + list(images[-2:0:-1])
    pics = [Image.fromarray(im[..., 0] if im.shape[-1] == 1 else im) for im in images]
    if scale > 1:
        pics = [p.resize((p.width * scale, p.height * scale), Image.NEAREST) for p in pics]
    buf = io.BytesIO()
    pics[0].save(buf, format="GIF", save_all=True, append_images=pics[1:], duration=round(1000 / fps), loop=0)
    return buf.getvalue()


def arithmetic(model, groups, variations=4, sigma=0.15, seed=0):
    """mean z_A - mean z_B + mean z_C, then `variations` copies with N(0, sigma^2) noise
    on the noise part; all kept in the prior's box [-1, 1]. A class code's result is
    clipped at 0 and made to sum to 1 (C's code if nothing is left). groups: (A, B, C), each
    (n_i, d). Returns (z (1 + variations, d), images (1 + variations, H, W, C) uint8)."""
    a, b, c = (np.atleast_2d(np.asarray(g, np.float32)).mean(axis=0) for g in groups)
    z = np.clip(a - b + c, -1.0, 1.0)
    fixed = ~free_mask(model)
    if fixed.any():    # a class code must stay a mix of classes: no negative or excess share
        code = np.clip(a - b + c, 0.0, None)[fixed]
        z[fixed] = code / code.sum() if code.sum() > 0 else c[fixed]
    rng = np.random.default_rng(seed)
    zs = np.repeat(z[None], 1 + variations, axis=0)
    zs[1:, free_mask(model)] += rng.normal(0.0, sigma, (variations, int(free_mask(model).sum())))
    zs = np.clip(zs, -1.0, 1.0).astype(np.float32)
    return zs, generate(model, zs)


def nearest(images, pool, k=3):
    """Indices (k,) of the pool's images (M, H, W, C) nearest to images[0] in pixel L2."""
    d = ((pool.astype(np.float32) - images[0].astype(np.float32)) ** 2).reshape(len(pool), -1).mean(axis=1)
    return np.argsort(d)[:k]


def with_codes(model, z, category=None, continuous=None):
    """A copy of z (d,) with an InfoGAN's (or ACGAN's) class set to `category` and its
    continuous codes set to `continuous` ((k,) in [-1, 1]), where given."""
    z = np.array(z, np.float32)[None]
    if category is not None:
        model.manifest.set_classes(z, int(category))
    codes = model.manifest.continuous
    if continuous is not None:
        if not codes:
            raise ValueError(f"model {model.name} has no continuous codes")
        values = np.clip(np.asarray(continuous, np.float32), -1.0, 1.0)
        if values.shape != (codes["count"],):
            raise ValueError(f"model {model.name} has {codes['count']} continuous codes, got {values.size}")
        z[0, codes["offset"]:codes["offset"] + codes["count"]] = values
    return z[0]


class Projector:
    """Finds z with G(z) close to a picture: Adam on z (kept in [-1, 1]) towards the
    mean squared error over all pixels, `restarts` candidates, the first from the
    model's encoder where it has one. Build once per model; thread-safe."""

    def __init__(self, model):
        self.model = model
        self.free = tf.constant(free_mask(model).astype(np.float32))

        d, image = tf.TensorSpec([None, model.latent_dim], tf.float32), tf.TensorSpec(model.image_shape, tf.float32)
        scalar = tf.TensorSpec([], tf.float32)

        @tf.function(input_signature=[d, d, d, scalar, image, scalar])
        def step(z, m, v, t, target, lr):
            with tf.GradientTape() as tape:
                tape.watch(z)
                errors = tf.reduce_mean(tf.square(model.generate(z)[0] - target[None]), axis=(1, 2, 3))
                total = tf.reduce_sum(errors)   # candidates are independent: each gets its own gradient
            g = tape.gradient(total, z) * self.free
            return (*adam_step(z, g, m, v, t, lr), errors)

        self._step = step

    def iterate(self, image, steps=200, restarts=8, lr=0.05, seed=0, stop=None, report_every=10):
        """image (H, W, C) float32 in [-1, 1] -> generator of Frames (G(z) of the best
        candidate, losses {mse}); returns an Outcome with `.z` (d,) set. A conditioned
        model gets at least one candidate per class (the class is not searched by Adam)."""
        model = self.model
        # a conditioned G's class is not searched by Adam: every class gets a candidate
        restarts = max(restarts, model.manifest.num_classes + (model.encode is not None))
        z = seeded_z(model, seed, restarts, classes=np.arange(restarts))
        if model.encode is not None:
            known = tf.ones((1,) + tuple(model.image_shape[:2]) + (1,))
            guess = np.clip(model.encode(tf.constant(image[None], tf.float32), known)[0].numpy(), -1, 1)
            if model.conditioning:      # the encoder's class, as a one-hot code
                model.manifest.set_classes(guess, model.manifest.class_of(guess))
            z[-1] = guess[0]
        z, m, v = tf.constant(z), tf.zeros_like(z), tf.zeros_like(z)
        target = tf.constant(image, tf.float32)
        best_z, best_err = None, None
        for i in range(1, steps + 1):
            if stop is not None and stop():
                break
            z_before = z
            z, m, v, errors = self._step(z, m, v, tf.constant(float(i)), target, tf.constant(lr))
            errors = errors.numpy()
            k = int(np.argmin(errors))
            if best_err is None or errors[k] < best_err:
                best_err, best_z = float(errors[k]), z_before[k].numpy()
            if i % report_every == 0 or i == steps:
                yield Frame(i, steps, {"mse": best_err}, generate(model, best_z[None])[0])
        return Outcome(generate(model, best_z[None])[0] if best_z is not None else None,
                       {"mse": best_err}, i, cancelled=i < steps, z=best_z)


# -- command line -------------------------------------------------------------------


def parse_args(argv=None):
    p = ArgumentParser(prog="python -m app.engine.latent", description="Samples and morphs in a GAN's latent space.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("samples", help="a grid of samples from a seed")
    s.add_argument("--count", type=int, default=16)
    s.add_argument("--seed", type=int, default=0)
    m = sub.add_parser("morph", help="a slerp morph between two seeds' samples, as a looping GIF")
    m.add_argument("--seed-a", type=int, default=0)
    m.add_argument("--seed-b", type=int, default=1)
    m.add_argument("--frames", type=int, default=16)
    m.add_argument("--scale", type=int, default=2, help="enlarge each frame this many times (pixelated)")
    for q in (s, m):
        q.add_argument("--model", required=True)
        q.add_argument("--out", required=True)
        q.add_argument("--models-dir", default=os.environ.get("REGEN_MODELS", "models"))
    return p.parse_args(argv)


def run(args):
    model = load_model(args.models_dir, args.model)
    if args.command == "samples":
        if not 1 <= args.count <= 256:
            raise ValueError(f"count must be from 1 to 256, got {args.count}")
        images = generate(model, seeded_z(model, args.seed, args.count))
        cols = int(np.ceil(np.sqrt(len(images))))
        h, w, c = images.shape[1:]
        grid = np.zeros((h * int(np.ceil(len(images) / cols)), w * cols, c), np.uint8)
        for i, im in enumerate(images):
            grid[(i // cols) * h:(i // cols + 1) * h, (i % cols) * w:(i % cols + 1) * w] = im
        imageio.write(args.out, grid)
    else:
        if not 2 <= args.frames <= 240:
            raise ValueError(f"frames must be from 2 to 240, got {args.frames}")
        z_a, z_b = seeded_z(model, args.seed_a)[0], seeded_z(model, args.seed_b)[0]
        frames = drive(morph(model, z_a, z_b, args.frames)).frames
        with open(args.out, "wb") as f:
            f.write(write_gif(np.stack(frames), scale=max(1, min(args.scale, 8))))
    print(f"wrote {args.out}", file=sys.stderr)


def main(argv=None):
    return run_command(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
