"""Where the face model stands against how many images it has seen: FD and projection PSNR per kimg.

The lineage file (JSON) is the record across runs and machines, since run folders do not
outlive a machine:

    {"batch": 64,
     "fd": [[step, fd], ...],                       # metrics rows (features v1, 2,000 EMA samples)
     "projection": [[step, median dB, mean dB], ...],  # exported models, `training.evaluate`
     "exported": [step, ...],
     "targets": {"fd": value, "projection": dB},
     "fd_floor": value,                              # the training faces' own FD: no G gets below
     "events": [[step, "what changed"], ...]}         # marked on both panels

    python -m bench.kimg_curve bench/results/faces_lineage.json --merge runs/faces-u/metrics.csv \
        --out bench/faces_kimg.png

`--merge` adds a run's metrics.csv rows (column `face_fd_v1`) to the file, replacing rows of
the same step; `--add-model models/faces` records an exported model (its manifest's step,
and the projection PSNR in its evaluation.json, from `training.evaluate`). Either writes
the file back; then both panels are drawn.
"""
import argparse
import csv
import json
import sys

FD_COLUMN = "face_fd_v1"   # training.face_features.FaceMetrics.BEST, named here so a plot needs no TensorFlow


def merge_metrics(lineage, csv_path, column=FD_COLUMN):
    """Add the run's (step, FD) rows to lineage["fd"], a row of the run replacing one of
    the same step; rows stay sorted by step. Returns how many rows the run gave."""
    with open(csv_path, newline="") as f:
        rows = [(int(r["step"]), float(r[column])) for r in csv.DictReader(f) if r.get(column)]
    merged = {int(step): fd for step, fd in lineage.get("fd", [])}
    merged.update(rows)
    lineage["fd"] = [[step, merged[step]] for step in sorted(merged)]
    return len(rows)


def add_model(lineage, model_dir):
    """Record the model in `model_dir` as exported at its training step, with the projection
    PSNR of its evaluation.json (replacing a point of the same step). Returns the step."""
    with open(f"{model_dir}/manifest.json") as f:
        step = int(json.load(f)["training"]["steps"])
    with open(f"{model_dir}/evaluation.json") as f:
        projection = json.load(f).get("projection")
    if not projection:
        raise ValueError(f"{model_dir}/evaluation.json has no projection: run training.evaluate with --projection-faces")
    points = [p for p in lineage.get("projection", []) if p[0] != step]
    points.append([step, round(projection["psnr_median"], 3), round(projection["psnr_mean"], 3)])
    lineage["projection"] = sorted(points)
    lineage["exported"] = sorted(set(lineage.get("exported", [])) | {step})
    return step


def kimg(step, batch):
    return step * batch / 1000


def plot(lineage, out):
    """Two panels against kimg: FD (exported steps marked), projection PSNR (median and mean)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    batch, targets = lineage["batch"], lineage.get("targets", {})
    fig, (ax_fd, ax_proj) = plt.subplots(1, 2, figsize=(11, 4))
    fds = dict(lineage["fd"])   # step -> FD, sorted by step
    ax_fd.plot([kimg(s, batch) for s in fds], list(fds.values()), ".-", lw=1, label="FD, each metrics row")
    shown = [s for s in lineage.get("exported", []) if s in fds]
    ax_fd.plot([kimg(s, batch) for s in shown], [fds[s] for s in shown], "o", mfc="none", ms=9, label="exported")
    if "fd" in targets:
        ax_fd.axhline(targets["fd"], ls="--", c="gray", label="target")
    if "fd_floor" in lineage:
        ax_fd.axhline(lineage["fd_floor"], ls=":", c="gray", label="floor (training faces)")
    for step, what in lineage.get("events", []):
        for ax in (ax_fd, ax_proj):
            ax.axvline(kimg(step, batch), c="tab:red", lw=0.8, alpha=0.6)
        ax_fd.annotate(what, (kimg(step, batch), 0.98), xycoords=("data", "axes fraction"), rotation=90,
                       va="top", ha="right", fontsize=7, color="tab:red")
    ax_fd.set(xlabel="kimg", ylabel="Fréchet distance (face features v1)", yscale="log")
    ax_fd.legend()
    proj = lineage.get("projection", [])
    ax_proj.plot([kimg(s, batch) for s, _, _ in proj], [m for _, m, _ in proj], "o-", label="median")
    ax_proj.plot([kimg(s, batch) for s, _, _ in proj], [m for _, _, m in proj], "s--", label="mean")
    if "projection" in targets:
        ax_proj.axhline(targets["projection"], ls="--", c="gray", label="target")
    ax_proj.set(xlabel="kimg", ylabel="projection PSNR, dB (64 faces)")
    ax_proj.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("lineage", help="the lineage JSON (see the module's docstring)")
    p.add_argument("--merge", action="append", default=[], help="a run's metrics.csv to add (repeatable)")
    p.add_argument("--add-model", action="append", default=[], metavar="DIR",
                   help="an exported, evaluated model to record (repeatable)")
    p.add_argument("--out", help="the PNG to draw")
    args = p.parse_args(argv)
    with open(args.lineage) as f:
        lineage = json.load(f)
    for path in args.merge:
        print(f"{path}: {merge_metrics(lineage, path)} rows")
    for path in args.add_model:
        print(f"{path}: exported at step {add_model(lineage, path)}")
    if args.merge or args.add_model:
        with open(args.lineage, "w") as f:
            json.dump(lineage, f, indent=1)
    if args.out:
        plot(lineage, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
