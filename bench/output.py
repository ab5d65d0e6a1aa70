"""How every benchmark script records its run: the command that reproduces it,
written with the report as JSON (which `bench.report` turns into BENCHMARKS.md)."""
import datetime
import json
import os
import sys


def command_line(module, argv):
    """The shell command that reran this script with the same arguments."""
    return " ".join([f"python -m {module}", *(sys.argv[1:] if argv is None else argv)])


def write_json(path, report, command):
    """Write the report with the command that reran it and the day it ran."""
    if path:
        with open(path, "w") as f:
            json.dump({**report, "command": command, "date": datetime.date.today().isoformat()}, f, indent=2)


def model_stamp(models_dir, name):
    """Which model a result is of, read from models_dir/name's manifest: its G's training
    steps and export time, its encoder's export time (None without one) and its second
    stage's steps, so that a result left from another model can be told from one of the
    committed model."""
    with open(os.path.join(models_dir, name, "manifest.json")) as f:
        manifest = json.load(f)
    training, encoder = manifest.get("training", {}), manifest.get("encoder") or {}
    return {"steps": training.get("steps"), "exported": training.get("exported"),
            "encoder_exported": encoder.get("exported"), "refine_steps": manifest.get("refine_steps", 0)}
