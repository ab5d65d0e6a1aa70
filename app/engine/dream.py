"""DeepDream (Mordvintsev et al. 2015) on Regen's own networks: gradient ascent on
an image so that a layer of a feature network (`app.engine.features`) responds
more strongly to it.

For each octave, smallest first, the image at that size (plus the detail the
previous octaves added) is pushed up the gradient of the layer's mean activation:

    x <- clip(x + step_size * g / std(g), -1, 1),   g = d mean(A_layer(x)) / dx

1. Octaves: the image is shrunk by `octave_scale` per octave, so low octaves shape
   large structures and high ones fine texture.
2. Jitter: before each step the image is rolled by a random shift, and the
   gradient rolled back, so tile seams and the network's stride grid never sit
   in one place.
3. Tiles: the gradient is computed on tiles of at most `tile` pixels a side and
   put together, so a photo of any size fits in memory.
4. Normalisation: the gradient is divided by its standard deviation, so the step
   size means the same thing on every layer and network.

Images in and out: (H, W, C) float32 in [-1, 1] or uint8, C = 3 (RGB) or 1 (gray).

    python -m app.engine.dream --model faces --layer conv2 --image IN --out OUT \
        [--steps --step-size --octaves --octave-scale --tile --jitter --channels --seed]
    python -m app.engine.dream --model faces --list-layers
"""
import dataclasses
import os
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402

from app.engine import imageio  # noqa: E402
from app.engine.commands import ArgumentParser, run_command  # noqa: E402
from app.engine.driver import Frame, Outcome, Reporter, StepCost, drive  # noqa: E402
from app.engine.features import load_features  # noqa: E402

MIN_OCTAVE_SIDE = 16   # an octave's shorter side never drops below this (the smallest D reads 9x9 at once)


@dataclasses.dataclass(frozen=True)
class DreamParams:
    layer: str                   # a layer of the feature network, e.g. conv2 or r3
    channels: tuple = ()         # the channels of that layer to amplify; () = the whole layer
    steps: int = 10              # gradient steps per octave
    step_size: float = 0.02      # in [-1, 1] pixel units, per step, of the normalised gradient
    octaves: int = 3
    octave_scale: float = 1.4    # each octave is this much larger than the one before
    tile: int = 256              # tile side in pixels for the gradient
    jitter: int = 16             # largest random shift in pixels, each axis
    seed: int | None = None

    def check(self):
        if not 1 <= self.steps <= 1000:
            raise ValueError(f"steps must be from 1 to 1000, got {self.steps}")
        if not 0 < self.step_size <= 1:
            raise ValueError(f"step size must be > 0 and <= 1, got {self.step_size:g}")
        if not 1 <= self.octaves <= 8:
            raise ValueError(f"octaves must be from 1 to 8, got {self.octaves}")
        if not 1.0 < self.octave_scale <= 3.0:
            raise ValueError(f"octave scale must be > 1 and <= 3, got {self.octave_scale:g}")
        if not 16 <= self.tile <= 2048:
            raise ValueError(f"tile must be from 16 to 2048 pixels, got {self.tile}")
        if not 0 <= self.jitter <= 128:
            raise ValueError(f"jitter must be from 0 to 128 pixels, got {self.jitter}")
        return self


def octave_sizes(height, width, octaves, scale):
    """(h, w) of each octave, smallest first, the last being (height, width): octave k
    of n is the image shrunk by scale^(n - 1 - k), its shorter side at least
    MIN_OCTAVE_SIDE (or the image's own, if that is smaller)."""
    floor = min(MIN_OCTAVE_SIDE, height, width)
    sizes = []
    for k in range(octaves):
        shrink = scale ** (octaves - 1 - k)
        h, w = round(height / shrink), round(width / shrink)
        if min(h, w) < floor:
            continue
        sizes.append((h, w))
    return sizes or [(height, width)]


def tile_bounds(length, tile):
    """Split [0, length) into ceil(length / tile) near-equal spans: [(start, stop)]."""
    n = -(-length // tile)
    edges = np.linspace(0, length, n + 1).round().astype(int)
    return list(zip(edges[:-1], edges[1:]))


class Dreamer:
    """DeepDream on one FeatureNet. Build once and reuse; one trace per layer."""

    def __init__(self, net):
        self.net = net
        self._grads = {}
        self.cost = StepCost()        # seconds per step by image size: a guess until `calibrate`

    def _grad_fn(self, layer):
        """tf.function (1, h, w, C) image, (c,) channel weights -> (sum of the weighted
        activations over positions, the number of positions, the sum's gradient
        with respect to the image)."""
        if layer not in self._grads:
            net = self.net

            @tf.function(reduce_retracing=True)
            def grad(image, weights):
                with tf.GradientTape() as tape:
                    tape.watch(image)
                    act = tf.cast(net(image)[layer], tf.float32)
                    total = tf.reduce_sum(tf.reduce_sum(act, axis=(0, 1, 2)) * weights)
                positions = tf.shape(act)[1] * tf.shape(act)[2]
                return total, positions, tape.gradient(total, image)

            self._grads[layer] = grad
        return self._grads[layer]

    def channel_weights(self, params):
        """(c,) float32: 1 / len(channels) on the chosen channels, or 1 / c on all."""
        sizes = dict(self.net.layer_sizes((32, 32)))
        c = sizes[self.net.check_layer(params.layer)][-1]
        bad = [ch for ch in params.channels if not 0 <= ch < c]
        if bad:
            raise ValueError(f"layer {params.layer} has channels 0 to {c - 1}, not {bad[0]}")
        weights = np.zeros(c, np.float32)
        chosen = list(params.channels) or list(range(c))
        weights[chosen] = 1.0 / len(chosen)
        return weights

    def gradient(self, image, layer, weights, tile, shift=(0, 0)):
        """Gradient of the layer's activation summed over positions, tile by tile.
        image: (H, W, C) float32 in [-1, 1]; shift: (dy, dx) to roll the image by first.
        Returns (gradient (H, W, C) float32, mean activation over all positions)."""
        grad_fn = self._grad_fn(layer)
        rolled = np.roll(image, shift, axis=(0, 1))
        grad = np.zeros_like(rolled)
        total, positions = 0.0, 0
        for y0, y1 in tile_bounds(rolled.shape[0], tile):
            for x0, x1 in tile_bounds(rolled.shape[1], tile):
                value, count, g = grad_fn(tf.constant(rolled[None, y0:y1, x0:x1]), tf.constant(weights))
                grad[y0:y1, x0:x1] = g.numpy()[0]
                total += float(value)
                positions += int(count)
        return np.roll(grad, (-shift[0], -shift[1]), axis=(0, 1)), total / max(positions, 1)

    def iterate(self, image, params, stop=None, report_every=0.1):
        """The dream as a generator: yields a Frame (the image at full size) at the
        start, then whenever a report is due, and returns an Outcome.
        image: (H, W, C) float32 in [-1, 1]; stop() -> True ends it early."""
        params.check()
        weights = self.channel_weights(params)
        rng = np.random.default_rng(params.seed)
        base = np.asarray(image, np.float32)
        height, width = base.shape[:2]
        sizes = octave_sizes(height, width, params.octaves, params.octave_scale)
        steps = len(sizes) * params.steps
        reporter = Reporter(report_every)
        losses = {"activation": 0.0}
        yield Frame(0, steps, dict(losses), imageio.to_uint8(base))
        detail = np.zeros(sizes[0] + base.shape[2:], np.float32)
        x, step = base, 0
        for size in sizes:
            octave_base = imageio.resize(base, size)
            x = octave_base + imageio.resize(detail, size)
            for _ in range(params.steps):
                if stop is not None and stop():
                    return Outcome(imageio.to_uint8(imageio.resize(x, (height, width))), losses, step, True)
                shift = tuple(int(s) for s in rng.integers(-params.jitter, params.jitter + 1, size=2))
                g, activation = self.gradient(x, params.layer, weights, params.tile, shift)
                x = np.clip(x + params.step_size * g / (g.std() + 1e-8), -1.0, 1.0)
                step += 1
                losses = {"activation": activation}
                if reporter.due(step, steps):
                    yield Frame(step, steps, dict(losses), imageio.to_uint8(imageio.resize(x, (height, width))))
            detail = x - octave_base
        return Outcome(imageio.to_uint8(x), losses, step)

    def dream(self, image, params, on_progress=None):
        """Run a dream to its end: (H, W, C) float32 in [-1, 1] -> Outcome."""
        return drive(self.iterate(image, params), on_progress)

    def calibrate(self, layer=None):
        """Time steps at 64x64 and 160x160 (after a first, traced call) -> self.cost."""
        layer = layer or self.net.layers[-1]
        params = DreamParams(layer=layer, steps=2, octaves=1, seed=0)
        timings = []
        for side in (64, 160):
            image = np.zeros((side, side, self.net.channels), np.float32)
            self.dream(image, params)
            started = time.perf_counter()
            self.dream(image, params)
            timings.append((side * side, (time.perf_counter() - started) / params.steps))
        self.cost = StepCost.fit(*timings)
        return self.cost

    def estimate_seconds(self, height, width, params):
        """About how long a dream of an image this size takes (see `calibrate`)."""
        sizes = octave_sizes(height, width, params.octaves, params.octave_scale)
        return sum(self.cost.seconds(params.steps, h * w) for h, w in sizes)


# -- command line -------------------------------------------------------------------


def parse_args(argv=None):
    d = DreamParams(layer="")
    p = ArgumentParser(prog="python -m app.engine.dream",
                       description="Amplify what a layer of a Regen network sees in an image (DeepDream).")
    p.add_argument("--model", help="read the layers of this model's discriminator (same as --features d:MODEL)")
    p.add_argument("--features", help="random (multi-scale random filters) or d:MODEL")
    p.add_argument("--list-layers", action="store_true", help="print the layers and their sizes, then exit")
    p.add_argument("--layer", help="the layer to amplify (see --list-layers)")
    p.add_argument("--image", help="input image (PNG, JPEG, WebP, any size)")
    p.add_argument("--out", help="where to write the dream as PNG")
    p.add_argument("--channels", default="", help="comma-separated channels of the layer; default: all")
    p.add_argument("--steps", type=int, default=d.steps, help="steps per octave")
    p.add_argument("--step-size", type=float, default=d.step_size)
    p.add_argument("--octaves", type=int, default=d.octaves)
    p.add_argument("--octave-scale", type=float, default=d.octave_scale)
    p.add_argument("--tile", type=int, default=d.tile, help="tile side in pixels")
    p.add_argument("--jitter", type=int, default=d.jitter, help="largest random shift in pixels")
    p.add_argument("--max-side", type=int, default=0, help="shrink the image first so its longest side is at "
                   "most this (0 = keep its size)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--models-dir", default=os.environ.get("REGEN_MODELS", "models"))
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if bool(args.model) == bool(args.features):
        p.error("give one of --model MODEL or --features random|d:MODEL")
    if not args.list_layers and not (args.layer and args.image and args.out):
        p.error("--layer, --image and --out are required (or --list-layers)")
    return args


def parse_channels(text):
    try:
        return tuple(int(c) for c in text.split(",") if c.strip())
    except ValueError:
        raise ValueError(f"channels must be comma-separated integers, got {text[:40]!r}") from None


def run(args):
    net = load_features(args.features or f"d:{args.model}", args.models_dir)
    if args.list_layers:
        for name, (h, w, c) in net.layer_sizes():
            print(f"{name}\t{c} channels\t{h}x{w} at {net.native or (64, 64)} input")
        return
    params = DreamParams(layer=args.layer, channels=parse_channels(args.channels), steps=args.steps,
                         step_size=args.step_size, octaves=args.octaves, octave_scale=args.octave_scale,
                         tile=args.tile, jitter=args.jitter, seed=args.seed).check()
    net.check_layer(params.layer)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise ValueError(f"output folder {out_dir} does not exist")
    image = imageio.read(args.image, 3)
    if args.max_side:
        image = imageio.to_uint8(imageio.resize(imageio.to_float(image), imageio.fit_within(image.shape, args.max_side)))
    started = time.perf_counter()

    def report(frame):
        if not args.quiet:
            print(f"\rstep {frame.step}/{frame.steps}  activation {frame.losses['activation']:.4f}",
                  end="", file=sys.stderr)

    outcome = Dreamer(net).dream(imageio.to_float(image), params, report)
    imageio.write(args.out, outcome.image)
    if not args.quiet:
        print(f"\rwrote {args.out}: {image.shape[1]}x{image.shape[0]}, {outcome.steps} steps, "
              f"activation {outcome.losses['activation']:.4f}, {time.perf_counter() - started:.1f} s", file=sys.stderr)


def main(argv=None):
    return run_command(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
