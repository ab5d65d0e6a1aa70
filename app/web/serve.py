"""Run the app's server in the configured async mode.

Eventlet mode calls `eventlet.wsgi.server` directly, with `debug=False`: its own
default is True, which sends the traceback of any exception that escapes the app
to the client, and Flask-SocketIO's `run` does not pass Flask's setting on.
Threading mode serves through Werkzeug (fine for a local demo), never with
Flask's debugger.
"""


def serve(app, socketio, host, port, async_mode):
    if async_mode == "eventlet":
        import eventlet
        import eventlet.wsgi
        listener = eventlet.listen((host, port))
        eventlet.wsgi.server(listener, app, debug=False, log_output=False)
    else:
        socketio.run(app, host=host, port=port, debug=False, use_reloader=False, log_output=False,
                     allow_unsafe_werkzeug=True)
