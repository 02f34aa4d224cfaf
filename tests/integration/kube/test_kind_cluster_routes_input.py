"""kind_cluster_routes against the real tier 1 apiserver, with Node objects a hostile cluster admin could make: an
InternalIP that is shell text (the apiserver stores it as given) and a Pod range that is public. The module runs as a
user runs it (`ansible localhost -m`, target=host, check mode); what is proved is that the hostile node is skipped
with a warning naming it, the public range is refused naming its node, and this host's routes stay as they were.

The Nodes are API objects only (tier 1 runs no kubelet); nothing is sent to any of their addresses.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from harness.tier1 import TEST_LABEL, Tier1
from tests.ansible_runner import adhoc, playbook

pytestmark = pytest.mark.tier1

CONTROL_PLANE = "node-role.kubernetes.io/control-plane"
HOSTILE = ["172.31.250.3; reboot", "$(id)", "172.31.250.3\nip route flush table main", "::1", ""]


def host_routes() -> str:
    return subprocess.run(["ip", "-j", "route", "show", "table", "all"], capture_output=True, text=True, check=True).stdout


class Nodes:
    """Node API objects made through the API (status set through the status subresource), deleted at the end."""

    def __init__(self, tier1: Tier1) -> None:
        self.core, self.run, self.made = tier1.core_v1(), uuid.uuid4().hex[:6], []

    def make(self, short: str, address: str, pod_cidr: str, control_plane: bool = False) -> str:
        from kubernetes import client

        name = f"hr-routes-{self.run}-{short}"
        labels = {TEST_LABEL: "true", **({CONTROL_PLANE: ""} if control_plane else {})}
        spec = client.V1NodeSpec(pod_cidr=pod_cidr, pod_cidrs=[pod_cidr])
        self.core.create_node(client.V1Node(metadata=client.V1ObjectMeta(name=name, labels=labels), spec=spec))
        self.made.append(name)
        self.core.patch_node_status(name, {"status": {"addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}]}})
        assert self.core.read_node_status(name).status.addresses[0].address == address  # stored as given: the apiserver does not check it
        return name

    def cleanup(self) -> None:
        for name in self.made:
            self.core.delete_node(name)


@pytest.fixture
def nodes(tier1: Tier1) -> Iterator[Nodes]:
    made = Nodes(tier1)
    try:
        yield made
    finally:
        made.cleanup()


def routes(tier1: Tier1) -> dict:
    return adhoc("kind_cluster_routes", {"cluster": "tier1", "kubeconfig": tier1.kubeconfig, "context": tier1.context, "target": "host"}, check=True)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_node_whose_internal_ip_is_not_an_address_is_skipped_with_a_warning_and_nothing_changes(tier1: Tier1, nodes: Nodes, hostile: str) -> None:
    good = nodes.make("good", "172.31.250.2", "10.250.0.0/24", control_plane=True)
    evil = nodes.make("evil", hostile, "10.250.1.0/24")
    before = host_routes()
    result = routes(tier1)
    assert not result.get("failed"), result.get("msg")
    assert f"node '{evil}' has no IPv4 InternalIP: it is skipped, nothing is routed through it" in result["warnings"], result.get("warnings")
    if hostile != "::1":
        assert f"node '{evil}': InternalIP {hostile!r} is not an IPv4 unicast address; it is not used" in result["warnings"]
    mine = [r for r in result["routes"] if r["node"] in (good, evil)]
    assert mine == [
        {"cidr": "10.96.0.0/16", "via": "172.31.250.2", "role": "service", "node": good},  # tier 1's Service range
        {"cidr": "10.250.0.0/24", "via": "172.31.250.2", "role": "pod", "node": good},
    ]
    assert all(r["via"] != hostile and r["node"] != evil for r in result["routes"])
    if hostile:
        assert hostile not in json.dumps({k: result[k] for k in ("routes", "added", "removed", "service_cidrs")})
    assert host_routes() == before


def test_a_node_with_a_public_pod_range_is_refused_naming_it_and_nothing_changes(tier1: Tier1, nodes: Nodes) -> None:
    nodes.make("plane", "172.31.250.2", "10.250.0.0/24", control_plane=True)
    wide = nodes.make("wide", "172.31.250.4", "8.8.8.0/24")
    before = host_routes()
    result = routes(tier1)
    assert result["failed"] is True
    assert result["msg"].startswith("refusing to route ranges that the cluster names and that are not for its Services and Pods: "), result["msg"]
    assert f"8.8.8.0/24 (the pod range of cluster tier1, via node {wide}): it is not private" in result["msg"]
    assert "Nothing was changed" in result["msg"] and "allow_wide_routes: true" in result["msg"]
    assert host_routes() == before


def test_the_role_refuses_the_same_and_hostreach_kind_allow_wide_routes_lets_it_through(tier1: Tier1, nodes: Nodes) -> None:
    nodes.make("plane", "172.31.250.2", "10.250.0.0/24", control_plane=True)
    wide = nodes.make("wide", "172.31.250.4", "8.8.8.0/24")
    play = [{"hosts": "localhost", "gather_facts": False, "roles": ["hostreach.kind.cluster_routes"]}]
    settings = {
        "hostreach_kind_mode": "direct",
        "hostreach_kind_cluster": "tier1",
        "hostreach_kind_kubeconfig": tier1.kubeconfig,
        "hostreach_kind_context": tier1.context,
        "cluster_routes_become": False,
    }
    before = host_routes()
    refused = playbook(play, settings, check=True)
    assert refused.returncode != 0 and f"8.8.8.0/24 (the pod range of cluster tier1, via node {wide}): it is not private" in refused.stdout, refused.stdout
    allowed = playbook(play, {**settings, "hostreach_kind_allow_wide_routes": True}, check=True)
    assert allowed.returncode == 0 and "refusing to route ranges" not in allowed.stdout, allowed.stdout + allowed.stderr  # a check run: nothing added
    assert host_routes() == before
