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


def _env_rate(name, default):
    """ "N/SECONDS" -> (N, SECONDS)."""
    count, _, seconds = os.environ.get(name, default).partition("/")
    return int(count), float(seconds or 60)


HOST = os.environ.get("HOST", "127.0.0.1")


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
    MAX_IMAGE_SIDE = int(os.environ.get("REGEN_MAX_IMAGE_SIDE", "12000"))  # longest side of an upload, px
    MAX_CONTENT_LENGTH = MAX_IMAGE_BYTES + 1024 * 1024              # HTTP uploads
    # The socket only carries model-size images (28x28, 64x64) and masks: its own, small limit,
    # since eventlet unmasks websocket frames in pure Python and one big frame stalls the loop.
    MAX_SOCKET_BYTES = int(os.environ.get("REGEN_MAX_SOCKET_BYTES", str(256 * 1024)))
    CORS_ORIGINS = _env_list("CORS_ORIGINS", None)                  # None = same origin only
    # Host headers served (DNS rebinding): the bound address, localhost and 127.0.0.1 unless set.
    ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", sorted({HOST, "localhost", "127.0.0.1", "[::1]"}))
    # Fairness: a job's cost is its estimated seconds (a completion: its steps at the model's measured
    # search cost, halvings and second stage counted); one job may cost at most MAX_JOB_SECONDS, the queue MAX_QUEUE_SECONDS.
    MAX_JOB_SECONDS = float(os.environ.get("REGEN_MAX_JOB_SECONDS", "120"))   # = the time limit
    MAX_QUEUE_SECONDS = float(os.environ.get("REGEN_MAX_QUEUE_SECONDS", "300"))
    MAX_CONNECTIONS_PER_ADDRESS = int(os.environ.get("REGEN_MAX_CONNECTIONS_PER_ADDRESS", "32"))
    MAX_JOBS_PER_ADDRESS = int(os.environ.get("REGEN_MAX_JOBS_PER_ADDRESS", "4"))   # waiting or running
    COMPLETE_RATE = _env_rate("REGEN_COMPLETE_RATE", "30/60")       # jobs (complete, dream, ...) per address per window
    INSTANT_RATE = _env_rate("REGEN_INSTANT_RATE", "3000/60")       # images that samples/generate/arithmetic draw, per address per window
    WARM_UP = os.environ.get("REGEN_WARM_UP", "1") != "0"           # trace every model at start
    # Distributed mode: redis://HOST:PORT/DB of the shared job queue and message queue; jobs then
    # run in `python -m app.worker` processes. Unset: everything runs in this process.
    BROKER = os.environ.get("REGEN_BROKER") or None
    # Behind a reverse proxy (deploy/nginx.conf): how many proxies' X-Forwarded-For to trust, so
    # that the per-address limits see each user's address rather than the proxy's. 0 = none.
    PROXY_HOPS = int(os.environ.get("REGEN_PROXY_HOPS", "0"))
    TESTING = False


class TestConfig(Config):
    TESTING = True
    ASYNC_MODE = "threading"
    SECRET_KEY = "test"
    JOB_TIME_LIMIT = 30.0
    COMPLETE_RATE = (100000, 60.0)   # tests send many completes from one address; the rate test sets its own
