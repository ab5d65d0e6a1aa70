"""Serve Regen: `python wsgi.py` (HOST, default 127.0.0.1; PORT, default 5000).

In eventlet mode (the default) the standard library is monkey-patched before
anything else is imported, as eventlet requires.
"""
import os

import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")   # TF's notes (remapper, oneDNN) off by default
if os.environ.get("ASYNC_MODE", "eventlet") == "eventlet":
    # eventlet is in bugfix-only mode and says so at every start; ASYNC_MODE=threading is the way out
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet
    eventlet.monkey_patch()


def import_tensorflow_quietly():
    """TensorFlow's C++ core prints notes (oneDNN is on, ...) to fd 2 before its log
    level applies; hide them, not Python's own errors, unless TF_CPP_MIN_LOG_LEVEL=0."""
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0":
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            import tensorflow as tf
            tf.constant(0.0) + 1.0    # the oneDNN note comes with the first op
    finally:
        os.dup2(saved, 2)
        os.close(saved)


import_tensorflow_quietly()

from app.web import create_app, socketio  # noqa: E402
from app.web.serve import serve  # noqa: E402

app = create_app()

if __name__ == "__main__":
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    print(f"Regen: serving {', '.join(app.extensions['regen']['registry'].names()) or 'no models'} "
          f"on http://{host}:{port}", flush=True)
    serve(app, socketio, host, port, app.config["ASYNC_MODE"])
