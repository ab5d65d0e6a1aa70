"""Complete one image from the command line.

    python -m app.engine.cli --model NAME --image IN.png --mask MASK.png --out OUT.png \
        [--steps N] [--restarts K] [--seed S]

In the mask, white = hole. The image must have the model's size (28x28 for the
digit models, 64x64 for faces) and the mask the image's. A bad argument or file
prints one line and exits with code 2.
"""
import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from app.engine import imageio  # noqa: E402
from app.engine.commands import ArgumentParser, run_command  # noqa: E402
from app.engine.completion import Completer  # noqa: E402
from app.engine.imageio import to_float  # noqa: E402
from app.engine.params import CompletionParams  # noqa: E402
from app.engine.masks import mask_from_hole_image  # noqa: E402
from app.engine.model import load_model  # noqa: E402

DEFAULTS = CompletionParams()


def parse_args(argv=None):
    p = ArgumentParser(prog="python -m app.engine.cli",
                       description="Fill the white part of MASK in IMAGE with a GAN.")
    p.add_argument("--model", required=True, help="model folder name, e.g. faces or mnist")
    p.add_argument("--image", required=True, help="input image (PNG, JPEG, WebP)")
    p.add_argument("--mask", required=True, help="mask image, white = hole")
    p.add_argument("--out", required=True, help="where to write the completed PNG")
    p.add_argument("--steps", type=int, default=DEFAULTS.steps)
    p.add_argument("--restarts", type=int, default=DEFAULTS.restarts)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--lambda", dest="lam", type=float, default=DEFAULTS.lam,
                   help="weight of the perceptual term")
    p.add_argument("--lr", type=float, default=DEFAULTS.lr)
    p.add_argument("--no-blend", action="store_true", help="skip Poisson blending")
    p.add_argument("--min-candidates", type=int, default=DEFAULTS.min_candidates,
                   help="successive halving: drop the worse half of the candidates down to this many "
                   "(0 = off)")
    p.add_argument("--early-stop", action=argparse.BooleanOptionalAction, default=DEFAULTS.early_stop,
                   help="stop once the best loss stops improving")
    p.add_argument("--encoder-share", type=float, default=DEFAULTS.encoder_share,
                   help="share of candidates started from the encoder's guess (0 = all random)")
    p.add_argument("--anchor", type=float, default=DEFAULTS.anchor,
                   help="weight of the pull toward the encoder's guess (0 = none)")
    p.add_argument("--refine-steps", type=int, default=DEFAULTS.refine_steps,
                   help="the second stage's steps on G's first feature map (0 = off; "
                   "default: the model's own, from its manifest)")
    p.add_argument("--models-dir", default=os.environ.get("REGEN_MODELS", "models"))
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def run(args):
    model = load_model(args.models_dir, args.model)
    channels = model.image_shape[-1]
    image = imageio.read(args.image, channels)
    mask = mask_from_hole_image(imageio.read(args.mask, 1)[..., 0])
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
                         f"{image.shape[1]}x{image.shape[0]}")
    params = CompletionParams(steps=args.steps, restarts=args.restarts, seed=args.seed,
                              lam=args.lam, lr=args.lr, blend=not args.no_blend,
                              min_candidates=args.min_candidates or None, early_stop=args.early_stop,
                              encoder_share=args.encoder_share, anchor=args.anchor,
                              refine_steps=args.refine_steps).check()
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise ValueError(f"output folder {out_dir} does not exist")
    started = time.perf_counter()

    def report(p):
        if not args.quiet:
            print(f"\rstep {p.step}/{p.steps}  loss {p.total[p.best]:.4f}", end="", file=sys.stderr)

    result = Completer(model).complete(to_float(image), mask, params, on_progress=report)
    imageio.write(args.out, result.image)
    if not args.quiet:
        stopped = " (stopped early)" if result.early_stopped else ""
        print(f"\rwrote {args.out}: {result.steps} steps{stopped}, {params.restarts} restarts, "
              f"loss {result.losses['total']:.4f}, {time.perf_counter() - started:.1f} s", file=sys.stderr)


def main(argv=None):
    return run_command(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
