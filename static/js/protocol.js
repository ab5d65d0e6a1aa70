// The Socket.IO protocol, mirrored from app/web/protocol.py (a test checks they agree).
export const EVENTS = {
  COMPLETE: "complete",
  CANCEL: "cancel",
  PING: "ping",
  QUEUED: "queued",
  PROGRESS: "progress",
  DONE: "done",
  ERROR: "error",
};

export const COMPLETE_KEYS = ["model", "sample", "image", "mask", "params"];
export const PARAM_KEYS = ["steps", "restarts", "lambda", "lr", "blend", "seed", "fast"];
export const CANCEL_KEYS = ["job"];
export const LOSS_KEYS = ["contextual", "perceptual", "anchor", "total"];

export const LIMITS = {
  seed: [0, 4294967295],
  steps: [1, 5000],
  restarts: [1, 128],
  lambda: [0.0, 10.0],
  lr: [1e-6, 10.0],
  name_length: 64,
  aspect: 20,
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
};
