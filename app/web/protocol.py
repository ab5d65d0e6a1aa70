"""The Socket.IO protocol, defined once. `static/js/protocol.js` mirrors it and a
test checks that the two agree.

client -> server
  complete  {model, sample | image, mask, params?}
            -> acknowledged with {job, position} when queued, or {job, error: {code, message}}
            when refused (the same error also arrives as an `error` event with that job id)
            sample: a sample id of the model; image: PNG/JPEG/WebP bytes at the
            model's size; mask: PNG bytes of the image's size, white = hole;
            params: {steps, restarts, lambda, lr, blend, seed, fast}, all optional;
            fast (default true): start from the model's encoder, halve the
            candidates and stop early; false searches every step from random z
  cancel    {} or {job}
  ping      {} -> acknowledged with {time}: lets a client measure round trips
server -> client
  queued    {job, position}            position = jobs ahead of it, running ones included
  progress  {job, step, steps, losses: {contextual, perceptual, anchor, total}, image}
            total = contextual + lambda * perceptual + anchor (the pull toward the encoder's guess)
            the first, at step 0, shows the encoder's guess where the model has one
  done      {job, image, baseline, alternatives, losses, seconds, steps, stopped_early}
            baseline: OpenCV Telea's fill of the same hole, for comparison;
            alternatives: [{image, loss}], up to 4 distinct runner-up completions, best first
  error     {job?, code, message}
"""

EVENTS = {
    "COMPLETE": "complete",
    "CANCEL": "cancel",
    "PING": "ping",
    "QUEUED": "queued",
    "PROGRESS": "progress",
    "DONE": "done",
    "ERROR": "error",
}

COMPLETE_KEYS = ("model", "sample", "image", "mask", "params")
PARAM_KEYS = ("steps", "restarts", "lambda", "lr", "blend", "seed", "fast")
CANCEL_KEYS = ("job",)
LOSS_KEYS = ("contextual", "perceptual", "anchor", "total")

ERROR_CODES = {
    "BAD_REQUEST": "bad_request",      # malformed payload, unknown key, value out of range
    "UNKNOWN_MODEL": "unknown_model",
    "UNKNOWN_SAMPLE": "unknown_sample",
    "BAD_IMAGE": "bad_image",          # not an image, wrong format or size, corrupt
    "BUSY": "busy",                    # the queue is full; try again later
    "TOO_COSTLY": "too_costly",        # steps x restarts would run past the per-job cost ceiling
    "RATE_LIMITED": "rate_limited",    # too many completes from one address in the window
    "CLIENT_LIMIT": "client_limit",    # too many jobs or connections from one address
    "CANCELLED": "cancelled",          # stopped by the user, a newer job or a disconnect
    "TIMEOUT": "timeout",              # the job ran past the time limit
    "INTERNAL": "internal",            # a server fault; details are in the server log
}

# Limits on the `complete` payload: enforced by validation.py, put on the page's fields
# by the template, and mirrored in protocol.js (a test checks all three).
LIMITS = {
    "seed": (0, 2 ** 32 - 1),
    "steps": (1, 5000),
    "restarts": (1, 128),
    "lambda": (0.0, 10.0),
    "lr": (1e-6, 10.0),
    "name_length": 64,
    "aspect": 20,        # longest side / shortest side of an uploaded photo
}
