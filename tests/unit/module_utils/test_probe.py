"""The URL probe of kind_nodeport against real sockets on 127.0.0.1 (and one network namespace with no routes)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils._probe import Target, probe, probe_all, split_url


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
    assert probe(f"http://127.0.0.1:{http_port}") == {
        "url": f"http://127.0.0.1:{http_port}",
        "reachable": True,
        "status": 418,
        "error": None,
        "diagnosis": "reachable",
        "waited": 0.0,
    }


def test_tcp_url_reachable_on_connect(silent_port: int) -> None:
    assert probe(f"127.0.0.1:{silent_port}")["reachable"] is True


def test_closed_port_is_unreachable_with_the_reason() -> None:
    port = closed_port()
    result = probe(f"http://127.0.0.1:{port}")
    assert result["reachable"] is False and result["diagnosis"] == "refused"
    assert result["error"].startswith(f"TCP connect to 127.0.0.1:{port} failed:")


def test_http_that_never_answers_times_out_quickly(silent_port: int) -> None:
    started = time.monotonic()
    result = probe(f"http://127.0.0.1:{silent_port}", http_timeout=0.5)
    assert time.monotonic() - started < 3
    assert result["reachable"] is False and result["status"] is None
    assert "HTTP GET" in result["error"] and "timed out" in result["error"]
    assert result["diagnosis"] == "HTTP error"


def test_https_to_a_plain_http_server_is_unreachable_not_an_exception(http_port: int) -> None:
    result = probe(f"https://127.0.0.1:{http_port}")
    assert result["reachable"] is False and result["diagnosis"] == "TLS failure"
    assert result["error"].startswith(f"TLS handshake with 127.0.0.1:{http_port} failed:")


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
        opened = probe(f"http://127.0.0.1:{port}", settle=5)
        assert opened["status"] == 418 and opened["diagnosis"] == "reachable" and 0.5 <= opened["waited"] <= 5
    finally:
        server.shutdown()
        server.server_close()


def test_settle_time_is_bounded() -> None:
    started = time.monotonic()
    assert probe(f"127.0.0.1:{closed_port()}", settle=1)["reachable"] is False
    assert 1 <= time.monotonic() - started < 3


@pytest.fixture
def full_backlog_port() -> Iterator[int]:
    """A listener whose accept queue is full: Linux drops further SYNs, so a connect times out, as behind a firewall
    that drops packets."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(0)
        port = sock.getsockname()[1]
        fillers = []
        for _filler in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.2)
        try:
            yield port
        finally:
            for filler in fillers:
                filler.close()


def test_dropped_packets_are_a_timeout(full_backlog_port: int) -> None:
    result = probe(f"127.0.0.1:{full_backlog_port}", connect_timeout=0.5)
    assert (result["reachable"], result["diagnosis"]) == (False, "timed out")


def test_an_address_without_a_route_is_no_route_to_host() -> None:
    """In a network namespace of its own (unshare -n: only a loopback that is down) nothing has a route."""
    code = "import json; from ansible_collections.hostreach.kind.plugins.module_utils._probe import probe; print(json.dumps(probe('10.123.45.67:80')))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(["unshare", "-n", sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    result = json.loads(done.stdout)
    assert (result["reachable"], result["diagnosis"]) == (False, "no route to host")
    assert "unreachable" in result["error"]


def test_every_url_is_probed_at_once() -> None:
    """Twenty HTTP URLs of a server that answers none of them until all twenty connections are open together: probed
    one after another, the first would time out waiting and none would be answered."""
    everyone = threading.Barrier(20, timeout=10)

    def answer_once_all_are_open(conn: socket.socket) -> None:
        with conn:
            conn.recv(1024)
            try:
                everyone.wait()
            except threading.BrokenBarrierError:
                return
            conn.sendall(b"HTTP/1.0 204 No Content\r\n\r\n")

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        port = server.getsockname()[1]

        def accept() -> None:
            while True:
                try:
                    conn, _address = server.accept()
                except OSError:
                    return
                threading.Thread(target=answer_once_all_are_open, args=(conn,), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        results = probe_all([Target(f"http://127.0.0.1:{port}", False) for _url in range(20)], settle=0)
    assert [(r["diagnosis"], r["status"]) for r in results] == [("reachable", 204)] * 20


def test_only_waiting_urls_share_the_deadline() -> None:
    port = closed_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Teapot, bind_and_activate=False)

    def open_later() -> None:
        time.sleep(1.0)
        server.server_bind()
        server.server_activate()
        server.serve_forever()

    threading.Thread(target=open_later, daemon=True).start()
    try:
        waiting, not_waiting = probe_all([Target(f"http://127.0.0.1:{port}", True), Target(f"127.0.0.1:{closed_port()}", False)], settle=5)
    finally:
        server.shutdown()
        server.server_close()
    assert (waiting["diagnosis"], waiting["status"]) == ("reachable", 418) and waiting["waited"] >= 0.5
    assert (not_waiting["diagnosis"], not_waiting["waited"]) == ("refused", 0.0)


def test_targets_that_become_ready_while_others_wait_are_probed_under_the_same_deadline(http_port: int) -> None:
    offered = []

    def late() -> list:
        offered.append(time.monotonic())
        return [Target(f"http://127.0.0.1:{http_port}", True)] if len(offered) == 2 else []

    waiting, became_ready = probe_all([Target(f"127.0.0.1:{closed_port()}", True)], settle=5, late=late)
    assert waiting["diagnosis"] == "refused" and waiting["waited"] >= 4.5
    assert (became_ready["url"], became_ready["diagnosis"], became_ready["status"]) == (f"http://127.0.0.1:{http_port}", "reachable", 418)
    assert 2 <= len(offered) <= 6  # asked about once a second while the refused URL was waited for, never after


def test_nothing_waits_so_late_is_never_asked(http_port: int) -> None:
    asked = []
    assert [r["diagnosis"] for r in probe_all([Target(f"http://127.0.0.1:{http_port}", False)], settle=10, late=lambda: asked.append(1) or [])] == ["reachable"]
    assert asked == []
