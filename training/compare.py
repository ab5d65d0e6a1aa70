"""The origin's experiment: each GAN trained with a classical (conv) and a capsule D.

    python -m training.compare --dataset mnist --steps N --seeds S \
        --data-share 0.1,1.0 --out runs/compare [--archs dcgan,wgan-gp,acgan,infogan]

Trains every (data share, seed, arch, D) combination with the same G, steps,
batch, seed and precision, each as its own `training.train` run under
OUT/runs/ARCH-D-shareX-seedS, recording metrics.csv every `--metrics-every`
steps (losses, D accuracy, the judge's confident share, class histogram and
Fréchet distance: `training.digit_metrics`). Runs are done one at a time, seeds
outermost, so an interrupted comparison already covers every combination for
the seeds it finished; run the same command again and it resumes: finished runs
are kept, a run cut short carries on from its last checkpoint.

When the runs are done (or with `--report-only`, from whatever has run) it writes
OUT/report.md: one plot per metric (plots/METRIC.png; per data share and GAN,
classical and capsule side by side, the mean over seeds with their range), a
summary table (OUT/summary.json holds the same numbers) and each run's last
sample grid and progress.gif.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

from training import checkpoint, reporting
from training.cli import command

ARCHS = ("dcgan", "wgan-gp", "acgan", "infogan")
D_KINDS = ("conv", "capsule")
D_LABELS = {"conv": "classical D", "capsule": "capsule D"}
# metric -> (title, y label); plotted in this order
PLOTS = {"judge_fd": ("Fréchet distance to the test digits (judge features)", "FD (lower is better)"),
         "judge_confident": ("Samples the judge reads with confidence > 0.9", "share"),
         "class_spread": ("Spread of the judge's digit histogram (1 = all ten equally often)", "normalised entropy"),
         "d_loss": ("D loss", "loss"),
         "g_loss": ("G loss", "loss"),
         "d_acc": ("D accuracy", "accuracy")}
CONFIDENT_TARGET = 0.6     # "converged": the first row where this share of samples reads as a confident digit
                           # (0.6: what most runs reach within the study's 500 steps; 0.8 is reached by almost none)


def run_name(arch, d, share, seed):
    return f"{arch}-{d}-share{share:g}-seed{seed}"


def plan(args):
    """Every run as (name, arch, d, share, seed), seeds outermost."""
    return [(run_name(arch, d, share, seed), arch, d, share, seed)
            for seed in range(args.seeds) for share in args.data_share for arch in args.archs for d in args.d]


def done_steps(run_dir):
    """The step of a run's last checkpoint, 0 if it has none."""
    try:
        return checkpoint.read_state_json(run_dir)["step"]
    except (FileNotFoundError, KeyError):
        return 0


def train_command(args, run_dir, arch, d, share, seed, resume):
    cmd = [sys.executable, "-m", "training.train", "--dataset", args.dataset, "--arch", arch,
           *([] if resume else ["--d", d]),          # a resumed run keeps the D it was built with
           "--steps", str(args.steps), "--out", run_dir, "--batch", str(args.batch), "--seed", str(seed),
           "--precision", args.precision, "--data-share", f"{share:g}", "--metrics-every", str(args.metrics_every),
           "--sample-every", str(args.metrics_every), "--ckpt-every", str(args.metrics_every), "--quiet"]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    return cmd + (["--resume"] if resume else [])


def run_all(args):
    """Train whatever is not finished; a run that fails stops the comparison."""
    runs = plan(args)
    for i, (name, arch, d, share, seed) in enumerate(runs, 1):
        run_dir = os.path.join(args.out, "runs", name)
        step = done_steps(run_dir)
        if step >= args.steps:
            continue
        print(f"[{i}/{len(runs)}] {name}: " + (f"resuming at step {step}" if step else "training"), flush=True)
        log = open(os.path.join(args.out, "runs", f"{name}.log"), "a")
        with log:
            result = subprocess.run(train_command(args, run_dir, arch, d, share, seed, resume=step > 0),
                                    stdout=log, stderr=subprocess.STDOUT)
        if result.returncode:
            raise RuntimeError(f"{name} failed (exit {result.returncode}); see {log.name}")


# ---------------------------------------------------------------- report

def load_metrics(run_dir):
    """metrics.csv as {column: array}, plus class_spread; None if the run has no rows."""
    path = os.path.join(run_dir, "metrics.csv")
    if not os.path.exists(path):
        return None
    m = reporting.read_log(path)
    if not len(m["step"]):
        return None
    hist = np.stack([m[f"hist_{k}"] for k in range(10)], 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.nansum(np.where(hist > 0, hist * np.log(hist), 0.0), 1)
    m["class_spread"] = entropy / np.log(10)
    return m


def d_parameters(run_dir):
    """The number of weights of a run's D, from its checkpointed config."""
    from training.gans import trainer_for
    cfg = checkpoint.read_state(run_dir).config
    return int(trainer_for(cfg.arch).build_discriminator(cfg).count_params())


def seconds_per_step(m):
    """Training seconds per step between the first and the last metric row (the
    first row's steps include tracing), or over the whole run if it has one row."""
    if len(m["step"]) > 1:
        return float((m["train_seconds"][-1] - m["train_seconds"][0]) / (m["step"][-1] - m["step"][0]))
    return float(m["train_seconds"][-1] / m["step"][-1])


def first_step(m, column, target):
    hit = np.flatnonzero(m[column] >= target)
    return int(m["step"][hit[0]]) if len(hit) else None


def summarise(out, runs):
    """Per (share, arch, d): the seeds' final values, spread and speed."""
    groups = {}
    for name, arch, d, share, seed in runs:
        m = load_metrics(os.path.join(out, "runs", name))
        if m is None:
            continue
        g = groups.setdefault((share, arch, d), {"seeds": [], "runs": [], "metrics": []})
        g["seeds"].append(seed)
        g["runs"].append(name)
        g["metrics"].append(m)
    rows = []
    order = lambda key: (-key[0], ARCHS.index(key[1]), D_KINDS.index(key[2]))  # noqa: E731
    for (share, arch, d), g in sorted(groups.items(), key=lambda kv: order(kv[0])):
        ms = g["metrics"]
        last = lambda col: [float(m[col][-1]) for m in ms]  # noqa: E731
        sec_per_step = [seconds_per_step(m) for m in ms]
        to_target = [first_step(m, "judge_confident", CONFIDENT_TARGET) for m in ms]
        rows.append({
            "share": share, "arch": arch, "d": d, "seeds": g["seeds"], "runs": g["runs"],
            "steps": [int(m["step"][-1]) for m in ms],
            "fd": last("judge_fd"), "best_fd": [float(m["judge_fd"].min()) for m in ms],
            "confident": last("judge_confident"), "class_spread": last("class_spread"),
            "d_acc": last("d_acc"), "steps_to_confident": to_target,
            "seconds_per_step": sec_per_step, "d_params": d_parameters(os.path.join(out, "runs", g["runs"][0])),
        })
    return rows


def plot_metric(out, runs, metric, title, ylabel, shares, archs):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(shares), len(archs), figsize=(3.6 * len(archs), 2.8 * len(shares)),
                             squeeze=False, sharex=True)
    for r, share in enumerate(shares):
        for c, arch in enumerate(archs):
            ax = axes[r][c]
            for k, d in enumerate(D_KINDS):
                curves = [load_metrics(os.path.join(out, "runs", name)) for name, a, dd, s, _ in runs
                          if a == arch and dd == d and s == share]
                curves = [m for m in curves if m is not None]
                if not curves:
                    continue
                n = min(len(m["step"]) for m in curves)
                steps = curves[0]["step"][:n]
                ys = np.stack([m[metric][:n] for m in curves])
                ax.plot(steps, ys.mean(0), color=f"C{k}", label=f"{D_LABELS[d]} ({len(curves)} seeds)")
                if len(curves) > 1:
                    ax.fill_between(steps, ys.min(0), ys.max(0), color=f"C{k}", alpha=0.2)
            ax.set_title(f"{arch}, {share:.0%} of the data", fontsize=9)
            if metric == "judge_fd":
                ax.set_yscale("log")
            if c == 0:
                ax.set_ylabel(ylabel, fontsize=8)
            if r == len(shares) - 1:
                ax.set_xlabel("step", fontsize=8)
            ax.tick_params(labelsize=7)
            if ax.lines:
                ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path = os.path.join(out, "plots", f"{metric}.png")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _spread(values, fmt):
    v = [x for x in values if x is not None]
    if not v:
        return "–"
    if len(v) == 1:
        return fmt.format(v[0])
    return f"{fmt.format(float(np.median(v)))} ({fmt.format(min(v))}–{fmt.format(max(v))})"


def write_report(args, floor=None):
    runs = plan(args)
    os.makedirs(os.path.join(args.out, "plots"), exist_ok=True)
    rows = summarise(args.out, runs)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump({"settings": settings(args), "floor_fd": floor, "rows": rows}, f, indent=2)
    lines = ["# Classical against capsule discriminators", "",
             f"`python -m training.compare {' '.join(command_line(args))}`", "",
             "Settings: " + ", ".join(f"{k} {v}" for k, v in settings(args).items()) + ".", ""]
    if floor is not None:
        lines += [f"Floor: 1,000 real training digits are at FD {floor:.2f} from the test digits.", ""]
    lines += ["Each cell: the median over seeds (their range). FD: Fréchet distance in the judge's features "
              "(lower is better); confident: share of 1,000 samples the judge reads with confidence > 0.9; "
              f"to {CONFIDENT_TARGET:.0%}: the first step where that share reached {CONFIDENT_TARGET:.0%}.", "",
              "| data | GAN | D | D params | s/step | final FD | best FD | confident | class spread | "
              f"steps to {CONFIDENT_TARGET:.0%} | D acc |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['share']:.0%} | {r['arch']} | {r['d']} | {r['d_params']:,} | "
                     f"{_spread(r['seconds_per_step'], '{:.3f}')} | {_spread(r['fd'], '{:.2f}')} | "
                     f"{_spread(r['best_fd'], '{:.2f}')} | {_spread(r['confident'], '{:.2f}')} | "
                     f"{_spread(r['class_spread'], '{:.2f}')} | {_spread(r['steps_to_confident'], '{:.0f}')} | "
                     f"{_spread(r['d_acc'], '{:.2f}')} |")
    lines += ["", "## Metrics", ""]
    for metric, (title, ylabel) in PLOTS.items():
        plot_metric(args.out, runs, metric, title, ylabel, args.data_share, args.archs)
        lines += [f"### {title}", "", f"![{metric}](plots/{metric}.png)", ""]
    lines += ["## Samples (last grid of each run; progress.gif animates the run)", "",
              "| run | last grid | animation |", "|---|---|---|"]
    for name, *_ in runs:
        run_dir = os.path.join("runs", name)
        grids = sorted(os.listdir(os.path.join(args.out, run_dir, "samples"))) \
            if os.path.isdir(os.path.join(args.out, run_dir, "samples")) else []
        if grids:
            gif = os.path.exists(os.path.join(args.out, run_dir, "progress.gif"))
            lines.append(f"| {name} | ![{name}]({run_dir}/samples/{grids[-1]}) | "
                         + (f"[progress.gif]({run_dir}/progress.gif) |" if gif else "in the run folder |"))
    path = os.path.join(args.out, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path, rows


def archive(args, dest):
    """Copy what the report needs of every finished run (metrics, logs, checkpoint/state.json
    without weights, last grid) from args.out to dest, a folder small enough to commit.
    Copied back into a comparison's folder on another machine, those runs count as done."""
    import shutil
    kept = 0
    for name, *_ in plan(args):
        src, dst = os.path.join(args.out, "runs", name), os.path.join(dest, "runs", name)
        if done_steps(src) < args.steps:
            continue
        os.makedirs(os.path.join(dst, "checkpoint"), exist_ok=True)
        os.makedirs(os.path.join(dst, "samples"), exist_ok=True)
        for f in ("metrics.csv", "log.csv", os.path.join("checkpoint", "state.json")):
            shutil.copy2(os.path.join(src, f), os.path.join(dst, f))
        last = sorted(os.listdir(os.path.join(src, "samples")))[-1]
        shutil.copy2(os.path.join(src, "samples", last), os.path.join(dst, "samples", last))
        kept += 1
    return kept


def settings(args):
    return {"dataset": args.dataset, "steps": args.steps, "seeds": args.seeds, "batch": args.batch,
            "precision": args.precision, "metrics every": args.metrics_every,
            "data shares": ",".join(f"{s:g}" for s in args.data_share), "GANs": ",".join(args.archs),
            "D kinds": ",".join(args.d)}


def command_line(args):
    return ["--dataset", args.dataset, "--steps", str(args.steps), "--seeds", str(args.seeds),
            "--data-share", ",".join(f"{s:g}" for s in args.data_share), "--out", args.out,
            "--archs", ",".join(args.archs), "--metrics-every", str(args.metrics_every),
            "--batch", str(args.batch), "--precision", args.precision]


def floor_fd(data_dir, n=1000, seed=0):
    """The FD of n real training digits to the test digits: what a perfect G would score."""
    from training import data, digit_metrics
    train = data.load_mnist(data_dir).images
    pick = np.random.default_rng(seed).choice(len(train), n, replace=False)
    return digit_metrics.DigitMetrics(data_dir)(data.to_unit_range(train[pick]).numpy())["judge_fd"]


def _names(allowed):
    def parse(text):
        names = tuple(v for v in text.split(",") if v)
        bad = [v for v in names if v not in allowed]
        if bad or not names:
            raise argparse.ArgumentTypeError(f"expected some of {', '.join(allowed)}, got {text!r}")
        return names
    return parse


def _shares(text):
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected shares like 0.1,1.0, got {text!r}") from None
    if not values or not all(0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"shares must be in (0, 1], got {text!r}")
    return values


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m training.compare", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="mnist", choices=("mnist",), help="the judge's metrics need MNIST")
    p.add_argument("--steps", type=int, required=True, help="training steps of every run")
    p.add_argument("--seeds", type=int, default=2, help="seeds 0..S-1 for every combination")
    p.add_argument("--data-share", type=_shares, default=(1.0, 0.1), help="shares of the training digits, e.g. 1.0,0.1")
    p.add_argument("--out", required=True, help="folder of the comparison, e.g. runs/compare")
    p.add_argument("--archs", type=_names(ARCHS), default=ARCHS)
    p.add_argument("--d", type=_names(D_KINDS), default=D_KINDS, help="the D kinds compared")
    p.add_argument("--metrics-every", type=int, default=250, metavar="K", help="steps between metric rows")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--precision", choices=("float32", "bfloat16"), default="bfloat16")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--report-only", action="store_true", help="write the report from the runs so far")
    p.add_argument("--archive", metavar="DEST",
                   help="copy the finished runs' metrics, logs and last grids (no weights) to DEST and write "
                        "the report there; copy DEST back to --out on another machine to resume")
    args = p.parse_args(argv)
    if args.steps < 1 or args.seeds < 1 or args.metrics_every < 1:
        p.error("--steps, --seeds and --metrics-every must be positive")
    return args


@command
def main(argv=None):
    args = parse_args(argv)
    os.makedirs(os.path.join(args.out, "runs"), exist_ok=True)
    if args.archive:
        kept = archive(args, args.archive)
        args.out = args.archive
        path, rows = write_report(args, floor_fd(args.data_dir))
        print(f"{kept} finished runs archived in {args.archive}; report in {path}")
        return 0
    if not args.report_only:
        try:
            run_all(args)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    path, rows = write_report(args, floor_fd(args.data_dir))
    print(f"{len(rows)} combinations reported in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
