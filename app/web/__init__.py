"""The web app: `create_app` wires HTTP routes and socket events to the engine.

The Socket.IO extension is created unbound here and attached in `create_app`,
as in Flask's own examples.
"""
import logging

from flask import Flask
from flask_socketio import SocketIO

from app.web.config import Config

socketio = SocketIO()


def create_app(config=None):
    """Build the app. `config` is a Config subclass or a dict of overrides."""
    app = Flask(__name__, template_folder="../../templates", static_folder="../../static")
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    # Handlers must be registered before init_app so that every app built gets them.
    from app.web import events  # noqa: F401
    from app.web.jobs import JobManager
    from app.web.registry import Registry

    registry = Registry(app.config["MODELS_DIR"], warm_up=app.config["WARM_UP"])
    socketio.init_app(app, async_mode=app.config["ASYNC_MODE"],
                      cors_allowed_origins=app.config["CORS_ORIGINS"],
                      max_http_buffer_size=app.config["MAX_CONTENT_LENGTH"])
    jobs = JobManager(socketio, registry, workers=app.config["WORKERS"], max_queue=app.config["MAX_QUEUE"],
                      time_limit=app.config["JOB_TIME_LIMIT"], async_mode=app.config["ASYNC_MODE"])
    app.extensions["regen"] = {"registry": registry, "jobs": jobs}

    from app.web.routes import bp
    app.register_blueprint(bp)
    return app
