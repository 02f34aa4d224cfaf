"""KubeApi's requests against a small HTTP server on 127.0.0.1 (the real apiserver is in tests/integration/kube): the
request line and headers it sends, and what an error answer becomes, for a plain request and a watch's stream."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils._errors import KubeForbidden, KubeGone
from ansible_collections.hostreach.kind.plugins.module_utils._kube import KubeApi
from kubernetes import client


class Server(http.server.HTTPServer):
    answer: tuple = (200, {"kind": "ServiceList", "items": []})
    seen: list


class Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))
        status, body = self.server.answer
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PATCH = _answer

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[Server]:
    served = Server(("127.0.0.1", 0), Handler)
    served.seen = []
    threading.Thread(target=served.serve_forever, daemon=True).start()
    yield served
    served.shutdown()


def api_for(server: Server, token: str = "") -> KubeApi:
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{server.server_port}"
    if token:
        configuration.api_key = {"authorization": token}
        configuration.api_key_prefix = {"authorization": "Bearer"}
    return KubeApi(client.ApiClient(configuration), "kind-test")


def test_a_list_sends_the_selector_encoded_and_the_token(server: Server) -> None:
    assert api_for(server, token="s3cret").list_services("web", "app=a,tier!=db") == []
    method, path, headers, _body = server.seen[0]
    assert (method, path) == ("GET", "/api/v1/namespaces/web/services?labelSelector=app%3Da%2Ctier%21%3Ddb")
    assert headers["authorization"] == "Bearer s3cret" and headers["Accept"] == "application/json"


def test_a_dry_run_patch_sends_the_json_patch(server: Server) -> None:
    server.answer = (200, {"kind": "Service", "metadata": {"name": "api"}})
    patch = [{"op": "replace", "path": "/spec/type", "value": "NodePort"}]
    assert api_for(server).patch_service("web", "api", patch, dry_run=True)["metadata"]["name"] == "api"
    method, path, headers, body = server.seen[0]
    assert (method, path, headers["Content-Type"]) == ("PATCH", "/api/v1/namespaces/web/services/api?dryRun=All", "application/json-patch+json")
    assert json.loads(body) == patch


@pytest.mark.parametrize("stream", [False, True])
def test_an_error_answer_keeps_the_api_servers_message(server: Server, stream: bool) -> None:
    server.answer = (410, {"kind": "Status", "message": "too old resource version: 1 (2)", "code": 410})
    with pytest.raises(KubeGone, match=r"watch services in namespace web failed \(HTTP 410\): too old resource version: 1 \(2\)"):
        api_for(server).request("watch", "services", "web", query={"watch": "true"}, stream=stream)


def test_forbidden_names_the_context_and_what_was_asked(server: Server) -> None:
    server.answer = (403, {"kind": "Status", "message": 'services is forbidden: User "dev" cannot list resource "services"', "code": 403})
    with pytest.raises(KubeForbidden, match=r"the user of context kind-test may not list services \(all namespaces\)\. .*User \"dev\" cannot list"):
        api_for(server).list_services(None)
