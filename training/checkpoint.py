"""Checkpoints in a run directory: enough to rebuild the GAN and carry on.

runs/NAME/checkpoint/
    state.json          {"step": int, "config": ModelConfig, "args": training arguments}
    generator.weights.h5, ema_generator.weights.h5, discriminator.weights.h5
    optimizers.npz      Adam moments and iteration counts of both optimizers
"""
import json
import os
import shutil

import numpy as np

from training.config import ModelConfig

CKPT_DIR = "checkpoint"


def _optimizer_arrays(prefix, optimizer):
    return {f"{prefix}{i:04d}": v.numpy() for i, v in enumerate(optimizer.variables)}


def save(run_dir, gan, step, args):
    """Write the checkpoint to a temporary folder, then swap it in, so a crash
    mid-write never leaves a broken checkpoint behind."""
    final = os.path.join(run_dir, CKPT_DIR)
    tmp = final + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    gan.generator.save_weights(os.path.join(tmp, "generator.weights.h5"))
    gan.ema_generator.save_weights(os.path.join(tmp, "ema_generator.weights.h5"))
    gan.discriminator.save_weights(os.path.join(tmp, "discriminator.weights.h5"))
    np.savez(os.path.join(tmp, "optimizers.npz"),
             **_optimizer_arrays("g", gan.g_optimizer), **_optimizer_arrays("d", gan.d_optimizer))
    with open(os.path.join(tmp, "state.json"), "w") as f:
        json.dump({"step": int(step), "config": json.loads(gan.cfg.to_json()), "args": args}, f, indent=1)
    old = final + ".old"
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(final):
        os.rename(final, old)
    os.rename(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def read_state(run_dir):
    """(step, ModelConfig, args) of the run's checkpoint; FileNotFoundError if none."""
    path = os.path.join(run_dir, CKPT_DIR, "state.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint in {run_dir} (looked for {path})")
    with open(path) as f:
        state = json.load(f)
    return state["step"], ModelConfig.from_dict(state["config"]), state.get("args", {})


def restore(run_dir, gan, with_optimizers=True):
    """Load weights (and optimizer moments) into a freshly built GAN; returns the step."""
    step, _, _ = read_state(run_dir)
    folder = os.path.join(run_dir, CKPT_DIR)
    gan.generator.load_weights(os.path.join(folder, "generator.weights.h5"))
    gan.discriminator.load_weights(os.path.join(folder, "discriminator.weights.h5"))
    ema = os.path.join(folder, "ema_generator.weights.h5")
    # Runs checkpointed before the average existed start it from the current G.
    gan.ema_generator.set_weights(gan.generator.get_weights())
    if os.path.exists(ema):
        gan.ema_generator.load_weights(ema)
    if with_optimizers:
        arrays = np.load(os.path.join(folder, "optimizers.npz"))
        for prefix, opt, model in (("g", gan.g_optimizer, gan.generator),
                                   ("d", gan.d_optimizer, gan.discriminator)):
            opt.build(model.trainable_weights)
            for i, var in enumerate(opt.variables):
                var.assign(arrays[f"{prefix}{i:04d}"])
    return step
