"""`portal run`'s server serves a bounded number of requests at once; the rest wait their turn."""

from __future__ import annotations

import concurrent.futures
import http.client
import threading
import time

from flask import Flask

from portal.embedded_server import REQUESTS_AT_ONCE, BoundedThreadedServer, _ClosingRequestHandler


def slow_app(state: dict) -> Flask:
    app = Flask(__name__)
    lock = threading.Lock()

    @app.get("/")
    def slow() -> str:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.2)  # as a request waiting for its turn at the key derivation
        with lock:
            state["now"] -= 1
        return "done"

    return app


def get(port: int) -> tuple[int, str | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/")
    response = connection.getresponse()
    response.read()
    return response.status, response.getheader("Connection")


def test_more_clients_than_places_are_all_served_a_few_at_a_time():
    state = {"now": 0, "most": 0}
    server = BoundedThreadedServer("127.0.0.1", 0, slow_app(state), handler=_ClosingRequestHandler, requests_at_once=3)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(lambda _: get(server.server_port), range(12)))
    finally:
        server.shutdown()
        server.server_close()

    assert [status for status, _ in answers] == [200] * 12
    assert state["most"] == 3
    # An idle keep-alive connection would hold a place: each response closes its connection.
    assert {connection for _, connection in answers} == {"close"}


def test_the_bound_leaves_room_in_the_database_pool():
    from sqlalchemy.pool import QueuePool

    pool = QueuePool(lambda: None)  # SQLAlchemy's defaults, which the portal keeps
    assert REQUESTS_AT_ONCE < pool.size() + pool._max_overflow  # noqa: SLF001
