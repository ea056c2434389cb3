"""The embedded server behind `portal run`: Werkzeug's threaded server, with a bound on how many
requests it serves at once.

Werkzeug starts a thread for every connection. Each request holds one of the process's pooled
database connections (SQLAlchemy's default: 5 plus 10 overflow) while it waits for its turn at the
deliberate key derivation, which only a couple of requests run at a time. With 200 reporters
submitting at once, the rest then waited past the pool's 30 s timeout and got HTTP 500 (measured
with bench/submit_load.py: 85 of 546 on SQLite, 295 of 428 on PostgreSQL). Serving at most a few
requests fewer than the pool holds means a request never waits for a connection: further clients
wait in the listen queue instead, as they do with gunicorn's fixed number of threads, and are
served in turn.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from werkzeug.serving import ThreadedWSGIServer

from portal.web import AnonymousRequestHandler

#: Below the 15 connections of the database pool, leaving room for a download's own stream.
REQUESTS_AT_ONCE = 10


class _ClosingRequestHandler(AnonymousRequestHandler):
    # One request per connection: an idle keep-alive connection must not hold one of the few
    # places while a browser keeps it open for later.
    protocol_version = "HTTP/1.0"


class BoundedThreadedServer(ThreadedWSGIServer):
    """A thread per request, never more than ``requests_at_once`` of them."""

    # Clients wait here for a place: a short queue would turn a crowd into refused connections
    # (Werkzeug's 128 reset 40 of 618 connections with 200 reporters at once). The kernel caps it
    # at net.core.somaxconn.
    request_queue_size = 4096

    def __init__(self, *args: Any, requests_at_once: int = REQUESTS_AT_ONCE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._places = threading.BoundedSemaphore(requests_at_once)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._places.acquire()  # holds the accept loop: the next client waits in the listen queue
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._places.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._places.release()


def serve(app: Flask, host: str, port: int, requests_at_once: int = REQUESTS_AT_ONCE) -> None:
    server = BoundedThreadedServer(host, port, app, handler=_ClosingRequestHandler, requests_at_once=requests_at_once)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
