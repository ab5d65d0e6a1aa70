import pytest

from app.web import create_app, socketio
from app.web.config import TestConfig


@pytest.fixture
def make_app(tiny_models):
    """create_app(TestConfig) on the tiny models, with config overrides; workers stop afterwards."""
    apps = []

    def make(**overrides):
        app = create_app({k: v for k, v in vars(TestConfig).items() if k.isupper()}
                         | {"MODELS_DIR": tiny_models[0], **overrides})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["regen"]["jobs"].stop()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def sio(app, client):
    sio = socketio.test_client(app, flask_test_client=client)
    yield sio
    if sio.is_connected():
        sio.disconnect()
