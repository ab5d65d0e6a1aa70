"""The web app: `create_app` wires HTTP routes and socket events to the engine.

The Socket.IO extension is created unbound here and attached in `create_app`,
as in Flask's own examples.
"""
import logging

from flask import Flask
from flask_socketio import SocketIO

from app.web.config import Config

socketio = SocketIO()


def create_app(config=None, registry=None):
    """Build the app. `config` is a Config subclass or a dict of overrides; `registry`
    an already loaded `Registry` of MODELS_DIR to serve (tests share one), or None to
    load and warm the models here."""
    app = Flask(__name__, template_folder="../../templates", static_folder="../../static")
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_third_party_logs()

    # Handlers must be registered before init_app so that every app built gets them.
    from app.web import events  # noqa: F401
    from app.web.jobs import JobManager
    from app.web.registry import Registry
    from app.web.security import HostGuard, guard_packets, install_http_hooks

    cfg = app.config
    # with a broker the jobs run on workers: this process only lists the models
    registry = registry or Registry(cfg["MODELS_DIR"], warm_up=cfg["WARM_UP"], engines=not cfg["BROKER"])
    # with a broker, workers in other processes emit to this process's clients through Redis;
    # client_manager is always passed, so an app never inherits another app's manager
    manager = None
    if cfg["BROKER"]:
        from app.web.broker import message_queue
        manager = message_queue(cfg["BROKER"])
    socketio.init_app(app, async_mode=cfg["ASYNC_MODE"], cors_allowed_origins=cfg["CORS_ORIGINS"],
                      max_http_buffer_size=cfg["MAX_SOCKET_BYTES"], client_manager=manager)
    guard_packets(socketio)
    limits = dict(max_queue=cfg["MAX_QUEUE"], time_limit=cfg["JOB_TIME_LIMIT"], async_mode=cfg["ASYNC_MODE"],
                  max_job_seconds=cfg["MAX_JOB_SECONDS"], max_queue_seconds=cfg["MAX_QUEUE_SECONDS"],
                  max_jobs_per_address=cfg["MAX_JOBS_PER_ADDRESS"],
                  max_connections_per_address=cfg["MAX_CONNECTIONS_PER_ADDRESS"],
                  complete_rate=cfg["COMPLETE_RATE"], instant_rate=cfg["INSTANT_RATE"])
    if cfg["BROKER"]:
        from app.web.remote_jobs import RemoteJobManager
        jobs = RemoteJobManager(socketio, registry, cfg["BROKER"], **limits)
    else:
        jobs = JobManager(socketio, registry, workers=cfg["WORKERS"], **limits)
    app.extensions["regen"] = {"registry": registry, "jobs": jobs}
    if registry.warm_up and not cfg["TESTING"]:
        socketio.start_background_task(jobs.blocking, registry.calibrate_labs)

    from app.web.routes import bp
    app.register_blueprint(bp)
    install_http_hooks(app)
    if cfg["PROXY_HOPS"]:   # outside Socket.IO's middleware, so sockets see the user's address too
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=cfg["PROXY_HOPS"])
    # in front of Socket.IO's middleware too, so sockets are held to the same hosts
    app.wsgi_app = HostGuard(app.wsgi_app, cfg["ALLOWED_HOSTS"])
    return app


def quiet_third_party_logs():
    """At the default level the log is Regen's own: one line per job or refusal."""
    for name in ("engineio.server", "socketio.server", "werkzeug"):
        logging.getLogger(name).setLevel(logging.WARNING)
