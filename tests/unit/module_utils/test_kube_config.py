"""Which kubeconfig and context kind_nodeport uses (_kubeconfig, _kube), with temporary files: the kubeconfig option,
then $K8S_AUTH_KUBECONFIG, $KUBECONFIG, ~/.kube/config; the context option, else kind-<cluster>; every file that is
not a usable kubeconfig named with what is wrong; and the unreachable-API error against a closed port on 127.0.0.1.
RBAC and a live API are in tests/integration/kube."""

from __future__ import annotations

import http.server
import os
import socket
import threading
from pathlib import Path

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _kube, _kubeconfig
from ansible_collections.hostreach.kind.plugins.module_utils._errors import KubeError, KubeNoContext, failure


def write_kubeconfig(path: Path, server: str = "https://127.0.0.1:6443", contexts=("kind-kind",)) -> str:
    lines = ["apiVersion: v1", "kind: Config", "clusters:", "- name: c", "  cluster:", f"    server: {server}", "    insecure-skip-tls-verify: true"]
    lines += ["users:", "- name: u", "  user:", "    token: t0ken", "contexts:"]
    for name in contexts:
        lines += [f"- name: {name}", "  context:", "    cluster: c", "    user: u"]
    lines += [f"current-context: {contexts[0]}", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return str(path)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("option", "environ", "expected", "source"),
    [
        ("/o/config", {"K8S_AUTH_KUBECONFIG": "/k", "KUBECONFIG": "/e"}, ["/o/config"], "the kubeconfig option"),
        (None, {"K8S_AUTH_KUBECONFIG": "/k", "KUBECONFIG": "/e"}, ["/k"], "$K8S_AUTH_KUBECONFIG"),
        (None, {"KUBECONFIG": "/a:/b"}, ["/a", "/b"], "$KUBECONFIG"),
        (None, {"KUBECONFIG": ""}, ["/home/me/.kube/config"], "the default location"),
    ],
)
def test_kubeconfig_resolution_order(option, environ, expected, source) -> None:
    assert _kubeconfig.kubeconfig_candidates(option, environ, home="/home/me") == (expected, source)


def test_kubeconfig_list_keeps_the_files_that_exist(tmp_path: Path) -> None:
    first = write_kubeconfig(tmp_path / "one")
    second = write_kubeconfig(tmp_path / "two")
    environ = {"KUBECONFIG": os.pathsep.join([first, str(tmp_path / "missing"), second])}
    assert _kubeconfig.find_kubeconfig(None, environ) == [first, second]


def test_no_kubeconfig_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(KubeError, match=rf"no kubeconfig found: looked at {tmp_path}/.kube/config \(the default location\)"):
        _kubeconfig.find_kubeconfig(None, {}, home=str(tmp_path))
    with pytest.raises(KubeError, match=r"looked at /nope/a, /nope/b \(\$KUBECONFIG\)"):
        _kubeconfig.find_kubeconfig(None, {"KUBECONFIG": "/nope/a:/nope/b"})


def test_context_is_the_option_else_kind_dash_cluster() -> None:
    assert _kubeconfig.context_name(None, "dev") == "kind-dev"
    assert _kubeconfig.context_name("prod-admin", "dev") == "prod-admin"


def test_missing_context_lists_the_contexts(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "config", contexts=("kind-kind", "kind-other"))
    with pytest.raises(KubeError, match=r"has no context 'kind-dev' \(from cluster 'dev' .*Its contexts: kind-kind, kind-other"):
        _kube.connect(path, None, "dev")
    with pytest.raises(KubeError, match=r"has no context 'nope' \(from the context option\)"):
        _kube.connect(path, "nope", "kind")


@pytest.mark.parametrize("contexts", [("kind-kind",), None], ids=["no context", "no kubeconfig"])
def test_a_missing_context_or_kubeconfig_is_a_cluster_gone_before_any_connection(tmp_path: Path, contexts: tuple | None) -> None:
    """kind delete cluster removes the context: the failure says cluster_gone, which state=absent goes by (issue 20)."""
    path = write_kubeconfig(tmp_path / "config", contexts=contexts) if contexts else str(tmp_path / "none")
    with pytest.raises(KubeNoContext) as error:
        _kube.connect(path, None, "dev")
    assert failure(error.value)["cluster_gone"] is True
    assert "cluster_gone" not in failure(KubeError("cannot reach the Kubernetes API server"))


def test_unreadable_kubeconfig_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("this: [is not a kubeconfig")
    with pytest.raises(KubeError, match=rf"cannot read kubeconfig {path}"):
        _kube.connect(str(path), None, "kind")


def test_unreachable_api_names_the_server_url(tmp_path: Path) -> None:
    server = f"https://127.0.0.1:{closed_port()}"
    api = _kube.connect(write_kubeconfig(tmp_path / "config", server=server), None, "kind")
    with pytest.raises(KubeError, match=rf"cannot reach the Kubernetes API server {server} \(context kind-kind\)"):
        api.list_services("default")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("just a string\n", "it holds a YAML str, not a mapping with clusters, contexts and users"),
        ("- a\n- b\n", "it holds a YAML list, not a mapping"),
        ("contexts: 5\n", "contexts is a int, not a list"),
        ("contexts: [{context: {}}]\n", "contexts[0] has no name"),
        ("contexts: [{name: kind-kind, context: 5}]\n", "contexts[0] (kind-kind) has no context mapping"),
        ("users: {a: b}\n", "users is a dict, not a list"),
    ],
)
def test_a_file_that_is_not_a_kubeconfig_is_named_with_what_is_wrong(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "config"
    path.write_text(text)
    with pytest.raises(KubeError) as error:
        _kube.connect(str(path), None, "kind")
    assert str(error.value).startswith(f"kubeconfig {path} is not a kubeconfig: {says}")


def test_a_kubeconfig_without_current_context_works_when_the_context_is_given(tmp_path: Path) -> None:
    path = tmp_path / "config"
    text = Path(write_kubeconfig(path, contexts=("kind-kind", "kind-dev"))).read_text()
    path.write_text("\n".join(line for line in text.splitlines() if not line.startswith("current-context")))
    assert _kube.connect(str(path), None, "dev").context == "kind-dev"
    assert _kube.connect(str(path), "kind-kind", "x").context == "kind-kind"


def test_contexts_of_several_files_merge_first_one_wins(tmp_path: Path) -> None:
    first = write_kubeconfig(tmp_path / "a", contexts=("kind-a",))
    second = write_kubeconfig(tmp_path / "b", contexts=("kind-b", "kind-a"))
    assert _kubeconfig.read_contexts([first, second]) == ["kind-a", "kind-b"]


class _Answers(http.server.BaseHTTPRequestHandler):
    """A plain HTTP server on 127.0.0.1 that is not a Kubernetes API server: it answers 200 with the body asked for."""

    body = b""

    def do_GET(self) -> None:  # pylint: disable=invalid-name  # http.server calls it by this name
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_args) -> None:
        pass


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<html>login</html>", "with 18 bytes that are not a JSON object (starting b'<html>login</html>')"),
        (b"[1, 2]", "with 6 bytes that are not a JSON object"),
        (b'{"kind": "ServiceList"}', "answered a LIST of services without a list of named objects in 'items'"),
        (b'{"items": [{"spec": {}}]}', "answered a LIST of services without a list of named objects in 'items'"),
    ],
)
def test_a_server_that_answers_200_with_something_else_is_named(tmp_path: Path, body: bytes, says: str) -> None:
    handler = type("Handler", (_Answers,), {"body": body})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        api = _kube.connect(write_kubeconfig(tmp_path / "config", server=url), None, "kind")
        with pytest.raises(KubeError) as error:
            api.list_services("default")
        assert f"the API server {url} " in str(error.value) and says in str(error.value)
    finally:
        server.shutdown()
        server.server_close()


def test_the_kubeconfig_option_takes_a_path_list_like_kubeconfig(tmp_path: Path) -> None:
    first = write_kubeconfig(tmp_path / "a", contexts=("kind-a",))
    second = write_kubeconfig(tmp_path / "b", contexts=("kind-b",))
    assert _kubeconfig.kubeconfig_candidates(f"{first}:{second}", {}) == ([first, second], "the kubeconfig option")
    assert _kube.connect(f"{first}:{second}", None, "b").context == "kind-b"
