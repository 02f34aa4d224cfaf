# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reachability of a URL from the host the module runs on: a TCP connect, and for http(s) URLs an
HTTP GET. Short timeouts; never raises, the result says what happened."""

from __future__ import annotations

import socket
import ssl
import time
from http.client import HTTPConnection, HTTPException, HTTPSConnection

CONNECT_TIMEOUT = 2.0
HTTP_TIMEOUT = 3.0
SETTLE_INTERVAL = 0.5


def split_url(url: str) -> tuple:
    """(scheme or None, host, port) of ``http://10.0.0.1:30080``, ``[fd00::1]:30053`` or ``10.0.0.1:30053``."""
    scheme, _sep, rest = url.rpartition("://")
    rest = rest.split("/", 1)[0]
    host, _sep, port = rest.rpartition(":")
    return scheme or None, host.strip("[]"), int(port)


def _unverified():
    """Reachability is the question, not identity: dev clusters serve self-signed certificates."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _connect(host: str, port: int, timeout: float, settle: float) -> str | None:
    """None once a TCP connection opens, else the last error. A refused connection is retried for
    ``settle`` seconds: kube-proxy opens a new nodePort a moment after the Service changes."""
    deadline = time.monotonic() + settle
    while True:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            return None
        except ConnectionRefusedError as exc:
            if time.monotonic() >= deadline:
                return str(exc)
            time.sleep(SETTLE_INTERVAL)
        except OSError as exc:
            return str(exc)


def probe(url: str, connect_timeout: float = CONNECT_TIMEOUT, http_timeout: float = HTTP_TIMEOUT, settle: float = 0.0) -> dict:
    """{url, reachable, status (HTTP status or None), error (or None)}. An HTTP URL is reachable when
    any HTTP response comes back (a 404 still proves the path works); others when TCP connects."""
    scheme, host, port = split_url(url)
    result = {"url": url, "reachable": False, "status": None, "error": None}
    error = _connect(host, port, connect_timeout, settle)
    if error is not None:
        result["error"] = f"TCP connect to {host}:{port} failed: {error}"
        return result
    if scheme is None:
        result["reachable"] = True
        return result
    if scheme == "https":
        connection = HTTPSConnection(host, port, timeout=http_timeout, context=_unverified())
    else:
        connection = HTTPConnection(host, port, timeout=http_timeout)
    try:
        connection.request("GET", "/", headers={"User-Agent": "hostreach.kind probe"})
        result["status"] = connection.getresponse().status
        result["reachable"] = True
    except (OSError, HTTPException) as exc:
        result["error"] = f"HTTP GET {url} failed: {exc or type(exc).__name__}"
    finally:
        connection.close()
    return result
