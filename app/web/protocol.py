"""The Socket.IO protocol, defined once. `static/js/protocol.js` mirrors it and a
test checks that the two agree.

client -> server
  complete  {model, sample | image, mask, params?}
            -> acknowledged with {job, position} when queued, or {job, error: {code, message}}
            when refused (the same error also arrives as an `error` event with that job id)
            sample: a sample id of the model; image: PNG/JPEG/WebP bytes at the
            model's size; mask: PNG bytes of the image's size, white = hole;
            params: {steps, restarts, lambda, lr, blend, seed, fast, class}, all optional;
            fast (default true): start from the model's encoder with its anchor, halve
            the candidates, stop early and run the model's second stage; false searches
            every step from random z; class (a conditioned model): a class number, or
            left out to try every class
  dream     {features, layer, source, params?}   (the Lab's DeepDream)
            features: "random" or "d:MODEL" (GET /api/features lists them and their layers);
            source: {model, sample} or {image: PNG/JPEG/WebP bytes, longest side <= lab_side};
            params: {channels: [int], steps, step_size, octaves, octave_scale, seed}, all optional
  style     {features, content, style, params?}  (the Lab's style transfer)
            content, style: sources as for dream;
            params: {steps, size, content_weight, style_weight, histogram_weight, smoothness_weight}
            dream and style are acknowledged, queued, cancelled and limited like complete:
            one job per client, whatever its kind
  morph     {model, a, b, frames?}       (the Lab's latent morph, a job like complete)
            a, b: {z: [d floats in [-1, 1]]}; frames: 2 to LIMITS["frames"]
            done carries gif: the frames as a looping GIF, and frames: their count
  project   {model, image}                (an uploaded picture onto G's latent space, a job)
            done carries z: the latent vector whose G(z) is nearest the picture
  samples   {model, seed, count?, class?} -> acknowledged with {samples: [{z}], images, sizes}
            (instant, not a job: one batch of G; seeded, so the same seed, the same samples);
            images: the samples' PNGs end to end in one binary, sizes: the byte count of each
            (Socket.IO's JS parser takes at most 10 binary attachments per packet)
  generate  {model, z, class?, codes?}   -> acknowledged with {z, image}: G(z) with the class
            (ACGAN/InfoGAN) and the continuous codes (InfoGAN) set; for live sliders
  arithmetic {model, a, b, c, seed?, variations?, pool?} -> acknowledged with
            {image, variations: [image], nearest: [index]}: G(mean a - mean b + mean c);
            a, b, c: lists of z; nearest: the pool's samples ({seed, count}) nearest the result
            instant requests answer {error: {code, message}} when refused
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
            a dream's or style's done is {job, image, losses, seconds, steps}, and its
            progress losses are {activation} (dream) or STYLE_LOSS_KEYS (style)
  error     {job?, code, message}
"""

EVENTS = {
    "COMPLETE": "complete",
    "DREAM": "dream",
    "STYLE": "style",
    "MORPH": "morph",
    "PROJECT": "project",
    "SAMPLES": "samples",
    "GENERATE": "generate",
    "ARITHMETIC": "arithmetic",
    "CANCEL": "cancel",
    "PING": "ping",
    "QUEUED": "queued",
    "PROGRESS": "progress",
    "DONE": "done",
    "ERROR": "error",
}

COMPLETE_KEYS = ("model", "sample", "image", "mask", "params")
PARAM_KEYS = ("steps", "restarts", "lambda", "lr", "blend", "seed", "fast", "class")
CANCEL_KEYS = ("job",)
LOSS_KEYS = ("contextual", "perceptual", "anchor", "total")
SOURCE_KEYS = ("model", "sample", "image")
DREAM_KEYS = ("features", "layer", "source", "params")
DREAM_PARAM_KEYS = ("channels", "steps", "step_size", "octaves", "octave_scale", "seed")
DREAM_LOSS_KEYS = ("activation",)
STYLE_KEYS = ("features", "content", "style", "params")
STYLE_PARAM_KEYS = ("steps", "size", "content_weight", "style_weight", "histogram_weight", "smoothness_weight")
STYLE_LOSS_KEYS = ("content", "style", "histogram", "smoothness", "total")
MORPH_KEYS = ("model", "a", "b", "frames")
PROJECT_KEYS = ("model", "image")
SAMPLES_KEYS = ("model", "seed", "count", "class")
GENERATE_KEYS = ("model", "z", "class", "codes")
ARITHMETIC_KEYS = ("model", "a", "b", "c", "seed", "variations", "pool")

ERROR_CODES = {
    "BAD_REQUEST": "bad_request",      # malformed payload, unknown key, value out of range
    "UNKNOWN_MODEL": "unknown_model",
    "UNKNOWN_SAMPLE": "unknown_sample",
    "BAD_IMAGE": "bad_image",          # not an image, wrong format or size, corrupt
    "BUSY": "busy",                    # the queue is full; try again later
    "TOO_COSTLY": "too_costly",        # the job's estimated seconds would run past the per-job cost ceiling
    "RATE_LIMITED": "rate_limited",    # too many completes from one address in the window
    "CLIENT_LIMIT": "client_limit",    # too many jobs or connections from one address
    "CANCELLED": "cancelled",          # stopped by the user, a newer job or a disconnect
    "TIMEOUT": "timeout",              # the job ran past the time limit
    "INTERNAL": "internal",            # a server fault; details are in the server log
    "UNAVAILABLE": "unavailable",      # distributed mode: the shared job queue (Redis) cannot be reached
    "WORKER_LOST": "worker_lost",      # distributed mode: the worker running the job died (killed, out of memory)
}

# Limits on the job payloads (complete, dream, style): enforced by validation.py, put on the page's fields
# by the template, and mirrored in protocol.js (a test checks all three).
LIMITS = {
    "seed": (0, 2 ** 32 - 1),
    "steps": (1, 5000),
    "restarts": (1, 128),
    "lambda": (0.0, 10.0),
    "lr": (1e-6, 10.0),
    "name_length": 64,
    "aspect": 20,        # longest side / shortest side of an uploaded photo
    # the Lab (dream, style)
    "lab_side": 512,     # longest side of an image sent to dream or style
    "lab_min_side": 16,  # its shortest side (the smallest D reads 9x9 at once)
    "lab_aspect": 4,     # its longest side / shortest side
    "dream_steps": (1, 100),      # per octave
    "step_size": (0.001, 0.2),
    "octaves": (1, 6),
    "octave_scale": (1.1, 2.0),
    "channels": 16,      # channels of a layer picked at most
    "style_steps": (1, 1000),
    "style_size": (64, 256),
    "weight": (0.0, 1000.0),
    # the latent lab
    "frames": (2, 120),
    "count": (1, 64),
    "group": 16,         # z vectors in one arithmetic group at most
    "variations": (0, 8),
}
