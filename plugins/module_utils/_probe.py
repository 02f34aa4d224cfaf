# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reachability of URLs from the host the module runs on: a TCP connect, and for http(s) URLs an HTTP GET,
each result with a diagnosis from _diagnosis. Many URLs are probed at once (a bounded pool); the URLs that
may still be opening (a nodePort kube-proxy opens a moment after the change) share one deadline. Short
timeouts; never raises, the result says what happened."""

from __future__ import annotations

import errno
import socket
import ssl
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection, HTTPException, HTTPSConnection

from ansible_collections.hostreach.kind.plugins.module_utils import _diagnosis

CONNECT_TIMEOUT = 2.0
HTTP_TIMEOUT = 3.0
SETTLE_INTERVAL = 0.2  # seconds between connects to a nodePort kube-proxy is still opening
WORKERS = 32
LATE_INTERVAL = 1.0
_NO_ROUTE = (errno.EHOSTUNREACH, errno.ENETUNREACH)


class Target(t.NamedTuple):
    url: str
    wait: bool  # may refuse until the shared deadline (a nodePort opened by this run)


def split_url(url: str) -> tuple:
    """(scheme or None, host, port) of ``http://10.0.0.1:30080``, ``[fd00::1]:30053`` or ``10.0.0.1:30053``."""
    scheme, _sep, rest = url.rpartition("://")
    rest = rest.split("/", 1)[0]
    host, _sep, port = rest.rpartition(":")
    return scheme or None, host.strip("[]"), int(port)


def _unverified() -> ssl.SSLContext:
    """Reachability is the question, not identity: dev clusters serve self-signed certificates."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _connect(host: str, port: int, timeout: float, deadline: float | None) -> tuple:
    """(diagnosis, error) of a TCP connect: (REACHABLE, None) once it opens. A refused connection is tried again
    until ``deadline`` (time.monotonic()) when one is given."""
    while True:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            return _diagnosis.REACHABLE, None
        except ConnectionRefusedError as exc:
            if deadline is None or time.monotonic() >= deadline:
                return _diagnosis.REFUSED, str(exc)
            time.sleep(SETTLE_INTERVAL)
        except (socket.timeout, TimeoutError) as exc:  # noqa: UP041 (one class only from Python 3.10 on; a Mac may run 3.9)
            return _diagnosis.TIMED_OUT, str(exc) or "timed out"
        except OSError as exc:
            return (_diagnosis.NO_ROUTE if exc.errno in _NO_ROUTE else _diagnosis.CONNECT_FAILED), str(exc)


def _http_get(url: str, scheme: str, host: str, port: int, timeout: float) -> tuple:
    """(diagnosis, HTTP status, error) of a GET /."""
    connection = HTTPSConnection(host, port, timeout=timeout, context=_unverified()) if scheme == "https" else HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/", headers={"User-Agent": "hostreach.kind probe"})
        return _diagnosis.REACHABLE, connection.getresponse().status, None
    except ssl.SSLError as exc:
        return _diagnosis.TLS_FAILURE, None, f"TLS handshake with {host}:{port} failed: {exc}"
    except (OSError, HTTPException) as exc:
        return _diagnosis.HTTP_ERROR, None, f"HTTP GET {url} failed: {exc or type(exc).__name__}"
    finally:
        connection.close()


def probe(url: str, connect_timeout: float = CONNECT_TIMEOUT, http_timeout: float = HTTP_TIMEOUT, settle: float = 0.0, deadline: float | None = None) -> dict:
    """{url, reachable, status (HTTP status or None), error (or None), diagnosis, waited (seconds spent waiting for
    a refused port to open)}. An HTTP URL is reachable when any HTTP response comes back (a 404 still proves the
    path works); others when TCP connects. A refused port is tried again for ``settle`` seconds, or until
    ``deadline``."""
    started = time.monotonic()
    if deadline is None and settle:
        deadline = started + settle
    scheme, host, port = split_url(url)
    diagnosis, error = _connect(host, port, connect_timeout, deadline)
    waited = round(time.monotonic() - started, 1) if diagnosis in (_diagnosis.REACHABLE, _diagnosis.REFUSED) and deadline else 0.0
    status = None
    if diagnosis != _diagnosis.REACHABLE:
        error = f"TCP connect to {host}:{port} failed: {error}"
    elif scheme is not None:
        diagnosis, status, error = _http_get(url, scheme, host, port, http_timeout)
    return {"url": url, "reachable": diagnosis == _diagnosis.REACHABLE, "status": status, "error": error, "diagnosis": diagnosis, "waited": waited}


def probe_all(targets: list, settle: float, late: t.Callable[[], list] | None = None) -> list:
    """Probe every target at once (WORKERS at a time); those that may wait share one deadline, ``settle`` seconds
    from now. While a waiting target is still pending, ``late`` is asked every LATE_INTERVAL seconds for more
    targets (URLs whose Service has become ready meanwhile), probed under the same deadline. Results in the order
    of ``targets``, then the late ones."""
    deadline = time.monotonic() + settle

    def one(target: Target) -> dict:
        return probe(target.url, deadline=deadline if target.wait and settle else None)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [(target, pool.submit(one, target)) for target in targets]
        while late is not None and time.monotonic() < deadline and any(t.wait and not f.done() for t, f in futures):
            time.sleep(LATE_INTERVAL)
            futures += [(target, pool.submit(one, target)) for target in late()]
        return [future.result() for _target, future in futures]
