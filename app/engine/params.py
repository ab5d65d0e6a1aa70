"""The settings of one completion (`CompletionParams`), their checks, and
`PLAIN_SEARCH`, the overrides that turn the fast path off."""
import dataclasses

import numpy as np

# Overrides that turn the fast path off: the paper's search, every step from random z.
PLAIN_SEARCH = {"encoder_share": 0.0, "anchor": 0.0, "min_candidates": None, "early_stop": False, "refine_steps": 0}


@dataclasses.dataclass
class CompletionParams:
    """Search settings. The defaults are the fast path: candidates start from the
    model's encoder (where it has one), the worse half is dropped every few steps
    down to `min_candidates`, and the search stops once the best loss levels off.
    They were chosen on validation data only (faces64_val `center`, MNIST test
    `bottom`); the sweeps are in BENCHMARKS.md. `PLAIN_SEARCH` turns the fast
    path off."""

    steps: int = 60             # Adam steps at most
    restarts: int = 16          # K candidates searched in one batch
    lam: float = 0.003          # weight of the perceptual term log(1 - D(G(z)))
    lr: float = 0.03            # Adam learning rate on z
    window: int = 7             # importance-weight window (odd)
    floor: float = 0.0          # least weight of a known pixel (0 = the paper: far pixels count nothing)
    blend: bool = True          # Poisson-blend the fill into the known pixels
    seed: int | None = None     # fixes the initial z; None draws a fresh one
    report_seconds: float = 0.15  # target time between progress reports
    min_candidates: int | None = 2  # successive halving down to this many; None = off
    early_stop: bool = True     # stop once the best loss stops improving:
    patience: int = 20          #   by less than `tolerance` (relative) over `patience` steps
    tolerance: float = 1e-3
    encoder_share: float = 0.5  # share of candidates started from the encoder's guess
    perturbation: float = 0.3   #   (the first exactly, the rest plus N(0, perturbation^2) noise)
    anchor: float = 1000.0      # mu: weight of mean((z - z_E)^2), the pull toward the encoder's guess (bench/NOTES.md)
    target_class: int | None = None  # a conditioned model: complete as this class; None = search every class
    refine_steps: int | None = None  # the second stage: Adam steps on G's first feature map (engine.refine);
                                     #   0 = off, None = the model's own (its manifest's refine_steps)
    refine_lr: float = 0.05     #   and their rate

    def check(self):
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if self.restarts < 1:
            raise ValueError(f"restarts must be at least 1, got {self.restarts}")
        if not np.isfinite(self.lam) or self.lam < 0:
            raise ValueError(f"lambda must be finite and >= 0, got {self.lam}")
        if not np.isfinite(self.lr) or self.lr <= 0:
            raise ValueError(f"lr must be finite and > 0, got {self.lr}")
        if not 0 <= self.floor < 1:
            raise ValueError(f"floor must be in [0, 1), got {self.floor}")
        if self.window < 1 or self.window % 2 == 0:
            raise ValueError(f"window must be a positive odd number, got {self.window}")
        if self.min_candidates is not None and self.min_candidates < 1:
            raise ValueError(f"min_candidates must be at least 1, got {self.min_candidates}")
        if not 0.0 <= self.encoder_share <= 1.0:
            raise ValueError(f"encoder_share must be in [0, 1], got {self.encoder_share}")
        if not np.isfinite(self.perturbation) or self.perturbation < 0:
            raise ValueError(f"perturbation must be finite and >= 0, got {self.perturbation}")
        if not np.isfinite(self.anchor) or self.anchor < 0:
            raise ValueError(f"anchor must be finite and >= 0, got {self.anchor}")
        if self.refine_steps is not None and self.refine_steps < 0:
            raise ValueError(f"refine steps must be >= 0, got {self.refine_steps}")
        if not np.isfinite(self.refine_lr) or self.refine_lr <= 0:
            raise ValueError(f"refine lr must be finite and > 0, got {self.refine_lr}")
        if self.target_class is not None and self.target_class < 0:
            raise ValueError(f"target class must be >= 0, got {self.target_class}")
        return self
