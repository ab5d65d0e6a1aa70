"""Server settings, read from the environment with safe defaults.

Every setting is documented in the README's "Configuration" table.
"""
import os
import secrets


def _env_list(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return [v.strip() for v in value.split(",") if v.strip()]


class Config:
    # Random per start unless set: sessions then do not survive a restart, which is fine here.
    SECRET_KEY = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
    MODELS_DIR = os.environ.get("REGEN_MODELS", os.path.join(os.path.dirname(__file__), "..", "..", "models"))
    ASYNC_MODE = os.environ.get("ASYNC_MODE", "eventlet")          # eventlet | threading
    WORKERS = int(os.environ.get("REGEN_WORKERS", "1"))             # concurrent completions
    MAX_QUEUE = int(os.environ.get("REGEN_MAX_QUEUE", "8"))         # waiting jobs before "busy"
    JOB_TIME_LIMIT = float(os.environ.get("REGEN_JOB_TIME_LIMIT", "120"))  # seconds per job
    MAX_IMAGE_BYTES = int(os.environ.get("REGEN_MAX_IMAGE_BYTES", str(10 * 1024 * 1024)))
    MAX_IMAGE_PIXELS = int(os.environ.get("REGEN_MAX_IMAGE_PIXELS", str(40_000_000)))
    MAX_CONTENT_LENGTH = MAX_IMAGE_BYTES + 1024 * 1024              # HTTP uploads
    CORS_ORIGINS = _env_list("CORS_ORIGINS", None)                  # None = same origin only
    WARM_UP = os.environ.get("REGEN_WARM_UP", "1") != "0"           # trace every model at start
    TESTING = False


class TestConfig(Config):
    TESTING = True
    ASYNC_MODE = "threading"
    SECRET_KEY = "test"
    JOB_TIME_LIMIT = 30.0
