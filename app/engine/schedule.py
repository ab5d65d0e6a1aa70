"""Deciding how much search a completion gets: successive halving of the
candidates and early stopping when the best loss stops improving."""
import collections
import dataclasses

import numpy as np


def survivors(total, keep):
    """Indices of the `keep` candidates with the lowest total loss, best first.

    total: (K,) per-candidate losses; ties keep the earlier candidate.
    """
    total = np.asarray(total)
    keep = max(1, min(int(keep), len(total)))
    return np.argsort(total, kind="stable")[:keep]


def halving_steps(steps, restarts, min_candidates):
    """Steps at which the candidates are halved: evenly spaced over the run, one per
    halving round needed to go from `restarts` down to `min_candidates` (None: no
    halving)."""
    if not min_candidates:
        return []
    rounds = 0
    k = restarts
    while k // 2 >= max(1, min_candidates):
        k //= 2
        rounds += 1
    return [int(steps * (i + 1) / (rounds + 1)) for i in range(rounds)]


def stretches(steps, restarts, min_candidates):
    """[(steps, candidates)] of a search that runs all its steps (early stopping can
    end it sooner): `restarts` candidates until the first halving, half as many
    until the next, and so on (`halving_steps`); stretches of 0 steps left out."""
    k, done, out = restarts, 0, []
    for at in halving_steps(steps, restarts, min_candidates):
        out.append((at - done, k))
        done, k = at, max(1, k // 2)
    return [(n, k) for n, k in out + [(steps - done, k)] if n]


@dataclasses.dataclass
class SearchCost:
    """Seconds of one search step of K candidates: fixed + per_candidate x K, fitted
    from two timed batch sizes (a step of a few candidates costs more than its share
    of a step of many)."""

    fixed: float = 0.002
    per_candidate: float = 0.002

    def seconds(self, steps, restarts, min_candidates=None, single_steps=0):
        """A search of `steps` at `restarts` candidates halved down to `min_candidates`,
        then `single_steps` steps on one image (the second stage)."""
        return sum(n * (self.fixed + self.per_candidate * k)
                   for n, k in stretches(steps, restarts, min_candidates) + [(single_steps, 1)])

    @classmethod
    def fit(cls, few, many):
        """few, many: (candidates, seconds per step) measured at two batch sizes."""
        (k0, t0), (k1, t1) = few, many
        per_candidate = max((t1 - t0) / (k1 - k0), 1e-5)   # timing noise must not make candidates free
        return cls(max(t0 - per_candidate * k0, 0.0), per_candidate)


class EarlyStopper:
    """Stop when the best total loss improved by less than `tolerance` (relative)
    over the last `patience` steps. The search asks every `patience // 4` steps
    (`next_check`), and only there, so that where it stops does not depend on when
    progress reports fall (a chunk of steps ends at each of those steps)."""

    def __init__(self, patience=100, tolerance=1e-3):
        self.patience, self.tolerance = patience, tolerance
        self.history = collections.deque()   # (step, best loss so far)
        self.best = np.inf
        self.every = max(1, patience // 4)

    def checks_at(self, step):
        """Whether the search asks `update` after `step` steps."""
        return step > 0 and step % self.every == 0

    def next_check(self, step):
        """The first step after `step` at which the search asks `update`."""
        return (step // self.every + 1) * self.every

    def update(self, step, loss):
        """Record the best loss at `step`; True when the search should stop."""
        self.best = min(self.best, float(loss))
        self.history.append((step, self.best))
        while len(self.history) > 1 and self.history[1][0] <= step - self.patience:
            self.history.popleft()
        then_step, then = self.history[0]
        if step - then_step < self.patience:
            return False
        return (then - self.best) <= self.tolerance * abs(then)


class Chunker:
    """Paces a search: sizes its fused chunks of steps so that a report is due about
    every `report_seconds`, and says which chunk ends are reports.

    A chunk's length is judged from the last chunk's time per step: at least 1 step
    and at most 4x the length last planned (so one fast chunk cannot make the next
    one huge). It is then cut short at the end of the search and at the next step a
    chunk must end at (a halving, an early stopping check); the next plan grows from
    the uncut length, so cuts do not keep chunks short. A chunk of the planned
    length ends in a report; one cut short does only if half a report interval has
    passed since the last report, so the cuts do not add frames."""

    def __init__(self, report_seconds):
        self.report_seconds = report_seconds
        self.planned = 0
        self.cut = False
        self.last_report = -np.inf

    def next(self, n, seconds, remaining, to_boundary=None):
        """Steps in the next chunk, after one of n steps that took `seconds` (n = 0:
        the step-0 evaluation); `remaining` steps are left, and the next boundary is
        `to_boundary` (>= 1) steps away, or None."""
        per_step = seconds / n if n else seconds / 2
        self.planned = int(np.clip(self.report_seconds / max(per_step, 1e-6), 1, max(4 * self.planned, 4)))
        n = min([self.planned, remaining] + ([to_boundary] if to_boundary is not None else []))
        self.cut = n < self.planned
        return n

    def report_due(self, now):
        """Whether the chunk just run, ending at `now` (`time.perf_counter()`), reports."""
        return not self.cut or now - self.last_report >= self.report_seconds / 2

    def reported(self, now):
        """Note a report made at `now`."""
        self.last_report = now
