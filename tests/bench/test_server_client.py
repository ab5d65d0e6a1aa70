"""The benches' and real-server tests' Socket.IO client reads messages in arrival order."""
import threading

from bench.server import InOrderClient


def test_messages_are_handled_on_the_thread_that_read_them():
    # python-socketio's own client starts a thread per message, so a binary event's
    # attachment could overtake its header (a ValueError seen once in CI).
    client = InOrderClient()
    seen = []
    client.eio.on("message", lambda data: seen.append((data, threading.current_thread())))
    for data in (b"header", b"attachment"):
        client.eio._trigger_event("message", data, run_async=True)
    assert seen == [(b"header", threading.current_thread()), (b"attachment", threading.current_thread())]
