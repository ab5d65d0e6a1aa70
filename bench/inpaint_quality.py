"""Completion quality: Regen against the paper's settings and classical inpainting.

    python -m bench.inpaint_quality --model NAME --data FILE.npz \
        [--masks center,half,bottom,random80,eyes,mouth] [--methods regen,yeh,telea,ns] \
        [--limit N] [--seed S] [--json OUT.json] [--save OUT.npz] \
        [--time-to-quality] [--sweep KEY=V1,V2,... ...] [--class any|true|other]

Every method sees the same images and masks. Per (method, mask) it reports PSNR
over the whole image and over the hole, SSIM, L1 in the hole, seconds per image,
and with labels (MNIST) the share of completions the digit judge reads as the
true label. Use validation data only: faces64_val.npz or MNIST's test split.

Methods: `regen` is the engine's defaults, which are the fast path (encoder start,
successive halving, early stopping); `regen-fast` names the same settings for the
comparison with `yeh`, the paper's settings; `telea` and `ns` are OpenCV.

`--time-to-quality` also records, per method and mask, the hole PSNR of what the
user sees against wall seconds (every progress report of the GAN methods, the
result of the others) and writes the mean curves to the JSON;
`python -m bench.curves` draws them (bench/time_to_quality.png).

`--sweep anchor=0,100,300` tunes the defaults: it adds one method per value,
named `regen[anchor=100]`, that is the engine's defaults with that setting
changed. Several `--sweep` flags give every combination.
"""
import argparse
import dataclasses
import itertools
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from app.engine import baselines  # noqa: E402
from app.engine.completion import Completer  # noqa: E402
from app.engine.imageio import to_float  # noqa: E402
from app.engine.params import PLAIN_SEARCH, CompletionParams  # noqa: E402
from app.engine.model import load_model  # noqa: E402
from bench import curves  # noqa: E402
from bench.data import DEFAULT_MASKS, load_images, make_mask  # noqa: E402
from bench.metrics import psnr, scores  # noqa: E402
from bench.output import command_line, model_stamp, write_json  # noqa: E402

# The paper's settings as re-implementations report them: the reference.
YEH = dict(steps=1500, restarts=16, lam=0.003, lr=0.01, window=7, blend=False, **PLAIN_SEARCH)


def gan_method(**settings):
    """run(completer, image uint8, mask, seed, observe) -> completed uint8 image;
    observe(image) is called with what the user sees at every report and at the end."""
    def run(completer, image, mask, seed, observe=None, target=None):
        params = CompletionParams(seed=seed, target_class=target, **settings)
        report = (lambda progress: observe(progress.image)) if observe else None
        result = completer.complete(to_float(image), mask, params, on_progress=report)
        if observe:
            observe(result.image)
        return result.image
    return run


def classical(method):
    def run(completer, image, mask, seed, observe=None, target=None):
        out = baselines.inpaint(image, mask, method)
        if observe:
            observe(out)
        return out
    return run


METHODS = {
    "regen": gan_method(),           # the engine's defaults
    "regen-fast": gan_method(),      # the same: the defaults are the fast path
    "yeh": gan_method(**YEH),
    "telea": classical("telea"),
    "ns": classical("ns"),
}


def sweep_methods(specs):
    """{"regen[k=v,...]": run} for every combination of `KEY=V1,V2,...` specs,
    each value parsed as the type of that `CompletionParams` field."""
    fields = {f.name: f for f in dataclasses.fields(CompletionParams)}
    axes = []
    for spec in specs:
        key, _, values = spec.partition("=")
        if key not in fields or not values:
            raise ValueError(f"--sweep wants KEY=V1,V2,... with KEY one of {', '.join(fields)}; got {spec!r}")
        default = fields[key].default
        kind = type(default) if default is not None else int
        parse = (lambda v: v.lower() in ("1", "true", "yes")) if kind is bool else kind
        axes.append([(key, parse(v)) for v in values.split(",")])
    return {"regen[" + ",".join(f"{k}={v}" for k, v in combo) + "]": gan_method(**dict(combo))
            for combo in itertools.product(*axes)}


def judge_accuracy(completions, labels):
    from training.judge import judge_digits, load_judge
    predicted, _ = judge_digits(load_judge(), completions)
    return float(np.mean(predicted == labels))


def requested_classes(request, labels, seed):
    """The class each completion is asked for: None (any), the true labels, or for
    `other` a different digit per image, drawn from `seed`."""
    if request == "any":
        return None
    if labels is None:
        raise ValueError("--class true|other needs labelled data (MNIST)")
    if request == "true":
        return labels.astype(int)
    shift = np.random.default_rng(seed).integers(1, 10, len(labels))
    return (labels.astype(int) + shift) % 10


def run_benchmark(model_name, data_path, masks, methods, limit=None, seed=0, models_dir="models", log=print,
                  time_to_quality=False, extra_methods=None, request="any"):
    """`methods` are names in METHODS or in `extra_methods` ({name: run}). `request`:
    the class a conditioned model is asked to complete as: any, true or other
    (see `requested_classes`); then "requested_accuracy" is the share of completions
    the digit judge reads as the requested class.

    Returns (results {method: {mask: metrics}}, completions {method/mask: array}, masks {mask: array}).

    With time_to_quality, each metrics dict also holds "curve" (see `bench.curves`)."""
    model = load_model(models_dir, model_name)
    completer = Completer(model)
    completer.warm_up()
    images, labels = load_images(data_path, limit)
    h, w, c = model.image_shape
    if images.shape[1:] != (h, w, c):
        raise ValueError(f"images are {images.shape[1:]} but model {model_name} takes {(h, w, c)}")
    runners = {**METHODS, **(extra_methods or {})}
    targets = requested_classes(request, labels, seed)
    results, completions, mask_arrays = {}, {}, {}
    for mask_name in masks:
        per_image = [make_mask(mask_name, h, seed + i) for i in range(len(images))]
        mask_arrays[mask_name] = np.stack(per_image)
        for method in methods:
            outs, rows, seconds, traces = [], [], [], []
            for i, image in enumerate(images):
                trace, hole = [], per_image[i] < 0.5
                started = time.perf_counter()

                def observe(shown):
                    trace.append((time.perf_counter() - started, psnr(image, shown, hole)))

                out = runners[method](completer, image, per_image[i], seed + i,
                                      observe if time_to_quality else None,
                                      None if targets is None else int(targets[i]))
                seconds.append(time.perf_counter() - started)
                outs.append(out)
                rows.append(scores(image, out, per_image[i]))
                if trace:
                    # the final image is the blended one, scored when the method returned
                    trace[-1] = (seconds[-1], rows[-1]["psnr_hole"])
                    traces.append(trace)
            outs = np.stack(outs)
            metrics = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
            metrics["seconds"] = float(np.median(seconds))
            if labels is not None and (h, w, c) == (28, 28, 1):
                metrics["judge_accuracy"] = judge_accuracy(outs, labels)
                if targets is not None:
                    metrics["requested_accuracy"] = judge_accuracy(outs, targets)
            results.setdefault(method, {})[mask_name] = metrics
            completions[f"{method}/{mask_name}"] = outs
            log(f"{mask_name:9s} {method:16s} " + "  ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
            if traces and len(traces[0]) > 1:
                metrics["curve"] = curves.mean_curve(traces)
    return results, completions, mask_arrays


def markdown_table(results):
    keys = ["psnr", "psnr_hole", "ssim", "l1_hole", "seconds", "judge_accuracy", "requested_accuracy"]
    present = [k for k in keys if any(k in m for r in results.values() for m in r.values())]
    lines = ["| mask | method | " + " | ".join(present) + " |", "|" + " --- |" * (len(present) + 2)]
    masks = list(next(iter(results.values())))
    for mask in masks:
        for method, per_mask in results.items():
            m = per_mask[mask]
            lines.append(f"| {mask} | {method} | " + " | ".join(f"{m[k]:.3f}" if k in m else "" for k in present) + " |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.inpaint_quality", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="npz with images (N, H, W, C) uint8, or MNIST x_test/y_test")
    p.add_argument("--masks", default=",".join(DEFAULT_MASKS))
    p.add_argument("--methods", default="regen,yeh,telea,ns")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write all metrics here")
    p.add_argument("--save", help="write completions, per method and mask, with the masks, to this npz")
    p.add_argument("--time-to-quality", action="store_true",
                   help="also record hole PSNR against wall seconds, per progress report")
    p.add_argument("--sweep", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="add the defaults with KEY set to each value as methods regen[KEY=V]")
    p.add_argument("--class", dest="request", choices=("any", "true", "other"), default="any",
                   help="a class-conditional model completes as: any class (it searches them), the true "
                   "label, or another digit than the true one")
    p.add_argument("--models-dir", default="models")
    args = p.parse_args(argv)
    command = command_line("bench.inpaint_quality", argv)
    methods = [m for m in args.methods.split(",") if m]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        p.error(f"unknown method {unknown[0]!r}: use {', '.join(METHODS)}")
    try:
        swept = sweep_methods(args.sweep) if args.sweep else {}
    except ValueError as exc:
        p.error(str(exc))
    try:
        stamp = model_stamp(args.models_dir, args.model)   # before the run: the model it loads
        results, completions, masks = run_benchmark(args.model, args.data, args.masks.split(","),
                                                    methods + list(swept), args.limit, args.seed,
                                                    args.models_dir, time_to_quality=args.time_to_quality,
                                                    extra_methods=swept, request=args.request)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(markdown_table(results))
    write_json(args.json, {"model": args.model, "model_stamp": stamp,
                           "data": os.path.basename(args.data), "limit": args.limit, "seed": args.seed, "class": args.request, "results": results}, command)
    if args.save:
        np.savez_compressed(args.save, **{f"completions/{k}": v for k, v in completions.items()},
                            **{f"masks/{k}": v for k, v in masks.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
