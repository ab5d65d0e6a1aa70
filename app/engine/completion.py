"""Semantic inpainting by latent search (Yeh et al., CVPR 2017).

For K candidates z in [-1, 1]^d, minimise per candidate

    L(z) = || W * (G(z) - y) ||_1  +  lambda * log(1 - D(G(z)))  +  mu * mean((z - z_E)^2)

with Adam, projecting z back onto [-1, 1]^d after every step. W holds the
importance weights (see `masks.importance_weights`). The last term is a prior
around the model's encoder guess z_E (mu = `anchor`; zero for a model without
an encoder or when the encoder is not used): the contextual loss only sees the
known pixels, and on its own it can pull z away from a guess that reads the
whole image better (a digit whose bottom half is missing). The steps between two
progress reports run fused in one `tf.function` (a `tf.while_loop`), and the
chunk length adapts so that a report is due about every `report_seconds`.

Images in and out: (H, W, C), C = 3 (RGB) or 1 (gray). Floats are in [-1, 1],
uint8 in [0, 255]. Masks: (H, W) float32, 1 = known pixel.
"""
import dataclasses
import time

import numpy as np
import tensorflow as tf

from app.engine.blend import poisson_blend
from app.engine.masks import check_inputs, importance_weights
from app.engine.schedule import EarlyStopper, halving_steps, survivors

ADAM_B1, ADAM_B2, ADAM_EPS = 0.9, 0.999, 1e-8
ALTERNATIVES = 4            # distinct runner-up completions a Result offers
DISTINCT = 0.1              # two alternatives differ by a mean |difference| (in [-1, 1]) inside the hole
Z_DISTINCT = 0.5            #   of at least DISTINCT, or their z by an RMS distance of at least Z_DISTINCT
# Overrides that turn the fast path off: the paper's search, every step from random z.
PLAIN_SEARCH = {"encoder_share": 0.0, "anchor": 0.0, "min_candidates": None, "early_stop": False}


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
        return self


@dataclasses.dataclass
class Progress:
    """One report. Loss arrays are per candidate, shape (K,)."""

    step: int
    steps: int
    contextual: np.ndarray
    perceptual: np.ndarray
    total: np.ndarray
    best: int
    image: np.ndarray           # (H, W, C) uint8: known pixels + the best candidate's fill
    fill: np.ndarray            # (H, W, C) float32 in [-1, 1]: G(z_best)
    z: np.ndarray               # (latent_dim,) float32: z_best
    lam: float = 0.0            # the weight of the perceptual term in total

    def best_losses(self):
        """The best candidate's terms: total = contextual + lam * perceptual + anchor,
        anchor being the pull toward the encoder's guess (0 on the plain search)."""
        i = self.best
        contextual, perceptual, total = float(self.contextual[i]), float(self.perceptual[i]), float(self.total[i])
        return {"contextual": contextual, "perceptual": perceptual,
                "anchor": max(0.0, total - contextual - self.lam * perceptual), "total": total}


@dataclasses.dataclass
class Result:
    image: np.ndarray           # (H, W, C) uint8, blended if asked
    raw: np.ndarray             # (H, W, C) uint8, known pixels + fill, not blended
    fill: np.ndarray            # (H, W, C) uint8, G(z_best) everywhere
    z: np.ndarray               # (latent_dim,) float32, the best candidate
    losses: dict                # its losses (the best state the search reported)
    steps: int                  # steps run (fewer than asked if cancelled or stopped early)
    seconds: float
    cancelled: bool = False
    early_stopped: bool = False
    alternatives: list = dataclasses.field(default_factory=list)   # [(image uint8, total loss)], see below


def to_uint8(x):
    """[-1, 1] float -> [0, 255] uint8."""
    return np.clip(np.rint((np.asarray(x) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def to_float(x):
    """[0, 255] uint8 -> [-1, 1] float32."""
    return np.asarray(x, np.float32) / 127.5 - 1.0


class Completer:
    """Runs completions on one model. Thread-safe; build once and reuse."""

    def __init__(self, model):
        self.model = model
        h, w, c = model.image_shape
        d = model.latent_dim
        f32 = tf.float32
        self._chunk = tf.function(self._run_chunk, input_signature=[
            tf.TensorSpec([None, d], f32), tf.TensorSpec([None, d], f32), tf.TensorSpec([None, d], f32),
            tf.TensorSpec([], f32), tf.TensorSpec([], tf.int32),
            tf.TensorSpec([h, w, c], f32), tf.TensorSpec([h, w, 1], f32), tf.TensorSpec([d], f32),
            tf.TensorSpec([], f32), tf.TensorSpec([], f32), tf.TensorSpec([d], f32), tf.TensorSpec([], f32)])
        self._free = np.ones(d, np.float32)
        cond = model.conditioning
        if cond:
            self._free[cond["offset"]:cond["offset"] + cond["num_classes"]] = 0.0

    # 1. The loss of every candidate, and the images it was computed on.
    def _losses(self, z, y, w, lam, z_prior, mu):
        images = self.model.generate(z)[0]
        contextual = tf.reduce_sum(tf.abs(w * (images - y)), axis=[1, 2, 3])
        logit = self.model.discriminate(images)[1]
        if self.model.perceptual == "neg_critic":
            perceptual = -logit
        else:
            perceptual = -tf.nn.softplus(logit)   # log(1 - sigmoid(logit)), stable
        prior = mu * tf.reduce_mean(tf.square(z - z_prior), axis=1)
        return contextual + lam * perceptual + prior, contextual, perceptual, images

    # 2. n Adam steps with projection, fused; then the losses at the new z.
    def _run_chunk(self, z, m, v, t, n, y, w, free, lam, lr, z_prior, mu):
        def body(i, z, m, v, t):
            with tf.GradientTape() as tape:
                tape.watch(z)
                # Candidates are independent, so the gradient of the sum is each one's own.
                objective = tf.reduce_sum(self._losses(z, y, w, lam, z_prior, mu)[0])
            g = tape.gradient(objective, z) * free
            t = t + 1.0
            m = ADAM_B1 * m + (1.0 - ADAM_B1) * g
            v = ADAM_B2 * v + (1.0 - ADAM_B2) * tf.square(g)
            step = lr * (m / (1.0 - ADAM_B1 ** t)) / (tf.sqrt(v / (1.0 - ADAM_B2 ** t)) + ADAM_EPS)
            return i + 1, tf.clip_by_value(z - step, -1.0, 1.0), m, v, t

        _, z, m, v, t = tf.while_loop(lambda i, *_: i < n, body, (tf.constant(0), z, m, v, t))
        total, contextual, perceptual, images = self._losses(z, y, w, lam, z_prior, mu)
        return z, m, v, t, total, contextual, perceptual, images

    def warm_up(self):
        """Trace the fused step once so that the first real job does not pay for it."""
        h, w, c = self.model.image_shape
        mask = np.ones((h, w), np.float32)
        mask[: h // 2] = 0
        for item in self.iterate(np.zeros((h, w, c), np.float32), mask,
                                 CompletionParams(steps=2, restarts=1, seed=0, blend=False)):
            pass
        return item

    def encoder_guess(self, image, mask):
        """(d,) float32: the encoder's z for the image, or None for a model without one.

        image: (H, W, C) float32 in [-1, 1]; mask: (H, W), 1 = known."""
        if self.model.encode is None:
            return None
        z = self.model.encode(tf.constant(image[None], tf.float32),
                              tf.constant(mask[None, ..., None], tf.float32))[0]
        return z.numpy()[0]

    def initial_latents(self, restarts, seed, guess=None, share=0.5, perturbation=0.3):
        """(K, d) float32 starting points, and whether candidate 0 is the encoder's guess.

        With a guess, the first round(share * K) candidates (at least one) start from
        it: the first exactly, the others plus N(0, perturbation^2) noise, clipped to
        [-1, 1]. The rest are z ~ U(-1, 1). Class codes of conditioned models are
        cycled over the random candidates and taken from the guess for the others.
        """
        rng = np.random.default_rng(seed)
        z = rng.uniform(-1.0, 1.0, (restarts, self.model.latent_dim)).astype(np.float32)
        cond = self.model.conditioning
        if cond:
            k, off = cond["num_classes"], cond["offset"]
            z[:, off:off + k] = np.eye(k, dtype=np.float32)[np.arange(restarts) % k]
        from_guess = 0
        if guess is not None and share > 0:
            from_guess = min(restarts, max(1, int(round(share * restarts))))
            noise = rng.normal(0.0, perturbation, (from_guess, z.shape[1])).astype(np.float32)
            noise[0] = 0.0
            z[:from_guess] = np.clip(guess[None] + noise, -1.0, 1.0)
            if cond:
                z[:from_guess, off:off + k] = np.eye(k, dtype=np.float32)[np.argmax(guess[off:off + k])]
        return z, from_guess > 0

    def iterate(self, image, mask, params=None):
        """Yield a `Progress` per chunk (the first at step 0, showing the encoder's
        guess where the model has one), then the `Result`.

        image: (H, W, C) float32 in [-1, 1]; mask: (H, W), 1 = known.
        Stop iterating to cancel; the work stops within one chunk.
        """
        params = (params or CompletionParams()).check()
        image, mask = check_inputs(image, mask, self.model.image_shape)
        t0 = time.perf_counter()
        y = tf.constant(image)
        w = tf.constant(importance_weights(mask, params.window, params.floor)[..., None])
        known = mask[..., None]
        use_guess = params.encoder_share > 0 or params.anchor > 0
        guess = self.encoder_guess(image, mask) if use_guess else None
        z, guessed = self.initial_latents(params.restarts, params.seed, guess,
                                          params.encoder_share, params.perturbation)
        z = tf.constant(z)
        m = v = tf.zeros_like(z)
        t = tf.constant(0.0)
        z_prior, mu = (guess, params.anchor) if guess is not None else (np.zeros(z.shape[1], np.float32), 0.0)
        args = (y, w, tf.constant(self._free), tf.constant(float(params.lam)), tf.constant(float(params.lr)),
                tf.constant(z_prior, tf.float32), tf.constant(float(mu)))
        halve_at = (halving_steps(params.steps, params.restarts, params.min_candidates)
                    if params.min_candidates else [])
        stopper = EarlyStopper(params.patience, params.tolerance) if params.early_stop else None
        step, n, early, kept = 0, 0, False, None
        pool = []   # (total loss, G(z)) of each candidate as it leaves the search: the alternatives
        while True:
            started = time.perf_counter()
            z, m, v, t, total, ctx, perc, images = self._chunk(z, m, v, t, tf.constant(n), *args)
            step += n
            total = total.numpy()
            # The first report shows the encoder's guess as it is, so a plausible
            # fill appears at once; later ones the best candidate.
            best = 0 if step == 0 and guessed else int(np.argmin(total))
            fill = images[best].numpy()
            progress = Progress(step, params.steps, ctx.numpy(), perc.numpy(), total, best,
                                to_uint8(known * image + (1.0 - known) * fill), fill, z[best].numpy(), params.lam)
            # Adam can leave the best candidate a little worse than it once was (it
            # jitters around a stiff anchor): the result is the best state reported.
            if kept is None or total[best] <= kept.total[kept.best]:
                kept = progress
            if step >= params.steps:
                break
            if stopper and stopper.update(step, total[best]):
                early = True
                break
            yield progress
            if halve_at and step >= halve_at[0]:
                # 3. Successive halving: the worse half of the candidates stops here.
                halve_at.pop(0)
                chosen = survivors(total, len(total) // 2)
                fills = images.numpy()
                zs = z.numpy()
                pool += [(float(total[i]), fills[i], zs[i]) for i in range(len(total)) if i not in set(chosen)]
                keep = tf.constant(chosen)
                z, m, v = tf.gather(z, keep), tf.gather(m, keep), tf.gather(v, keep)
            # 4. Size the next chunk so a report is due about every report_seconds.
            elapsed = time.perf_counter() - started
            per_step = elapsed / n if n else elapsed / 2
            n = int(np.clip(params.report_seconds / max(per_step, 1e-6), 1, max(4 * n, 4)))
            n = min([n, params.steps - step] + [h - step for h in halve_at[:1] if h > step])
        result = self.finish(kept, mask, params, t0)
        result.steps, result.early_stopped = step, early
        fills, zs = images.numpy(), z.numpy()
        pool += [(float(total[i]), fills[i], zs[i]) for i in range(len(total))]
        result.alternatives = self.alternatives(pool, (kept.fill, kept.z), image, mask, params)
        yield result

    def alternatives(self, pool, best, image, mask, params, count=ALTERNATIVES):
        """Up to `count` runner-up completions, best loss first, each distinct from the
        result and from each other (DISTINCT inside the hole, or Z_DISTINCT in z):
        [(image uint8, loss)]. pool: [(total loss, G(z) (H, W, C) in [-1, 1], z)];
        best: (fill, z) of the result; image in [-1, 1]; mask 1 = known."""
        hole = mask < 0.5

        def distinct(a, b):
            return (np.abs(a[0][hole] - b[0][hole]).mean() >= DISTINCT
                    or np.sqrt(np.mean((a[1] - b[1]) ** 2)) >= Z_DISTINCT)

        chosen, out = [best], []
        for loss, fill, z in sorted(pool, key=lambda item: item[0]):
            if len(out) >= count:
                break
            if all(distinct((fill, z), other) for other in chosen):
                chosen.append((fill, z))
                known = mask[..., None]
                raw = to_uint8(known * image + (1.0 - known) * fill)
                out.append((poisson_blend(to_uint8(fill), raw, mask) if params.blend else raw, loss))
        return out

    def finish(self, progress, mask, params, started, cancelled=False):
        """The `Result` for the state a progress report describes (blended if asked)."""
        fill8 = to_uint8(progress.fill)
        blended = poisson_blend(fill8, progress.image, mask) if params.blend else progress.image
        return Result(blended, progress.image, fill8, progress.z, progress.best_losses(),
                      progress.step, time.perf_counter() - started, cancelled)

    def complete(self, image, mask, params=None, on_progress=None, cancelled=None):
        """Run to the end and return the `Result`.

        on_progress(Progress) is called per chunk; if cancelled() turns true the
        search stops within one chunk and the best completion so far is returned
        with `cancelled=True`.
        """
        started = time.perf_counter()
        params = (params or CompletionParams()).check()
        gen = self.iterate(image, mask, params)
        for item in gen:
            if isinstance(item, Result):
                return item
            if on_progress:
                on_progress(item)
            if cancelled and cancelled():
                gen.close()
                known = check_inputs(image, mask, self.model.image_shape)[1]
                return self.finish(item, known, params, started, cancelled=True)
        raise RuntimeError("the completion ended without a result")
