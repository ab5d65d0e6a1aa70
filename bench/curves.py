"""Time-to-quality curves: hole PSNR of the completion shown so far against wall seconds.

A trace is one image's list of (seconds since the start, hole PSNR), one point per
progress report and one for the final result. Curves average the traces of all
images on a shared time grid.

    python -m bench.curves bench/results/ttq_*.json \
        --out bench/time_to_quality.png

draws one panel per (JSON file, mask) written by `bench.inpaint_quality --time-to-quality`.
"""
import argparse
import json
import sys

import numpy as np


def value_at(trace, t):
    """The PSNR shown at time t: that of the latest point at or before t (NaN before the first)."""
    times = np.array([p[0] for p in trace])
    i = np.searchsorted(times, t, side="right") - 1
    return trace[i][1] if i >= 0 else np.nan


def mean_curve(traces, points=60):
    """{"seconds": [...], "psnr_hole": [...]}: the mean over images on a log-spaced grid
    from the time every image has shown something to the time the last one finished."""
    start = max(max(t[0][0] for t in traces), 1e-3)
    end = max(max(t[-1][0] for t in traces), start * 1.001)
    grid = np.geomspace(start, end, points)
    values = [float(np.mean([value_at(t, s) for t in traces])) for s in grid]
    return {"seconds": [float(s) for s in grid], "psnr_hole": values}


def time_to_reach(curve, value):
    """The first time (s) at which a mean curve shows at least `value` dB; None if it never does.

    The curve is sampled on a grid, so this is the first grid point at or past the
    crossing: never earlier than the true time."""
    for seconds, psnr in zip(curve["seconds"], curve["psnr_hole"]):
        if psnr >= value:
            return seconds
    return None


def draw_panel(ax, title, results, mask):
    """One mask of one benchmark report: a curve per GAN method, a marker per result."""
    for i, (method, per_mask) in enumerate(results.items()):
        m = per_mask[mask]
        final = (m["seconds"], m["psnr_hole"])
        if "curve" in m:
            ax.plot(m["curve"]["seconds"], m["curve"]["psnr_hole"], color=f"C{i}", label=method)
            ax.plot(*final, "o", color=f"C{i}")
        else:
            ax.plot(*final, "s", color=f"C{i}", label=method)
    if "yeh" in results:
        seconds, value = results["yeh"][mask]["seconds"], results["yeh"][mask]["psnr_hole"]
        ax.axhline(value, color="gray", ls=":", lw=1, label="yeh's final")
        ax.axvline(seconds / 30, color="gray", ls="--", lw=1, label="1/30 of yeh's time")
    ax.set_xscale("log")
    ax.set_xlabel("wall seconds per image (log)")
    ax.set_ylabel("hole PSNR, dB (mean)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def model_name(report):
    """The model and the step of its G (`bench.output.model_stamp`), so that panels of
    different models (a reference run kept from an earlier one) are told apart."""
    steps = (report.get("model_stamp") or {}).get("steps")
    return report["model"] if steps is None else f"{report['model']} (G at step {steps:,})"


def plot(reports, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(f"{model_name(r)}, {mask} ({r.get('limit')} images)", r["results"], mask)
              for r in reports for mask in next(iter(r["results"].values()))]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.2), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        draw_panel(ax, *panel)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.curves", description=__doc__.split("\n")[0])
    p.add_argument("reports", nargs="+", help="JSON files of bench.inpaint_quality --time-to-quality")
    p.add_argument("--out", default="bench/time_to_quality.png")
    args = p.parse_args(argv)
    reports = []
    for path in args.reports:
        with open(path) as f:
            reports.append(json.load(f))
    plot(reports, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
