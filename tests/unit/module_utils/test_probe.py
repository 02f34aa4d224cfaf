"""The URL probe of kind_nodeport (issue 4, behaviour 10) against real sockets on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils._probe import probe, split_url


class Teapot(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(418 if self.path == "/" else 500)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Teapot)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Accepts TCP connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("http://172.18.0.2:30080", ("http", "172.18.0.2", 30080)),
        ("172.18.0.2:30053", (None, "172.18.0.2", 30053)),
        ("https://[fc00::2]:30443", ("https", "fc00::2", 30443)),
    ],
)
def test_split_url(url: str, parts: tuple) -> None:
    assert split_url(url) == parts


def test_http_url_reachable_with_any_status(http_port: int) -> None:
    assert probe(f"http://127.0.0.1:{http_port}") == {"url": f"http://127.0.0.1:{http_port}", "reachable": True, "status": 418, "error": None}


def test_tcp_url_reachable_on_connect(silent_port: int) -> None:
    assert probe(f"127.0.0.1:{silent_port}")["reachable"] is True


def test_closed_port_is_unreachable_with_the_reason() -> None:
    port = closed_port()
    result = probe(f"http://127.0.0.1:{port}")
    assert result["reachable"] is False
    assert result["error"].startswith(f"TCP connect to 127.0.0.1:{port} failed:")


def test_http_that_never_answers_times_out_quickly(silent_port: int) -> None:
    started = time.monotonic()
    result = probe(f"http://127.0.0.1:{silent_port}", http_timeout=0.5)
    assert time.monotonic() - started < 3
    assert result["reachable"] is False and result["status"] is None
    assert "HTTP GET" in result["error"] and "timed out" in result["error"]


def test_https_to_a_plain_http_server_is_unreachable_not_an_exception(http_port: int) -> None:
    result = probe(f"https://127.0.0.1:{http_port}")
    assert result["reachable"] is False and "HTTP GET" in result["error"]


def test_a_port_that_opens_a_moment_later_is_reachable_within_the_settle_time() -> None:
    port = closed_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Teapot, bind_and_activate=False)

    def open_later() -> None:
        time.sleep(1.0)
        server.server_bind()
        server.server_activate()
        server.serve_forever()

    threading.Thread(target=open_later, daemon=True).start()
    try:
        assert probe(f"http://127.0.0.1:{port}")["reachable"] is False  # no settle time: refused at once
        assert probe(f"http://127.0.0.1:{port}", settle=5)["status"] == 418
    finally:
        server.shutdown()
        server.server_close()


def test_settle_time_is_bounded() -> None:
    started = time.monotonic()
    assert probe(f"127.0.0.1:{closed_port()}", settle=1)["reachable"] is False
    assert 1 <= time.monotonic() - started < 3
