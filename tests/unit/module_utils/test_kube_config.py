"""Kubeconfig and context resolution of _kube (issue 4, behaviour 9) with temporary files; the
unreachable-API error against a closed port on 127.0.0.1. RBAC and a live API are in tests/integration/kube."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _kube
from ansible_collections.hostreach.kind.plugins.module_utils._errors import KubeError


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
    assert _kube.kubeconfig_candidates(option, environ, home="/home/me") == (expected, source)


def test_kubeconfig_list_keeps_the_files_that_exist(tmp_path: Path) -> None:
    first = write_kubeconfig(tmp_path / "one")
    second = write_kubeconfig(tmp_path / "two")
    environ = {"KUBECONFIG": os.pathsep.join([first, str(tmp_path / "missing"), second])}
    assert _kube.find_kubeconfig(None, environ) == os.pathsep.join([first, second])


def test_no_kubeconfig_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(KubeError, match=rf"no kubeconfig found: looked at {tmp_path}/.kube/config \(the default location\)"):
        _kube.find_kubeconfig(None, {}, home=str(tmp_path))
    with pytest.raises(KubeError, match=r"looked at /nope/a, /nope/b \(\$KUBECONFIG\)"):
        _kube.find_kubeconfig(None, {"KUBECONFIG": "/nope/a:/nope/b"})


def test_context_is_the_option_else_kind_dash_cluster() -> None:
    assert _kube.context_name(None, "dev") == "kind-dev"
    assert _kube.context_name("prod-admin", "dev") == "prod-admin"


def test_missing_context_lists_the_contexts(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "config", contexts=("kind-kind", "kind-other"))
    with pytest.raises(KubeError, match=r"has no context 'kind-dev' \(from cluster 'dev' .*Its contexts: kind-kind, kind-other"):
        _kube.connect(path, None, "dev")
    with pytest.raises(KubeError, match=r"has no context 'nope' \(from the context option\)"):
        _kube.connect(path, "nope", "kind")


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
