"""Running an engine search: every search (completion, dream, style) is a generator
that yields progress reports and returns its result; `drive` runs one to its end."""
import dataclasses
import time

import numpy as np


def drive(search, on_progress=None, call=None):
    """Run a search (a generator of progress reports, e.g. `Completer.iterate`) to the
    result it returns.

    on_progress(report) is called for each report; call(fn) runs each chunk of
    search, by default directly (the job manager passes eventlet's tpool, so the
    socket loop never waits on TensorFlow)."""

    def advance():
        try:
            return next(search), None
        except StopIteration as end:
            return None, end.value

    call = call or (lambda fn: fn())
    try:
        while True:
            progress, result = call(advance)
            if result is not None:
                return result
            if on_progress:
                on_progress(progress)
    finally:
        search.close()


@dataclasses.dataclass
class Frame:
    """One report of an image search (dream, style): image (H, W, C) uint8 after
    `step` of `steps` steps, and its loss terms by name."""

    step: int
    steps: int
    losses: dict
    image: np.ndarray


@dataclasses.dataclass
class Outcome:
    """What an image search returns: the final image (H, W, C) uint8, its last loss
    terms, the steps run, whether `stop()` ended it early; a latent search also its
    z (d,), a morph every frame it drew ((H, W, C) uint8 each)."""

    image: np.ndarray
    losses: dict
    steps: int
    cancelled: bool = False
    z: np.ndarray | None = None
    frames: list = dataclasses.field(default_factory=list)


class Reporter:
    """Decides when a search reports: at its first and last step, and otherwise once
    `every` seconds have passed, so a fast search does not flood the socket."""

    def __init__(self, every=0.1):
        self.every, self.last = every, float("-inf")

    def due(self, step, steps):
        now = time.monotonic()
        if step in (0, steps) or now - self.last >= self.every:
            self.last = now
            return True
        return False


@dataclasses.dataclass
class StepCost:
    """Seconds per step of an image search: fixed + per_pixel x pixels, fitted from two
    timed sizes (small images are dominated by the fixed part, large ones by pixels)."""

    fixed: float = 0.005
    per_pixel: float = 2e-6

    def seconds(self, steps, pixels):
        return steps * (self.fixed + self.per_pixel * pixels)

    @classmethod
    def fit(cls, small, large):
        """small, large: (pixels, seconds per step) measured at two sizes."""
        (p0, t0), (p1, t1) = small, large
        per_pixel = max((t1 - t0) / (p1 - p0), 2e-7)   # timing noise must not make size free
        return cls(max(t0 - per_pixel * p0, 0.0), per_pixel)
