// The Socket.IO protocol, mirrored from app/web/protocol.py (a test checks they agree).
export const EVENTS = {
  COMPLETE: "complete",
  DREAM: "dream",
  STYLE: "style",
  MORPH: "morph",
  PROJECT: "project",
  SAMPLES: "samples",
  GENERATE: "generate",
  ARITHMETIC: "arithmetic",
  CANCEL: "cancel",
  PING: "ping",
  QUEUED: "queued",
  PROGRESS: "progress",
  DONE: "done",
  ERROR: "error",
};

export const COMPLETE_KEYS = ["model", "sample", "image", "mask", "params"];
export const PARAM_KEYS = ["steps", "restarts", "lambda", "lr", "blend", "seed", "fast", "class"];
export const CANCEL_KEYS = ["job"];
export const LOSS_KEYS = ["contextual", "perceptual", "anchor", "total"];
export const SOURCE_KEYS = ["model", "sample", "image"];
export const DREAM_KEYS = ["features", "layer", "source", "params"];
export const DREAM_PARAM_KEYS = ["channels", "steps", "step_size", "octaves", "octave_scale", "seed"];
export const DREAM_LOSS_KEYS = ["activation"];
export const STYLE_KEYS = ["features", "content", "style", "params"];
export const STYLE_PARAM_KEYS = ["steps", "size", "content_weight", "style_weight", "histogram_weight", "smoothness_weight"];
export const STYLE_LOSS_KEYS = ["content", "style", "histogram", "smoothness", "total"];
export const MORPH_KEYS = ["model", "a", "b", "frames"];
export const PROJECT_KEYS = ["model", "image"];
export const SAMPLES_KEYS = ["model", "seed", "count", "class"];
export const GENERATE_KEYS = ["model", "z", "class", "codes"];
export const ARITHMETIC_KEYS = ["model", "a", "b", "c", "seed", "variations", "pool"];

export const LIMITS = {
  seed: [0, 4294967295],
  steps: [1, 5000],
  restarts: [1, 128],
  lambda: [0.0, 10.0],
  lr: [1e-6, 10.0],
  name_length: 64,
  aspect: 20,
  lab_side: 512,
  lab_min_side: 16,
  lab_aspect: 4,
  dream_steps: [1, 100],
  step_size: [0.001, 0.2],
  octaves: [1, 6],
  octave_scale: [1.1, 2.0],
  channels: 16,
  style_steps: [1, 1000],
  style_size: [64, 256],
  weight: [0.0, 1000.0],
  frames: [2, 120],
  count: [1, 64],
  group: 16,
  variations: [0, 8],
};

export const ERROR_CODES = {
  BAD_REQUEST: "bad_request",
  UNKNOWN_MODEL: "unknown_model",
  UNKNOWN_SAMPLE: "unknown_sample",
  BAD_IMAGE: "bad_image",
  BUSY: "busy",
  TOO_COSTLY: "too_costly",
  RATE_LIMITED: "rate_limited",
  CLIENT_LIMIT: "client_limit",
  CANCELLED: "cancelled",
  TIMEOUT: "timeout",
  INTERNAL: "internal",
  UNAVAILABLE: "unavailable",
  WORKER_LOST: "worker_lost",
};
