"""Neural style transfer (Gatys et al. 2016) on Regen's own feature networks
(`app.engine.features`), with Risser et al.'s (2017) histogram loss as an option.

Starting from the content image, Adam moves the pixels x (kept in [-1, 1]) to minimise

    L(x) = a * content + b * style + h * histogram + s * smoothness

1. content: mean squared difference between x's and the content image's features
   at one layer, divided by the content features' mean square (so 1 = "as far
   as the features are from zero").
2. style: for every layer, the squared difference of the Gram matrices of x and of
   the style image (channel co-activations, averaged over positions), divided by
   the style Gram's squared norm; the mean over layers.
3. histogram: for every layer and for the pixels themselves, the squared distance
   from x's values to those values remapped, channel by channel, onto the style
   image's distribution (`match_histogram`), divided by the style values' variance.
   Grams match second moments only; this holds colour and contrast to the style's.
4. smoothness: the mean absolute difference of neighbouring pixels (total variation),
   which keeps random filters' pixel noise down.

Images in and out: (H, W, C) float32 in [-1, 1] or uint8, C = 3 (RGB) or 1 (gray).

    python -m app.engine.style --content IN --style STYLE --out OUT \
        [--features random|d:MODEL --content-weight --style-weight --histogram W --steps --size --lr]
"""
import dataclasses
import os
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402

from app.engine import imageio  # noqa: E402
from app.engine.adam import adam_step  # noqa: E402
from app.engine.commands import ArgumentParser, run_command  # noqa: E402
from app.engine.driver import Frame, Outcome, Reporter, StepCost, drive  # noqa: E402
from app.engine.features import load_features  # noqa: E402

LOSS_TERMS = ("content", "style", "histogram", "smoothness", "total")


@dataclasses.dataclass(frozen=True)
class StyleParams:
    content_weight: float = 1.0
    style_weight: float = 10.0
    histogram_weight: float = 0.0    # 0 = off
    smoothness_weight: float = 1.0   # total variation: pixel-to-pixel noise; 0 = off
    steps: int = 150
    size: int = 128                  # longest side of the result in pixels
    lr: float = 0.02                 # Adam's step, in [-1, 1] pixel units
    content_layer: str | None = None  # default: the network's middle layer

    def check(self):
        for name in ("content_weight", "style_weight", "histogram_weight", "smoothness_weight"):
            value = getattr(self, name)
            if not 0 <= value <= 1e4:
                raise ValueError(f"{name.replace('_', ' ')} must be from 0 to 10000, got {value:g}")
        if not 1 <= self.steps <= 2000:
            raise ValueError(f"steps must be from 1 to 2000, got {self.steps}")
        if not 16 <= self.size <= 512:
            raise ValueError(f"size must be from 16 to 512 pixels, got {self.size}")
        if not 0 < self.lr <= 1:
            raise ValueError(f"lr must be > 0 and <= 1, got {self.lr:g}")
        return self


def gram(features):
    """(B, h, w, c) -> (B, c, c): channel co-activations averaged over positions."""
    f = tf.cast(features, tf.float32)
    positions = tf.cast(tf.shape(f)[1] * tf.shape(f)[2], tf.float32)
    return tf.einsum("bhwi,bhwj->bij", f, f) / positions


def match_histogram(values, reference):
    """Remap each channel of `values` onto the distribution of the same channel of
    `reference`, keeping the order of the values: the k-th smallest of N becomes
    the reference's quantile k / (N - 1), linearly interpolated.
    values: (N, c), reference: (M, c) float32 -> (N, c) float32."""
    values, reference = tf.cast(values, tf.float32), tf.cast(reference, tf.float32)
    n, m = tf.shape(values)[0], tf.shape(reference)[0]
    ranks = tf.argsort(tf.argsort(values, axis=0), axis=0)
    position = tf.cast(ranks, tf.float32) * tf.cast(m - 1, tf.float32) / tf.cast(tf.maximum(n - 1, 1), tf.float32)
    low = tf.cast(tf.floor(position), tf.int32)
    high = tf.minimum(low + 1, m - 1)
    frac = position - tf.cast(low, tf.float32)
    ref_sorted = tf.transpose(tf.sort(reference, axis=0))          # (c, M)
    low_v = tf.transpose(tf.gather(ref_sorted, tf.transpose(low), batch_dims=1))
    high_v = tf.transpose(tf.gather(ref_sorted, tf.transpose(high), batch_dims=1))
    return low_v + frac * (high_v - low_v)


def _flat(features):
    """(1, h, w, c) -> (h * w, c) float32."""
    f = tf.cast(features, tf.float32)
    return tf.reshape(f, (-1, tf.shape(f)[-1]))


class Stylist:
    """Style transfer with one FeatureNet. Build once and reuse."""

    def __init__(self, net):
        self.net = net
        self.cost = StepCost()       # seconds per step by image size: a guess until `calibrate`

    def content_layer(self, params):
        return self.net.check_layer(params.content_layer) if params.content_layer else \
            self.net.layers[len(self.net.layers) // 2]

    def _targets(self, content, style, content_layer):
        """Everything about the content and style images that the steps compare against."""
        c_feats = self.net(tf.constant(content[None]))
        s_feats = self.net(tf.constant(style[None]))
        c_target = tf.cast(c_feats[content_layer], tf.float32)
        return {
            "content": c_target,
            "content_scale": tf.reduce_mean(tf.square(c_target)) + 1e-8,
            "grams": {k: gram(v) for k, v in s_feats.items()},
            "values": {**{k: _flat(v) for k, v in s_feats.items()}, "pixels": _flat(style[None])},
        }

    def losses(self, x, targets, content_layer, weights):
        """x (1, H, W, C) float32 -> {content, style, histogram, smoothness, total} as scalars."""
        feats = self.net(x)
        content = tf.reduce_mean(tf.square(tf.cast(feats[content_layer], tf.float32) - targets["content"]))
        content = content / targets["content_scale"]
        style = tf.add_n([tf.reduce_sum(tf.square(gram(feats[k]) - g)) / (tf.reduce_sum(tf.square(g)) + 1e-8)
                          for k, g in targets["grams"].items()]) / len(targets["grams"])
        histogram = tf.constant(0.0)
        if weights[2] > 0:
            mine = {**{k: _flat(v) for k, v in feats.items()}, "pixels": _flat(x)}
            terms = []
            for k, ref in targets["values"].items():
                matched = tf.stop_gradient(match_histogram(mine[k], ref))
                terms.append(tf.reduce_mean(tf.square(mine[k] - matched)) /
                             (tf.reduce_mean(tf.math.reduce_variance(ref, axis=0)) + 1e-8))
            histogram = tf.add_n(terms) / len(terms)
        smoothness = tf.reduce_mean(tf.abs(x[:, 1:] - x[:, :-1])) + tf.reduce_mean(tf.abs(x[:, :, 1:] - x[:, :, :-1]))
        total = weights[0] * content + weights[1] * style + weights[2] * histogram + weights[3] * smoothness
        return {"content": content, "style": style, "histogram": histogram, "smoothness": smoothness, "total": total}

    def iterate(self, content, style, params, stop=None, report_every=0.1):
        """The transfer as a generator of Frames, returning an Outcome.
        content: (H, W, C) float32 in [-1, 1], scaled so its longest side is
        params.size; style: (h, w, C') float32 in [-1, 1] of any size, scaled to the
        same longest side. stop() -> True ends it early."""
        params.check()
        content_layer = self.content_layer(params)
        content = imageio.resize(content, imageio.fit_within(content.shape, params.size, grow=True))
        style = imageio.resize(style, imageio.fit_within(style.shape, max(content.shape[:2]), grow=True))
        style = style if style.shape[-1] == content.shape[-1] else \
            np.asarray(_match_channels(style, content.shape[-1]))
        targets = self._targets(content, style, content_layer)
        weights = (params.content_weight, params.style_weight, params.histogram_weight, params.smoothness_weight)
        x = tf.Variable(content[None])
        m, v = tf.Variable(tf.zeros_like(x)), tf.Variable(tf.zeros_like(x))

        @tf.function
        def step(t):
            with tf.GradientTape() as tape:
                losses = self.losses(x, targets, content_layer, weights)
            g = tape.gradient(losses["total"], x)
            new_x, new_m, new_v = adam_step(x, g, m, v, t, params.lr)
            x.assign(new_x)
            m.assign(new_m)
            v.assign(new_v)
            return losses

        reporter = Reporter(report_every)
        losses = {k: float(val) for k, val in self.losses(x, targets, content_layer, weights).items()}
        yield Frame(0, params.steps, losses, imageio.to_uint8(content))
        for i in range(1, params.steps + 1):
            if stop is not None and stop():
                return Outcome(imageio.to_uint8(x.numpy()[0]), losses, i - 1, True)
            losses = {k: float(val) for k, val in step(tf.constant(float(i))).items()}
            if reporter.due(i, params.steps):
                yield Frame(i, params.steps, losses, imageio.to_uint8(x.numpy()[0]))
        return Outcome(imageio.to_uint8(x.numpy()[0]), losses, params.steps)

    def transfer(self, content, style, params, on_progress=None):
        """Run a transfer to its end -> Outcome."""
        return drive(self.iterate(content, style, params), on_progress)

    def calibrate(self):
        """Time steps at 64x64 and 160x160 (after a first run) -> self.cost. Each transfer
        traces its own step function, so the fixed part carries a sixth of a trace."""
        timings = []
        for side in (64, 160):
            image = np.zeros((side, side, self.net.channels), np.float32)
            params = StyleParams(steps=6, size=side, histogram_weight=1.0)
            self.transfer(image, image, params)
            started = time.perf_counter()
            self.transfer(image, image, params)
            timings.append((side * side, (time.perf_counter() - started) / params.steps))
        self.cost = StepCost.fit(*timings)
        return self.cost

    def estimate_seconds(self, height, width, params):
        h, w = imageio.fit_within((height, width), params.size, grow=True)
        return self.cost.seconds(params.steps, h * w)


def _match_channels(image, channels):
    """(H, W, C) -> (H, W, channels): gray repeated, or RGB averaged."""
    if channels == 1:
        return image.mean(axis=-1, keepdims=True)
    return np.repeat(image, channels, axis=-1)


# -- command line -------------------------------------------------------------------


def parse_args(argv=None):
    d = StyleParams()
    p = ArgumentParser(prog="python -m app.engine.style",
                       description="Paint CONTENT in the style of STYLE with a Regen network's features.")
    p.add_argument("--content", required=True, help="content image (PNG, JPEG, WebP)")
    p.add_argument("--style", required=True, help="style image (PNG, JPEG, WebP)")
    p.add_argument("--out", required=True, help="where to write the result as PNG")
    p.add_argument("--features", default="random", help="random (multi-scale random filters) or d:MODEL "
                   "(the layers of that model's discriminator)")
    p.add_argument("--content-weight", type=float, default=d.content_weight)
    p.add_argument("--style-weight", type=float, default=d.style_weight)
    p.add_argument("--histogram", type=float, default=d.histogram_weight,
                   help="weight of the histogram loss (0 = off)")
    p.add_argument("--content-layer", default=None, help="default: the network's middle layer")
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--size", type=int, default=d.size, help="longest side of the result in pixels")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--gray", action="store_true", help="work in gray (one channel)")
    p.add_argument("--models-dir", default=os.environ.get("REGEN_MODELS", "models"))
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def run(args):
    params = StyleParams(content_weight=args.content_weight, style_weight=args.style_weight,
                         histogram_weight=args.histogram, steps=args.steps, size=args.size, lr=args.lr,
                         content_layer=args.content_layer).check()
    net = load_features(args.features, args.models_dir)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise ValueError(f"output folder {out_dir} does not exist")
    channels = 1 if args.gray else 3
    content = imageio.to_float(imageio.read(args.content, channels))
    style = imageio.to_float(imageio.read(args.style, channels))
    started = time.perf_counter()

    def report(frame):
        if not args.quiet:
            terms = "  ".join(f"{k} {frame.losses[k]:.4f}" for k in LOSS_TERMS)
            print(f"\rstep {frame.step}/{frame.steps}  {terms}", end="", file=sys.stderr)

    outcome = Stylist(net).transfer(content, style, params, report)
    imageio.write(args.out, outcome.image)
    if not args.quiet:
        print(f"\rwrote {args.out}: {outcome.image.shape[1]}x{outcome.image.shape[0]}, {outcome.steps} steps, "
              f"total {outcome.losses['total']:.4f}, {time.perf_counter() - started:.1f} s", file=sys.stderr)


def main(argv=None):
    return run_command(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
