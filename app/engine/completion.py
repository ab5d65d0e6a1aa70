"""Semantic inpainting by latent search (Yeh et al., CVPR 2017).

For K candidates z in [-1, 1]^d, minimise per candidate

    L(z) = || W * (G(z) - y) ||_1  +  lambda * log(1 - D(G(z)))  +  mu * mean((z - z_E)^2)

with Adam, projecting z back onto [-1, 1]^d after every step. W holds the
importance weights (see `masks.importance_weights`). The last term is a prior
around the model's encoder guess z_E (mu = `anchor`; zero for a model without
an encoder or when the encoder is not used): the contextual loss only sees the
known pixels, and on its own it can pull z away from a guess that reads the
whole image better (a digit whose bottom half is missing). Steps run fused in
chunks, one `tf.function` call (a `tf.while_loop`) each; a chunk's length adapts
so that a report is due about every `report_seconds`, and chunks also end where
the schedule acts (a halving, an early stopping check): `engine.schedule`. Each
chunk keeps every candidate's lowest-loss z, so the result does not depend on
when reports fall (`engine.lowest`); reports and the result are `engine.outcome`.
With `refine_steps`, the best candidate's image is then refined on the known
pixels through G's first feature map (`engine.refine`).

Images in and out: (H, W, C), C = 3 (RGB) or 1 (gray). Floats are in [-1, 1],
uint8 in [0, 255]. Masks: (H, W) float32, 1 = known pixel.
"""
import time
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from app.engine import alternatives, outcome
from app.engine.adam import adam_step
from app.engine.driver import drive
from app.engine.lowest import Lowest, Scored, finite, lower
from app.engine.masks import check_inputs, importance_weights
from app.engine.params import CompletionParams
from app.engine.refine import Refiner
from app.engine.schedule import Chunker, EarlyStopper, SearchCost, halving_steps, survivors


class SearchState(NamedTuple):
    """Adam on the K candidates: z and its moment estimates, (K, d) float32 each,
    and the step count t, a float32 scalar (shared: every candidate steps together)."""

    z: tf.Tensor
    m: tf.Tensor
    v: tf.Tensor
    t: tf.Tensor


class Problem(NamedTuple):
    """What one completion minimises, as tensors the fused step takes."""

    image: tf.Tensor            # y: (H, W, C) float32 in [-1, 1], the hole's values unused
    weights: tf.Tensor          # W: (H, W, 1) importance weights, 0 in the hole
    free: tf.Tensor             # (d,) 1 where z is searched, 0 on a conditioned model's class code
    lam: tf.Tensor              # () weight of the perceptual term
    lr: tf.Tensor               # () Adam's learning rate
    z_prior: tf.Tensor          # (d,) the encoder's guess z_E (zeros without one)
    anchor: tf.Tensor           # () mu, the weight of mean((z - z_E)^2); 0 = no prior term


class Losses(NamedTuple):
    """Per-candidate terms, (K,) each: total = contextual + lam * perceptual + prior."""

    total: tf.Tensor
    contextual: tf.Tensor
    perceptual: tf.Tensor       # log(1 - D(G(z))) (or -critic), never positive for BCE models
    prior: tf.Tensor            # mu * mean((z - z_E)^2): the pull toward the encoder's guess


class Evaluated(NamedTuple):
    """Candidates whose losses were computed: z (K, d), their `Losses`, and
    G(z) (K, H, W, C) in [-1, 1]."""

    z: tf.Tensor
    losses: Losses
    images: tf.Tensor


class Chunk(NamedTuple):
    """What one fused chunk of steps returns: the `SearchState` after it, the last z
    it stepped from (`Evaluated`), each candidate's lowest-loss z it evaluated
    (`lowest.Scored`), and the lowest total loss among those, a float32 scalar
    (+inf where every loss was NaN)."""

    state: SearchState
    last: Evaluated
    best: Scored
    lowest: tf.Tensor


def second_stage_steps(model, params):
    """The second stage's steps for these `CompletionParams`: the request's own, else
    the model's default (its manifest's `refine_steps`); 0 for a G that cannot be split
    for it (`model.split` is None, see `engine.refine`)."""
    if model.split is None:
        return 0
    return model.manifest.refine_steps if params.refine_steps is None else params.refine_steps


def estimate_seconds(model, params, cost):
    """The most seconds a completion with these `CompletionParams` takes on `model` at
    `cost` (a `schedule.SearchCost`): every step run (early stopping can end it sooner),
    fewer candidates after each halving, then the second stage. Needs only G (a
    catalog's model, `app.web.registry`, estimates as the server does)."""
    return cost.seconds(params.steps, params.restarts, params.min_candidates, second_stage_steps(model, params))


class Completer:
    """Runs completions on one model. Thread-safe; build once and reuse."""

    def __init__(self, model):
        self.model = model
        h, w, c = model.image_shape
        d = model.latent_dim
        f32, scalar = tf.float32, tf.TensorSpec([], tf.float32)
        candidates = tf.TensorSpec([None, d], f32)
        self._step = tf.function(self._run_steps, input_signature=[
            SearchState(candidates, candidates, candidates, scalar), tf.TensorSpec([], tf.int32),
            Problem(tf.TensorSpec([h, w, c], f32), tf.TensorSpec([h, w, 1], f32), tf.TensorSpec([d], f32),
                    scalar, scalar, tf.TensorSpec([d], f32), scalar)])
        self.refiner = Refiner(model) if model.split else None
        self.free = np.ones(d, np.float32)
        cond = model.conditioning
        if cond:
            self.free[cond["offset"]:cond["offset"] + cond["num_classes"]] = 0.0

    def problem(self, image, mask, params, guess=None):
        """The `Problem` for image (H, W, C) in [-1, 1], mask (H, W) 1 = known, checked
        params, and the encoder's guess (d,) or None (then there is no prior term)."""
        weights = importance_weights(mask, params.window, params.floor)[..., None]
        z_prior, mu = (guess, params.anchor) if guess is not None else (np.zeros(len(self.free), np.float32), 0.0)
        return Problem(tf.constant(image, tf.float32), tf.constant(weights, tf.float32), tf.constant(self.free),
                       tf.constant(float(params.lam)), tf.constant(float(params.lr)),
                       tf.constant(z_prior, tf.float32), tf.constant(float(mu)))

    def start_state(self, z):
        """The `SearchState` of candidates z (K, d) before any step."""
        z = tf.constant(z, tf.float32)
        return SearchState(z, tf.zeros_like(z), tf.zeros_like(z), tf.constant(0.0))

    # 1. The loss of every candidate, and the images it was computed on.
    def losses(self, z, problem):
        """z (K, d) -> (`Losses`, G(z) (K, H, W, C) in [-1, 1])."""
        images = self.model.generate(z)[0]
        contextual = tf.reduce_sum(tf.abs(problem.weights * (images - problem.image)), axis=[1, 2, 3])
        logit = self.model.discriminate(images)[1]
        if self.model.perceptual == "neg_critic":
            perceptual = -logit
        else:
            perceptual = -tf.nn.softplus(logit)   # log(1 - sigmoid(logit)), stable
        prior = problem.anchor * tf.reduce_mean(tf.square(z - problem.z_prior), axis=1)
        return Losses(contextual + problem.lam * perceptual + prior, contextual, perceptual, prior), images

    # 2. n Adam steps with projection onto [-1, 1]^d, fused: the last z stepped from, and each candidate's best.
    def step(self, state, n, problem):
        """(`SearchState`, steps n, `Problem`) -> `Chunk`: the engine's fused loop, public
        so that benchmarks time this very step.

        What is evaluated is the z the last step started from (for n = 0, state.z):
        its losses come from that step's own forward pass, so a report costs no extra
        pass through G and D; the z after the last step is evaluated by the next chunk.
        Each candidate's best z of the chunk is kept too, so that the result does not
        depend on when reports fall."""
        return Chunk(*self._step(state, tf.constant(n, tf.int32), problem))

    def _run_steps(self, state, n, problem):
        def body(i, z, m, v, t, seen, best):
            with tf.GradientTape() as tape:
                tape.watch(z)
                losses, images = self.losses(z, problem)
                # Candidates are independent, so the gradient of the sum is each one's own.
                objective = tf.reduce_sum(losses.total)
            g = tape.gradient(objective, z) * problem.free
            t = t + 1.0
            return (i + 1, *adam_step(z, g, m, v, t, problem.lr), t, Evaluated(z, losses, images),
                    lower(best, Scored(z, losses)))

        def unstepped():
            evaluated = Evaluated(state.z, *self.losses(state.z, problem))
            return evaluated, Scored(evaluated.z, evaluated.losses)

        k = tf.shape(state.z)[0]
        h, w, c = self.model.image_shape
        worst = tf.fill([k], np.inf)
        unscored = Losses(worst, worst, worst, worst)
        _, *after, seen, best = tf.while_loop(
            lambda i, *_: i < n, body,
            (tf.constant(0), *state, Evaluated(state.z, unscored, tf.zeros([k, h, w, c])), Scored(state.z, unscored)))
        seen, best = tf.cond(n > 0, lambda: (seen, best), unstepped)
        return SearchState(*after), seen, best, tf.reduce_min(finite(best.losses.total))

    def _blank(self):
        """A black (H, W, C) image and an (H, W) mask with its centre square unknown: the
        problem that start-up traces and times (its contents do not change a step's cost)."""
        h, w, c = self.model.image_shape
        mask = np.ones((h, w), np.float32)
        mask[h // 4:3 * h // 4, w // 4:3 * w // 4] = 0
        return np.zeros((h, w, c), np.float32), mask

    def calibrate(self, steps=20, few=2, many=16):
        """Time the fused step at `few` and `many` candidates (the plain search, on a
        blank image) and return the fitted `schedule.SearchCost`."""
        problem = self.problem(*self._blank(), CompletionParams().check())
        timings = []
        for k in (few, many):
            state = self.start_state(np.zeros((k, self.model.latent_dim), np.float32))
            float(self.step(state, 1, problem).lowest)   # warm this batch size
            started = time.perf_counter()
            float(self.step(state, steps, problem).lowest)
            timings.append((k, (time.perf_counter() - started) / steps))
        return SearchCost.fit(*timings)

    def warm_up(self):
        """Trace the fused step once, and the second stage where the model uses it by
        default, so that the first real job does not pay for it."""
        return drive(self.iterate(*self._blank(),
                                  CompletionParams(steps=2, restarts=1, seed=0, blend=False,
                                                   refine_steps=min(self.model.manifest.refine_steps, 1))))

    def encoder_guess(self, image, mask):
        """(d,) float32: the encoder's z for the image, or None for a model without one.

        image: (H, W, C) float32 in [-1, 1]; mask: (H, W), 1 = known."""
        if self.model.encode is None:
            return None
        z = self.model.encode(tf.constant(image[None], tf.float32),
                              tf.constant(mask[None, ..., None], tf.float32))[0]
        return z.numpy()[0]

    def initial_latents(self, restarts, seed, guess=None, share=0.5, perturbation=0.3, target_class=None):
        """(K, d) float32 starting points, and whether candidate 0 is the encoder's guess.

        With a guess, the first round(share * K) candidates (at least one) start from
        it: the first exactly, the others plus N(0, perturbation^2) noise, clipped to
        [-1, 1]. The rest are z ~ U(-1, 1). Class codes of conditioned models are
        `target_class` for every candidate if given; else they are cycled over the
        random candidates (the guess takes fewer candidates where needed, so that with
        more than K candidates every class has one) and taken from the guess for the others.
        """
        rng = np.random.default_rng(seed)
        manifest = self.model.manifest
        z = rng.uniform(-1.0, 1.0, (restarts, self.model.latent_dim)).astype(np.float32)
        from_guess = 0
        if guess is not None and share > 0:
            from_guess = min(restarts, max(1, int(round(share * restarts))))
            if manifest.conditioning and target_class is None:
                # leave every class a random candidate where there are enough candidates
                from_guess = min(from_guess, max(1, restarts - manifest.num_classes))
            noise = rng.normal(0.0, perturbation, (from_guess, z.shape[1])).astype(np.float32)
            noise[0] = 0.0
            z[:from_guess] = np.clip(guess[None] + noise, -1.0, 1.0)
            if manifest.conditioning:
                manifest.set_classes(z[:from_guess], manifest.class_of(guess[None])[0] if target_class is None
                                     else target_class)
        # classes: cycled from 0 over the random candidates (after the guess's), or the target
        manifest.set_classes(z[from_guess:], np.arange(restarts - from_guess) if target_class is None
                             else target_class)
        return z, from_guess > 0

    def iterate(self, image, mask, params=None, stop=None):
        """A generator: it yields a `Progress` about every `report_seconds` (the first
        at step 0, showing the encoder's guess where the model has one) and returns
        the `Result`; run it with `drive` (or `complete`).

        image: (H, W, C) float32 in [-1, 1]; mask: (H, W), 1 = known. stop() is asked
        after each report; once true, the search ends there and returns the best
        state so far with `cancelled=True`. Closing the generator abandons it.

        A report shows the z its chunk's last step started from, so its step is one
        fewer than the steps run; `Result.steps` counts the steps run. A search that
        runs all its steps evaluates the last z too. The result is the lowest-loss z
        the search evaluated (up to where it stopped), whatever the report times were,
        so the same seed gives the same result.
        """
        params = (params or CompletionParams()).check()
        image, mask = check_inputs(image, mask, self.model.image_shape)
        t0 = time.perf_counter()
        use_guess = params.encoder_share > 0 or params.anchor > 0
        guess = self.encoder_guess(image, mask) if use_guess else None
        if params.target_class is not None and not params.target_class < self.model.manifest.num_classes:
            raise ValueError(f"model {self.model.name} has {self.model.manifest.num_classes} classes; "
                             f"it cannot complete as class {params.target_class}")
        z, guessed = self.initial_latents(params.restarts, params.seed, guess, params.encoder_share,
                                          params.perturbation, params.target_class)
        problem, state = self.problem(image, mask, params, guess), self.start_state(z)
        halve_at = halving_steps(params.steps, params.restarts, params.min_candidates)
        stopper = EarlyStopper(params.patience, params.tolerance) if params.early_stop else None
        chunks, kept = Chunker(params.report_seconds), Lowest()
        step, n, shown = 0, 0, None
        early = cancelled = False
        pool = []   # (total loss, G(z), z) of each candidate as it leaves the search: the alternatives
        while True:
            started = time.perf_counter()
            chunk = self.step(state, n, problem)
            state, seen = chunk.state, chunk.last
            step += n
            kept.offer(chunk.best, float(chunk.lowest))
            if step >= params.steps:
                if n == 0:
                    break
                n = 0   # evaluate the z of the last step too: one forward pass, no step
                continue
            if stopper and stopper.checks_at(step) and stopper.update(step, kept.total):
                early = True
                break
            # What a chunk evaluates is the z its last step started from (one step
            # behind), so its report says step - 1. A first chunk of one step evaluates
            # the starting z again: not a new report.
            at = step - 1 if n else step
            now = time.perf_counter()
            if at != shown and chunks.report_due(now):
                shown = at
                chunks.reported(now)
                # The first report shows the encoder's guess as it is, so a plausible
                # fill appears at once; later ones the best candidate.
                yield outcome.progress(at, params.steps, seen, image, mask, show_first=step == 0 and guessed)
                if stop and stop():
                    cancelled = True
                    break
            due = sum(1 for at_step in halve_at if at_step <= step)   # a short search can halve twice at one step
            if due:
                del halve_at[:due]
                state = self._halve(state, seen, pool, due)
            boundaries = halve_at[:1] + ([stopper.next_check(step)] if stopper else [])
            n = chunks.next(n, time.perf_counter() - started, params.steps - step,
                            min(boundaries) - step if boundaries else None)
        pool += alternatives.leaving(seen.losses.total.numpy(), seen.images, seen.z)
        best = kept.scored
        final = outcome.progress(step, params.steps, Evaluated(*best, self.model.generate(best.z)[0]), image, mask)
        others = [] if cancelled else alternatives.choose(pool, (final.fill, final.z), image, mask, params.blend)
        refine = second_stage_steps(self.model, params)
        if refine and not cancelled:
            final = final.with_fill(self.refiner.refine(final.z, image, problem.weights, refine, params.refine_lr),
                                    image, mask)
        return outcome.result(final, mask, params.blend, t0, steps=step, cancelled=cancelled, early_stopped=early,
                              alternatives=others)

    @staticmethod
    def _halve(state, seen, pool, times):
        """Successive halving, `times` rounds at once: all but the best
        K // 2**times candidates (at least one), by their evaluated losses, leave the
        search (into `pool`, where the alternatives come from); returns the
        survivors' state."""
        total = seen.losses.total.numpy()
        chosen = survivors(total, len(total) // 2 ** times)
        pool += alternatives.leaving(total, seen.images, seen.z, staying=chosen)
        keep = tf.constant(chosen)
        return SearchState(tf.gather(state.z, keep), tf.gather(state.m, keep), tf.gather(state.v, keep), state.t)

    def complete(self, image, mask, params=None, on_progress=None, cancelled=None):
        """Run to the end and return the `Result`.

        on_progress(Progress) is called per report; if cancelled() turns true the
        search stops at the next report and the best completion so far is returned
        with `cancelled=True`.
        """
        return drive(self.iterate(image, mask, params, stop=cancelled), on_progress)

