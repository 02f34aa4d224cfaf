"""A cluster name is checked as kind checks it at the very start of every module that takes one, before any request,
read or write: a newline in it would otherwise write a line of its own into docker-connector.conf (after the marker
comment `# hostreach.kind cluster <name>`) or the resolver file. The modules run in-process (ansible_runner.in_process);
the cluster's side is given (gather_cluster), so what is proved is that the file is never reached."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _cluster_routes, _host_routes, _kube, _route_targets
from ansible_collections.hostreach.kind.plugins.modules import kind_cluster_dns, kind_cluster_routes, kind_nodeport

from tests.ansible_runner import in_process

HOSTILE = "dev\nhost 0.0.0.0"  # a directive of its own: the Mac side would listen on every address
REFUSED = "cluster 'dev\\nhost 0.0.0.0' is not a kind cluster name: its character '\\n' at position 3"
NODE = "172.18.0.2"
CONFIG = "addr 192.168.251.1/24\nroute 172.17.0.0/16\n"


@pytest.fixture
def no_request(monkeypatch: pytest.MonkeyPatch) -> None:
    def connect(*args: object) -> None:
        raise AssertionError(f"the cluster was asked: connect{args}")

    monkeypatch.setattr(_kube, "connect", connect)


@pytest.mark.parametrize(
    ("module", "args"),
    [
        (kind_nodeport, {"services": [{"name": "web"}]}),
        (kind_cluster_routes, {}),
        (kind_cluster_dns, {"resolver": "macos"}),
    ],
)
@pytest.mark.parametrize("name", [HOSTILE, "", "Kind", "a" * 51])
def test_a_name_kind_refuses_fails_before_the_cluster_is_asked(no_request: None, module: object, args: dict, name: str) -> None:
    result = in_process(module, {"cluster": name, **args})
    assert result["failed"]
    assert result["msg"].startswith(f"cluster {name!r} is not a kind cluster name"), result["msg"]


@pytest.fixture
def routes_cluster(monkeypatch: pytest.MonkeyPatch) -> list:
    """kind_cluster_routes with the cluster's side given and the Docker VM stood in for; the VM scripts it would run."""
    scripts = []
    node = _cluster_routes.Node("dev-control-plane", NODE, [], True)
    cidrs = [ipaddress.ip_network("10.96.0.0/16")]
    monkeypatch.setattr(kind_cluster_routes, "gather_cluster", lambda params: kind_cluster_routes.Cluster(params["cluster"], cidrs, "given", [node], []))
    monkeypatch.setattr(_route_targets.Connector, "_vm", lambda self, script: scripts.append(script) or "")
    monkeypatch.setattr(_host_routes, "read_routes", lambda: [])
    return scripts


def test_the_connector_config_gets_the_clusters_marked_line(tmp_path: Path, routes_cluster: list) -> None:
    """The stand-in reaches the write: a good name's route line is written, marked with the name."""
    config = tmp_path / "docker-connector.conf"
    config.write_text(CONFIG)
    result = in_process(kind_cluster_routes, {"cluster": "dev", "target": "connector", "connector_config": str(config)})
    assert not result.get("failed"), result.get("msg")
    assert config.read_text() == CONFIG + "route 10.96.0.0/16 # hostreach.kind cluster dev\n"


def test_a_name_with_a_newline_never_reaches_the_connector_config(tmp_path: Path, routes_cluster: list) -> None:
    config = tmp_path / "docker-connector.conf"
    config.write_text(CONFIG)
    result = in_process(kind_cluster_routes, {"cluster": HOSTILE, "target": "connector", "connector_config": str(config)})
    assert result["failed"] and result["msg"].startswith(REFUSED), result["msg"]
    assert config.read_text() == CONFIG
    assert routes_cluster == []  # nothing was run in the Docker VM either


def test_a_name_with_a_newline_never_reaches_the_resolver_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = kind_cluster_dns.Cluster("cluster.local", "given", "10.96.0.10", {NODE})
    monkeypatch.setattr(kind_cluster_dns, "gather_cluster", lambda params: cluster)
    monkeypatch.setattr(_host_routes, "read_routes", lambda: [_host_routes.Route(ipaddress.ip_network("10.96.0.0/16"), NODE, "br-1", "119")])
    resolver_dir = tmp_path / "resolver"
    result = in_process(kind_cluster_dns, {"cluster": HOSTILE, "resolver": "macos", "resolver_dir": str(resolver_dir)})
    assert result["failed"] and result["msg"].startswith(REFUSED), result["msg"]
    assert not resolver_dir.exists()
