"""The kinds of job the server runs, one table: a completion, the Lab's dream and
style transfer, and the latent lab's morph and projection. Each kind names the socket event that asks for it, how to
check that event's payload, what a job of it costs, how to start its search,
what a progress report and the final `done` carry. The job manager runs any
kind the same way (queue, one job per client, cancel, time limit), and adding
a kind is one entry here.
"""
import dataclasses

import numpy as np

from app.engine import baselines, imageio, latent
from app.engine.imageio import to_float
from app.web import latent_requests, validation
from app.web.protocol import EVENTS


@dataclasses.dataclass(frozen=True)
class Task:
    event: str         # the client event that asks for it
    parse: object      # (payload, registry, max_bytes, max_pixels) -> request (raises RequestError)
    cost: object       # (request, registry) -> estimated seconds
    start: object      # (request, registry, stop) -> generator of reports, returning its result
    report: object     # report -> {step, steps, losses, image: (H, W, C) uint8}
    finish: object     # (request, result, registry) -> the done payload's own keys (blocking work)
    title: str = "job"                 # what the user calls a job of this kind, in messages
    cheaper: str = "use fewer steps"   # how to make it cost less, for `too_costly`


# -- complete ---------------------------------------------------------------------


def _complete_cost(req, registry):
    """Every step at the model's measured cost (fewer candidates after each halving),
    then the second stage's steps."""
    return registry.entries[req.model].complete_seconds(req.params)


def _complete_start(req, registry, stop):
    return registry.entries[req.model].completer.iterate(to_float(req.image), req.mask, req.params, stop=stop)


def _complete_report(progress):
    return {"step": progress.step, "steps": progress.steps, "losses": progress.best_losses(),
            "image": progress.image}


def _complete_finish(req, result, registry):
    """The completion, its Telea baseline and runner-ups, its z (to morph from) and, for a
    conditioned model, the class it was completed as."""
    baseline = baselines.inpaint(req.image, req.mask, "telea")
    manifest = registry.entries[req.model].model.manifest
    won = manifest.class_of(result.z[None])
    return {"image": imageio.encode_png(result.image), "baseline": imageio.encode_png(baseline),
            "alternatives": [{"image": imageio.encode_png(img), "loss": round(loss, 4)}
                             for img, loss in result.alternatives],
            "losses": result.losses, "steps": result.steps, "stopped_early": result.early_stopped,
            "z": [round(float(v), 6) for v in result.z], "class": None if won is None else int(won[0])}


# -- the Lab ------------------------------------------------------------------------


def _frame_report(frame):
    return {"step": frame.step, "steps": frame.steps, "losses": frame.losses, "image": frame.image}


def _outcome_finish(req, outcome, registry):
    return {"image": imageio.encode_png(outcome.image), "losses": outcome.losses, "steps": outcome.steps}


def _dream_cost(req, registry):
    h, w = req.image.shape[:2]
    return registry.lab(req.features).dreamer.estimate_seconds(h, w, req.params)


def _dream_start(req, registry, stop):
    # every step's frame: a dream has tens of steps, and each is worth seeing
    return registry.lab(req.features).dreamer.iterate(to_float(req.image), req.params, stop=stop, report_every=0)


def _style_cost(req, registry):
    h, w = req.content.shape[:2]
    return registry.lab(req.features).stylist.estimate_seconds(h, w, req.params)


def _style_start(req, registry, stop):
    return registry.lab(req.features).stylist.iterate(to_float(req.content), to_float(req.style), req.params,
                                                      stop=stop)


def _morph_cost(req, registry):
    return req.frames * 0.02       # one G forward and a PNG per frame: tens of ms at most


def _morph_start(req, registry, stop):
    return latent.morph(registry.entries[req.model].model, req.z_a, req.z_b, req.frames, stop=stop)


def _morph_finish(req, outcome, registry):
    """The last frame, and every frame again as a looping GIF."""
    scale = max(1, 128 // registry.entries[req.model].model.image_shape[0])   # the page shows it larger still
    return {"image": imageio.encode_png(outcome.image), "gif": latent.write_gif(np.stack(outcome.frames), scale=scale),
            "frames": req.frames, "steps": outcome.steps, "losses": {}}


def _project_cost(req, registry):
    return registry.entries[req.model].cost.seconds(req.steps, req.restarts)


def _project_start(req, registry, stop):
    return registry.entries[req.model].projector.iterate(to_float(req.image), req.steps, req.restarts, stop=stop)


def _project_finish(req, outcome, registry):
    return {"image": imageio.encode_png(outcome.image), "z": [round(float(v), 6) for v in np.asarray(outcome.z)],
            "losses": outcome.losses, "steps": outcome.steps}


TASKS = {
    "complete": Task(EVENTS["COMPLETE"], validation.parse_complete, _complete_cost, _complete_start,
                     _complete_report, _complete_finish, title="completion", cheaper="use fewer steps or restarts"),
    "dream": Task(EVENTS["DREAM"], validation.parse_dream, _dream_cost, _dream_start,
                  _frame_report, _outcome_finish, title="dream", cheaper="use fewer steps or octaves, or a smaller image"),
    "style": Task(EVENTS["STYLE"], validation.parse_style, _style_cost, _style_start,
                  _frame_report, _outcome_finish, title="style transfer", cheaper="use fewer steps or a smaller size"),
    "morph": Task(EVENTS["MORPH"], latent_requests.parse_morph, _morph_cost, _morph_start,
                  _frame_report, _morph_finish, title="morph", cheaper="use fewer frames"),
    "project": Task(EVENTS["PROJECT"], latent_requests.parse_project, _project_cost, _project_start,
                    _frame_report, _project_finish, title="projection", cheaper="use fewer steps or restarts"),
}
