"""The training loop every trainer shares: step, log, sample, checkpoint.

Both `training.train` (GANs) and `training.train_encoder` run it; what a step,
a sample grid and a checkpoint are is theirs.
"""
import time


def run(step, steps, train_step, log, sample_every, ckpt_every, sample, save, report=None):
    """Train from `step` to `steps`.

    train_step() -> {name: value} for one step, written to `log` (a
    reporting.RunLog, flushed before each sample and checkpoint and closed at the
    end); sample(step) every `sample_every` steps and save(step) every `ckpt_every`,
    both also at the last step; report(step, values) after each step, if given.
    Returns (the last step, steps per second)."""
    start, t0 = step, time.time()
    try:
        while step < steps:
            values = {k: float(v) for k, v in train_step().items()}
            step += 1
            log.write(step, values)
            if report:
                report(step, values)
            if step % sample_every == 0 or step == steps:
                log.flush()
                sample(step)
            if step % ckpt_every == 0 or step == steps:
                log.flush()
                save(step)
    finally:
        log.close()
    return step, (step - start) / max(time.time() - t0, 1e-9)
