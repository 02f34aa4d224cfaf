"""kind_cluster_routes run in-process (ansible_runner.in_process) on a cluster that says what a hostile cluster admin
would: node addresses that are shell text, Pod ranges that are public or link-local. The API client is a stand-in that
returns the given objects (what the apiserver would serve; tier 1 proves a real one serves them, see
tests/integration/kube/test_kind_cluster_routes_input.py), this host's routes are given, and the Docker VM is a
recorder: what is proved is what reaches the config file, the VM's script and the result.
"""

from __future__ import annotations

import ipaddress
import typing as t
from pathlib import Path

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common import warnings as ansible_warnings
from ansible_collections.hostreach.kind.plugins.module_utils import _connector_conf, _host_routes, _kube, _route_targets
from ansible_collections.hostreach.kind.plugins.module_utils._host_routes import Route
from ansible_collections.hostreach.kind.plugins.modules import kind_cluster_routes

from tests.ansible_runner import in_process

CONFIG = "addr 192.168.251.1/24\nroute 172.17.0.0/16\n"
HOST = [
    Route(ipaddress.ip_network("0.0.0.0/0"), "192.168.1.1", "en0"),
    Route(ipaddress.ip_network("192.168.1.0/24"), None, "en0"),
    Route(ipaddress.ip_network("172.18.0.0/16"), "192.168.251.1", "utun5"),
]
HOSTILE = ["172.18.0.2; reboot", "$(id)", "172.18.0.2\nip route flush table main", "::1", ""]


def node(name: str, address: t.Any, cidr: str, control_plane: bool = False) -> dict:
    labels = {"node-role.kubernetes.io/control-plane": ""} if control_plane else {}
    return {"metadata": {"name": name, "labels": labels}, "spec": {"podCIDRs": [cidr]}, "status": {"addresses": [{"type": "InternalIP", "address": address}]}}


class Api:
    """The calls kind_cluster_routes makes, answering with the given objects."""

    def __init__(self, nodes: list, service_cidr: str = "10.96.0.0/16") -> None:
        self.nodes, self.service_cidr = nodes, service_cidr

    def list_service_cidrs(self) -> list:
        return [{"spec": {"cidrs": [self.service_cidr]}}]

    def kubeadm_cluster_configuration(self) -> None:
        return None

    def list_nodes(self) -> list:
        return self.nodes

    def list_services(self, namespace: str) -> list:
        return []


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> t.Callable:
    """run(nodes, **args): the module on a cluster of `nodes`, target connector; (result, config text, VM scripts)."""
    config = tmp_path / "docker-connector.conf"
    config.write_text(CONFIG)
    scripts: list = []
    monkeypatch.setattr(_host_routes, "read_routes", lambda: HOST)
    monkeypatch.setattr(_route_targets.Connector, "_vm", lambda self, script: scripts.append(script) or "")

    def run(nodes: list, service_cidr: str = "10.96.0.0/16", check: bool = False, **args: t.Any) -> tuple:
        monkeypatch.setattr(_kube, "connect", lambda *a: Api(nodes, service_cidr))
        monkeypatch.setattr(ansible_warnings, "_global_warnings", {})  # this run's warnings only
        result = in_process(kind_cluster_routes, {"cluster": "dev", "target": "connector", "connector_config": str(config), **args}, check=check)
        result["warnings"] = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
        return result, config.read_text(), [s for s in scripts if s != "ip route show"]

    return run


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_node_with_a_hostile_internal_ip_is_skipped_with_a_warning_and_never_written(cluster: t.Callable, hostile: str) -> None:
    result, config, scripts = cluster([node("dev-control-plane", "172.18.0.2", "10.244.0.0/24", True), node("dev-evil", hostile, "10.244.1.0/24")])
    assert not result.get("failed"), result.get("msg")
    assert "node 'dev-evil' has no IPv4 InternalIP: it is skipped, nothing is routed through it" in result["warnings"]
    assert config.startswith(CONFIG) and (not hostile or hostile not in config)
    assert [str(n) for line in _connector_conf.parse(config) for n in line.ipv4] == ["172.17.0.0/16", "10.96.0.0/16", "10.244.0.0/24"]
    assert scripts == ["set -e\nip route replace 10.244.0.0/24 via 172.18.0.2\nip route replace 10.96.0.0/16 via 172.18.0.2\n"]
    assert [r["node"] for r in result["routes"]] == ["dev-control-plane", "dev-control-plane"]


def test_a_cluster_whose_only_node_is_hostile_fails_and_writes_nothing(cluster: t.Callable) -> None:
    result, config, scripts = cluster([node("dev-control-plane", "172.18.0.2; reboot", "10.244.0.0/24", True)])
    assert result["failed"] and "no node of the cluster has an IPv4 InternalIP" in result["msg"]
    assert "node 'dev-control-plane': InternalIP '172.18.0.2; reboot' is not an IPv4 unicast address; it is not used" in result["warnings"]
    assert config == CONFIG and scripts == []


@pytest.mark.parametrize(
    ("pod_cidr", "service_cidr", "refused", "reason", "allowed"),
    [
        ("8.8.8.0/24", "10.96.0.0/16", "8.8.8.0/24 (the pod range of cluster dev, via node dev-worker)", "it is not private", True),
        ("169.254.0.0/24", "10.96.0.0/16", "169.254.0.0/24 (the pod range of cluster dev, via node dev-worker)", "it overlaps link-local 169.254.0.0/16", True),
        ("224.0.0.0/24", "10.96.0.0/16", "224.0.0.0/24 (the pod range of cluster dev, via node dev-worker)", "it overlaps multicast 224.0.0.0/4", True),
        ("10.244.1.0/24", "10.0.0.0/8", "10.0.0.0/8 (the service range of cluster dev, via node dev-control-plane)", "its prefix /8 is shorter than /12", True),
        # These also overlap a route of the host (the LAN's; every route, for a half of the default route): conflicts()
        # refuses them whatever allow_wide_routes says.
        ("192.168.1.0/25", "10.96.0.0/16", "192.168.1.0/25 (the pod range of cluster dev, via node dev-worker)", "directly connected on en0", False),
        (
            "10.244.1.0/24",
            "128.0.0.0/1",
            "128.0.0.0/1 (the service range of cluster dev, via node dev-control-plane)",
            "it is half of the default route",
            False,
        ),
    ],
)
def test_a_range_the_cluster_names_that_is_not_for_its_pods_is_refused_before_any_change(
    cluster: t.Callable, pod_cidr: str, service_cidr: str, refused: str, reason: str, allowed: bool
) -> None:
    nodes = [node("dev-control-plane", "172.18.0.2", "10.244.0.0/24", True), node("dev-worker", "172.18.0.3", pod_cidr)]
    result, config, scripts = cluster(nodes, service_cidr)
    assert result["failed"] and result["msg"].startswith("refusing to route ranges that the cluster names"), result["msg"]
    assert f"{refused}: " in result["msg"] and reason in result["msg"].split(refused, 1)[1]
    assert "Nothing was changed" in result["msg"] and "set allow_wide_routes: true" in result["msg"]
    assert config == CONFIG and scripts == []
    opted_in, config, scripts = cluster(nodes, service_cidr, allow_wide_routes=True, check=True)
    assert bool(opted_in.get("failed")) is not allowed, opted_in.get("msg")  # a check run: nothing is written either way
    assert not opted_in.get("failed") or opted_in["msg"].startswith("refusing to route: the ")
    assert config == CONFIG and scripts == []


def test_allow_wide_routes_keeps_the_refusal_of_a_range_that_holds_the_default_gateway(cluster: t.Callable) -> None:
    nodes = [node("dev-control-plane", "172.18.0.2", "192.168.1.0/24", True)]
    result, config, scripts = cluster(nodes, allow_wide_routes=True)
    assert result["failed"] and result["msg"].startswith("refusing to route: "), result["msg"]
    assert "the pod range 192.168.1.0/24 of cluster dev holds 192.168.1.1, the gateway of this host's default route (dev en0)" in result["msg"]
    assert config == CONFIG and scripts == []


def test_host_target_with_apply_false_reads_and_plans_and_runs_no_ip_route_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18 item 9: as the user the module reads the table (`ip -j route show`) and returns the commands for the
    role's root task; it never runs one that changes the table. With apply (the default) it runs exactly those."""
    ran: list = []
    monkeypatch.setattr(_host_routes, "read_routes", lambda: HOST)
    monkeypatch.setattr(_kube, "connect", lambda *a: Api([node("dev-control-plane", "172.18.0.2", "10.244.0.0/24", True)]))
    monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, required=False: f"/usr/sbin/{name}")
    monkeypatch.setattr(AnsibleModule, "run_command", lambda self, args, **kwargs: ran.append(args) or (0, "[]", ""))
    planned = in_process(kind_cluster_routes, {"cluster": "dev", "target": "host", "apply": False})
    assert not planned.get("failed"), planned.get("msg")
    wanted = [
        ["ip", "route", "replace", "10.244.0.0/24", "via", "172.18.0.2", "proto", "119"],
        ["ip", "route", "replace", "10.96.0.0/16", "via", "172.18.0.2", "proto", "119"],
    ]
    assert planned["changed"] is True and planned["commands"] == wanted
    assert ran == [["ip", "-j", "route", "show", "table", "main"]]
    applied = in_process(kind_cluster_routes, {"cluster": "dev", "target": "host"})
    assert applied["commands"] == wanted and ran[2:] == wanted


def test_apply_false_with_the_connector_target_is_refused_before_the_cluster_is_read(cluster: t.Callable) -> None:
    result, config, scripts = cluster([node("dev-control-plane", "172.18.0.2", "10.244.0.0/24", True)], apply=False)
    assert result["failed"] is True and "apply: false is for target: host" in result["msg"]
    assert config == CONFIG and scripts == []
