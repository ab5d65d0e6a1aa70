"""Checkpoints in a run directory: enough to rebuild the GAN and carry on.

runs/NAME/checkpoint/
    state.json          {"step": int, "config": ModelConfig, "args": training arguments}
    generator.weights.h5, ema_generator.weights.h5, discriminator.weights.h5
    optimizers.npz      Adam moments and iteration counts of both optimizers
runs/NAME/best/         the same, at the step with the best metrics row so far
                        (`--metrics-every`); its state.json adds "metric": {column: value}

A GAN's sample quality swings from one metrics row to the next, so the step to
export is the best one (`training.export --checkpoint best`), not always the last.
"""
import json
import os
import shutil
from typing import NamedTuple

import numpy as np

from training.config import ModelConfig

CKPT_DIR = "checkpoint"
BEST_DIR = "best"
FOLDERS = {"last": CKPT_DIR, "best": BEST_DIR}   # what `training.export --checkpoint` names each


def optimizer_arrays(prefix, optimizer):
    """{prefix + index: array} of an optimizer's variables (moments, iteration count)."""
    return {f"{prefix}{i:04d}": v.numpy() for i, v in enumerate(optimizer.variables)}


def load_optimizer(arrays, prefix, optimizer, model):
    """Inverse of `optimizer_arrays` for an optimizer of `model`'s trainable weights.

    The learning rate is not restored: the one the resumed run was given wins
    (e.g. `--resume --lr 5e-5` to anneal a run)."""
    optimizer.build(model.trainable_weights)
    for i, var in enumerate(optimizer.variables):
        if not var.path.endswith("learning_rate"):
            var.assign(arrays[f"{prefix}{i:04d}"])


def write_atomically(final, write):
    """Call write(tmp_folder), then swap the folder in for `final`, so a crash
    mid-write never leaves a broken checkpoint behind."""
    tmp = final + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    write(tmp)
    old = final + ".old"
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(final):
        os.rename(final, old)
    os.rename(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def save(run_dir, gan, step, args, folder=CKPT_DIR, metric=None):
    """Write the GAN at `step` into run_dir/folder; metric ({column: value}) is recorded
    in state.json where given (the best checkpoint's)."""
    def write(tmp):
        gan.generator.save_weights(os.path.join(tmp, "generator.weights.h5"))
        gan.ema_generator.save_weights(os.path.join(tmp, "ema_generator.weights.h5"))
        gan.discriminator.save_weights(os.path.join(tmp, "discriminator.weights.h5"))
        np.savez(os.path.join(tmp, "optimizers.npz"),
                 **optimizer_arrays("g", gan.g_optimizer), **optimizer_arrays("d", gan.d_optimizer))
        with open(os.path.join(tmp, "state.json"), "w") as f:
            json.dump({"step": int(step), "config": json.loads(gan.cfg.to_json()), "args": args,
                       **({"metric": metric} if metric else {})}, f, indent=1)

    write_atomically(os.path.join(run_dir, folder), write)


def read_state_json(run_dir, folder=CKPT_DIR):
    """The run's folder/state.json as a dict (a GAN's or an encoder's); FileNotFoundError if none."""
    path = os.path.join(run_dir, folder, "state.json")
    if not os.path.exists(path):
        kept_by = " (a run keeps one with --metrics-every)" if folder == BEST_DIR else ""
        raise FileNotFoundError(f"no {folder} checkpoint in {run_dir}{kept_by} (looked for {path})")
    with open(path) as f:
        return json.load(f)


class State(NamedTuple):
    """What a GAN checkpoint's state.json says."""
    step: int
    config: ModelConfig
    args: dict             # the training arguments of the run that wrote it
    metric: dict = None    # {column: value}: the best checkpoint's metrics row; None for the last


def read_state(run_dir, folder=CKPT_DIR):
    """The `State` of a GAN run's checkpoint (or its best); FileNotFoundError if none."""
    state = read_state_json(run_dir, folder)
    return State(state["step"], ModelConfig.from_dict(state["config"]), state.get("args", {}), state.get("metric"))


def best_metric(run_dir, resumed_step, best_from=0):
    """The metric of the run's best/ checkpoint, or None where there is none to compare
    against: no best/, a new run (resumed_step 0), a best past the step this run
    resumed from (its rows were dropped: another timeline), or one before `best_from`
    (the run now wants a best from that step on)."""
    try:
        state = read_state(run_dir, BEST_DIR)
    except FileNotFoundError:
        return None
    return state.metric if max(1, best_from) <= state.step <= resumed_step else None


def restore(run_dir, gan, with_optimizers=True, folder=CKPT_DIR):
    """Load weights (and optimizer moments) into a freshly built GAN; returns the step."""
    step = read_state(run_dir, folder).step
    path = os.path.join(run_dir, folder)
    gan.generator.load_weights(os.path.join(path, "generator.weights.h5"))
    gan.discriminator.load_weights(os.path.join(path, "discriminator.weights.h5"))
    ema = os.path.join(path, "ema_generator.weights.h5")
    # Runs checkpointed before the average existed start it from the current G.
    gan.ema_generator.set_weights(gan.generator.get_weights())
    if os.path.exists(ema):
        gan.ema_generator.load_weights(ema)
    if with_optimizers:
        arrays = np.load(os.path.join(path, "optimizers.npz"))
        load_optimizer(arrays, "g", gan.g_optimizer, gan.generator)
        load_optimizer(arrays, "d", gan.d_optimizer, gan.discriminator)
    return step
