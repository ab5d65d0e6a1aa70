"""Engine speed against the machine's limit.

    python -m bench.inpaint_speed --model NAME [--batch 1,16,64] [--json OUT] [--repeats 3]

Reports, side by side in one run:
- sample-iterations per second of the engine's fused loop (many Adam steps in one
  tf.function) and of a naive loop on the same graphs (one call per step, the
  Adam update in NumPy, as the project's origin did it), medians of `repeats`;
- the machine's float32 matmul GFLOP/s;
- FLOPs per sample-iteration counted from the graphs (G and D forward plus the
  backward pass to z);
- utilization = achieved / (GFLOP/s / FLOPs per sample-iteration);
- the time from starting a (warm) completion to its first progress report.
"""
import argparse
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from app.engine import manifest as model_format  # noqa: E402
from app.engine.completion import Completer  # noqa: E402
from app.engine.params import CompletionParams  # noqa: E402
from app.engine.masks import preset_mask  # noqa: E402
from app.engine.model import load_model  # noqa: E402
from bench.output import command_line, model_stamp, write_json  # noqa: E402


def matmul_gflops(n=2048, repeats=10):
    a = tf.random.uniform([n, n])
    b = tf.random.uniform([n, n])
    tf.matmul(a, b).numpy()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        tf.matmul(a, b).numpy()
        times.append(time.perf_counter() - t)
    return 2 * n ** 3 / np.median(times) / 1e9


def gradient_graph(model, batch=1):
    """A TF1 graph of the search's work for `batch` candidates: G and D forward and
    the gradient of a contextual-plus-perceptual loss back to z.

    Returns (graph, z placeholder (batch, latent), gradient tensor (batch, latent))."""
    graphs = model.manifest.graphs

    def graph_def(entry):
        return model_format.read_graph_def(os.path.join(model.folder, entry["file"]))

    g = tf.Graph()
    with g.as_default():
        z = tf.compat.v1.placeholder(tf.float32, [batch, model.latent_dim])
        gen, dis = graphs["generator"], graphs["discriminator"]
        (img,) = tf.compat.v1.import_graph_def(graph_def(gen), input_map={gen["input"]: z},
                                               return_elements=[gen["output"]], name="G")
        (logit,) = tf.compat.v1.import_graph_def(graph_def(dis), input_map={dis["input"]: img},
                                                 return_elements=[dis["outputs"]["logit"]], name="D")
        loss = tf.reduce_sum(tf.abs(img)) - tf.reduce_sum(tf.nn.softplus(logit))
        (grad,) = tf.gradients(loss, z)
    return g, z, grad


def flops_per_sample_iteration(model):
    """Float ops of one candidate's loss and gradient to z, counted by TF's profiler."""
    from tensorflow.python.profiler import model_analyzer, option_builder
    g, _, _ = gradient_graph(model, 1)
    opts = option_builder.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    return model_analyzer.profile(g, options=opts).total_float_ops


class Case:
    """One completion case (image, mask, starting z), shared by both loops."""

    def __init__(self, completer, batch, seed=0):
        h, w, c = completer.model.image_shape
        self.batch = batch
        self.mask = preset_mask("center", h)
        rng = np.random.default_rng(seed)
        self.image = rng.uniform(-1, 1, (h, w, c)).astype(np.float32)
        self.z = completer.initial_latents(batch, seed)[0]


def fused_rate(completer, case, steps):
    """Sample-iterations per second of one fused chunk of `steps` steps (the engine's own
    `Completer.step`), with no encoder prior: the paper's loss."""
    task = completer.problem(case.image, case.mask, CompletionParams(lam=0.003, lr=0.03))
    start = completer.start_state(case.z)
    completer.step(start, 1, task)   # warm
    t = time.perf_counter()
    state = completer.step(start, steps, task).state
    state.z.numpy()
    return case.batch * steps / (time.perf_counter() - t)


def naive_rate(completer, case, steps, lam=0.003, lr=0.03):
    """The origin's way: one graph call per step for loss and gradient, Adam in NumPy."""
    task = completer.problem(case.image, case.mask, CompletionParams(lam=lam, lr=lr))

    @tf.function
    def loss_and_grad(z):
        with tf.GradientTape() as tape:
            tape.watch(z)
            total = tf.reduce_sum(completer.losses(z, task)[0].total)
        return total, tape.gradient(total, z)

    z = case.z.copy()
    m, v = np.zeros_like(z), np.zeros_like(z)
    loss_and_grad(tf.constant(z))   # trace
    t = time.perf_counter()
    for i in range(1, steps + 1):
        _, g = loss_and_grad(tf.constant(z))
        g = g.numpy()
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        z = np.clip(z - lr * (m / (1 - 0.9 ** i)) / (np.sqrt(v / (1 - 0.999 ** i)) + 1e-8), -1, 1)
    return case.batch * steps / (time.perf_counter() - t)


def first_progress_seconds(completer, repeats=5):
    h = completer.model.image_shape[0]
    image = np.zeros(completer.model.image_shape, np.float32)
    times = []
    for i in range(repeats):
        t = time.perf_counter()
        gen = completer.iterate(image, preset_mask("center", h), CompletionParams(seed=i))
        next(gen)
        times.append(time.perf_counter() - t)
        gen.close()
    return float(np.median(times))


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {"cores": os.cpu_count(), "cpu": cpu, "gpu": gpus or "none", "tensorflow": tf.__version__}


def run(model_name, batches, repeats=3, steps_budget=1200, models_dir="models", log=print):
    model = load_model(models_dir, model_name)
    completer = Completer(model)
    completer.warm_up()
    gflops = matmul_gflops()
    flops = flops_per_sample_iteration(model)
    limit = gflops * 1e9 / flops
    log(f"matmul {gflops:.0f} GFLOP/s; {flops / 1e9:.3f} GFLOP per sample-iteration; limit {limit:.0f} sample-it/s")
    rows = []
    for b in batches:
        case = Case(completer, b)
        steps = max(10, steps_budget // b)
        fused = [fused_rate(completer, case, steps) for _ in range(repeats)]
        naive = [naive_rate(completer, case, steps) for _ in range(repeats)]
        row = {"batch": b, "steps": steps, "fused": float(np.median(fused)), "naive": float(np.median(naive))}
        row["speedup"] = row["fused"] / row["naive"]
        row["utilization"] = row["fused"] / limit
        rows.append(row)
        log(f"B={b:3d}: fused {row['fused']:.1f}, naive {row['naive']:.1f} sample-it/s "
            f"({row['speedup']:.2f}x), utilization {row['utilization']:.0%}")
    first = first_progress_seconds(completer)
    log(f"first progress after {first * 1000:.0f} ms")
    return {"model": model_name, "machine": machine(), "matmul_gflops": gflops,
            "gflop_per_sample_iteration": flops / 1e9, "limit_sample_it_per_s": limit,
            "rows": rows, "first_progress_s": first}


def markdown_table(report):
    lines = ["| batch | fused sample-it/s | naive sample-it/s | fused / naive | utilization |",
             "| --- | --- | --- | --- | --- |"]
    for r in report["rows"]:
        lines.append(f"| {r['batch']} | {r['fused']:.1f} | {r['naive']:.1f} | {r['speedup']:.2f}× | "
                     f"{r['utilization']:.0%} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.inpaint_speed", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--batch", default="1,16,64")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps-budget", type=int, default=1200, help="sample-iterations per timed run")
    p.add_argument("--json")
    p.add_argument("--models-dir", default="models")
    args = p.parse_args(argv)
    command = command_line("bench.inpaint_speed", argv)
    try:
        batches = [int(b) for b in args.batch.split(",")]
        report = run(args.model, batches, args.repeats, args.steps_budget, args.models_dir)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(markdown_table(report))
    write_json(args.json, {**report, "model_stamp": model_stamp(args.models_dir, args.model)}, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
