import pytest

from app.web import create_app, socketio
from app.web.config import TestConfig
from app.web.registry import Registry


@pytest.fixture(scope="session")
def tiny_registry(tiny_models):
    """The tiny models loaded and warmed once, for every app that only reads them."""
    return Registry(tiny_models[0], warm_up=True)


@pytest.fixture
def make_app(tiny_models, tiny_registry):
    """create_app(TestConfig) on the tiny models, with config overrides; workers stop afterwards."""
    apps = []

    def make(**overrides):
        own_models = "MODELS_DIR" in overrides or "WARM_UP" in overrides
        app = create_app({k: v for k, v in vars(TestConfig).items() if k.isupper()}
                         | {"MODELS_DIR": tiny_models[0], **overrides},
                         registry=None if own_models else tiny_registry)
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
