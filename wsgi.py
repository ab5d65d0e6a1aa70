"""Serve Regen: `python wsgi.py` (HOST, default 127.0.0.1; PORT, default 5000).

In eventlet mode (the default) the standard library is monkey-patched before
anything else is imported, as eventlet requires.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if os.environ.get("ASYNC_MODE", "eventlet") == "eventlet":
    import eventlet
    eventlet.monkey_patch()

from app.web import create_app, socketio  # noqa: E402

app = create_app()

if __name__ == "__main__":
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    print(f"Regen: serving {', '.join(app.extensions['regen']['registry'].names()) or 'no models'} "
          f"on http://{host}:{port}", flush=True)
    # Never debug mode here: the debugger would run arbitrary code for anyone who reaches it.
    # Threading mode serves through Werkzeug's server, fine for a local demo.
    socketio.run(app, host=host, port=port, debug=False, use_reloader=False, log_output=False,
                 allow_unsafe_werkzeug=app.config["ASYNC_MODE"] == "threading")
