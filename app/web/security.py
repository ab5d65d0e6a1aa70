"""What every request and packet passes before the app sees it.

- `HostGuard`: a WSGI middleware in front of HTTP and Socket.IO alike that
  answers 421 to a Host header outside the allowlist, so a DNS-rebinding page
  (Host and Origin both evil.example) can neither open sockets nor read the API.
- `install_http_hooks`: security headers on every response, JSON for every
  HTTP error (unknown URL, 405, 411, 413, 500), never an HTML page or a traceback.
- `guard_packets`: a malformed Socket.IO packet (truncated JSON, deep nesting,
  a 100-digit ack id) gets an `error` event and one rate-limited log line,
  instead of no answer and two tracebacks.
"""
import json
import logging
import time

from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from app.web.protocol import ERROR_CODES, EVENTS

log = logging.getLogger(__name__)

# The page loads only its own scripts, styles and images (blob:/data: for canvases and
# downloads); sockets go to the same origin.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                           "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
NO_STORE_PREFIXES = ("/api/", "/healthz")
HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 411: "length_required",
              413: "too_large", 421: "bad_host", 500: ERROR_CODES["INTERNAL"]}


def host_name(host_header):
    """'Example.com:5000' -> 'example.com'; '[::1]:5000' -> '[::1]'."""
    host = (host_header or "").strip().lower()
    if host.startswith("["):
        return host[:host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class HostGuard:
    """Refuses requests whose Host is not allowed; "*" in `allowed` lets every host in."""

    def __init__(self, app, allowed):
        self.app = app
        self.allowed = {h.lower() for h in allowed}

    def __call__(self, environ, start_response):
        host = host_name(environ.get("HTTP_HOST") or environ.get("SERVER_NAME"))
        if "*" in self.allowed or host in self.allowed:
            return self.app(environ, start_response)
        log.info("refused client=%s code=bad_host: Host %r", environ.get("REMOTE_ADDR"), host[:80])
        body = json.dumps({"code": "bad_host", "message": "this server does not answer for that host name; "
                           "add it to ALLOWED_HOSTS"}).encode()
        start_response("421 Misdirected Request", [("Content-Type", "application/json"),
                                                   ("Content-Length", str(len(body))),
                                                   *SECURITY_HEADERS.items()])
        return [body]


def install_http_hooks(app):
    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith(NO_STORE_PREFIXES):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc):
        code = HTTP_CODES.get(exc.code, "http_error")
        response = jsonify({"code": code, "message": exc.description})
        response.status_code = exc.code
        for name, value in exc.get_headers():       # e.g. a 405's Allow
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def internal_error(exc):
        log.exception("request %s %s failed", request.method, request.path)
        return jsonify({"code": ERROR_CODES["INTERNAL"], "message": "the server failed; details are in its log"}), 500


class RateLimitedLog:
    """Logs at most one line per `seconds`, saying how many were left out."""

    def __init__(self, logger, seconds=10.0):
        self.logger, self.seconds = logger, seconds
        self.last, self.skipped = float("-inf"), 0

    def warning(self, message, *args):
        now = time.monotonic()
        if now - self.last < self.seconds:
            self.skipped += 1
            return
        if self.skipped:
            message += f" ({self.skipped} more since the last line)"
        self.last, self.skipped = now, 0
        self.logger.warning(message, *args)


def guard_packets(socketio):
    """Wrap the Socket.IO server's packet handler so that a packet it cannot decode
    is answered with an `error` event and logged as one line."""
    server = socketio.server
    handle = server._handle_eio_message
    bad_log = RateLimitedLog(log)

    def guarded(eio_sid, data):
        try:
            return handle(eio_sid, data)
        except Exception as exc:   # anything the decoder raises: ValueError, RecursionError, ...
            server._binary_packet.pop(eio_sid, None)
            bad_log.warning("malformed packet from %s: %s", eio_sid[:8], f"{type(exc).__name__}: {exc}"[:120])
            sid = server.manager.sid_from_eio_sid(eio_sid, "/")
            if sid:
                server.emit(EVENTS["ERROR"], {"code": ERROR_CODES["BAD_REQUEST"],
                                              "message": "the server could not read that packet"}, to=sid,
                            ignore_queue=True)   # our own client: never via a message queue

    server.eio.on("message", guarded)
