"""What a completion shows while it runs (`Progress`) and what it returns (`Result`),
and how both are assembled from the candidates a search evaluated.

Images: (H, W, C), C = 3 (RGB) or 1 (gray); uint8 in [0, 255] or float32 in
[-1, 1] as each field says. Masks: (H, W) float32, 1 = known pixel.
"""
import dataclasses
import time

import numpy as np

from app.engine import alternatives
from app.engine.blend import poisson_blend
from app.engine.imageio import to_uint8


@dataclasses.dataclass
class Progress:
    """One report. Loss arrays are per candidate, shape (K,)."""

    step: int
    steps: int
    contextual: np.ndarray
    perceptual: np.ndarray
    prior: np.ndarray
    total: np.ndarray
    best: int
    image: np.ndarray           # (H, W, C) uint8: known pixels + the best candidate's fill
    fill: np.ndarray            # (H, W, C) float32 in [-1, 1]: G(z_best)
    z: np.ndarray               # (latent_dim,) float32: z_best

    def best_losses(self):
        """The best candidate's terms: total = contextual + lam * perceptual + anchor,
        anchor being the pull toward the encoder's guess (0 on the plain search)."""
        i = self.best
        return {"contextual": float(self.contextual[i]), "perceptual": float(self.perceptual[i]),
                "anchor": float(self.prior[i]), "total": float(self.total[i])}

    def with_fill(self, fill, image, mask):
        """This report with another fill (H, W, C) in [-1, 1] (a second stage's), its
        z and losses unchanged."""
        return dataclasses.replace(self, fill=fill, image=to_uint8(alternatives.compose(image, fill, mask)))


@dataclasses.dataclass
class Result:
    image: np.ndarray           # (H, W, C) uint8, blended if asked
    raw: np.ndarray             # (H, W, C) uint8, known pixels + fill, not blended
    fill: np.ndarray            # (H, W, C) uint8, G(z_best) everywhere (refined by the second stage if asked)
    z: np.ndarray               # (latent_dim,) float32, the best candidate (the search's, before any second stage)
    losses: dict                # its losses (the lowest-loss state the search evaluated)
    steps: int                  # steps run (fewer than asked if cancelled or stopped early)
    seconds: float
    cancelled: bool = False
    early_stopped: bool = False
    alternatives: list = dataclasses.field(default_factory=list)   # [(image uint8, total loss)]: engine.alternatives


def progress(step, steps, evaluated, image, mask, show_first=False):
    """The `Progress` after `step` of `steps` steps, from candidates whose losses were
    computed (`completion.Evaluated`: z (K, d), losses, G(z) (K, H, W, C)); its best
    is the lowest total loss (a NaN never), or candidate 0 if show_first.

    image: (H, W, C) float32 in [-1, 1]; mask: (H, W), 1 = known."""
    losses = evaluated.losses
    total = losses.total.numpy()
    best = 0 if show_first else int(np.argmin(np.where(np.isnan(total), np.inf, total)))
    fill = evaluated.images[best].numpy()
    return Progress(step, steps, losses.contextual.numpy(), losses.perceptual.numpy(), losses.prior.numpy(),
                    total, best, to_uint8(alternatives.compose(image, fill, mask)), fill, evaluated.z[best].numpy())


def result(kept, mask, blend, started, **ending):
    """The `Result` for the kept state (a `Progress`), Poisson-blended if `blend`;
    started: the search's `time.perf_counter()` at its start; ending: steps,
    cancelled, early_stopped, alternatives."""
    fill8 = to_uint8(kept.fill)
    blended = poisson_blend(fill8, kept.image, mask) if blend else kept.image
    return Result(blended, kept.image, fill8, kept.z, kept.best_losses(),
                  seconds=time.perf_counter() - started, **ending)
