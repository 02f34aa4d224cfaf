"""Planning a kind cluster's routes (pure): its ranges, the routes through its nodes, what they must not overlap."""

from __future__ import annotations

import ipaddress

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _cluster_routes
from ansible_collections.hostreach.kind.plugins.module_utils._errors import PlanError
from ansible_collections.hostreach.kind.plugins.module_utils._host_routes import Route


def node(name: str, ip: str, cidrs: list, control_plane: bool = False) -> dict:
    labels = {"node-role.kubernetes.io/control-plane": ""} if control_plane else {}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"podCIDR": cidrs[0] if cidrs else None, "podCIDRs": cidrs},
        "status": {"addresses": [{"type": "InternalIP", "address": "fc00:f853:ccd:e793::2"}, {"type": "InternalIP", "address": ip}]},
    }


NODES = _cluster_routes.cluster_nodes(
    [node("kind-worker", "172.18.0.3", ["10.244.1.0/24"]), node("kind-control-plane", "172.18.0.2", ["10.244.0.0/24", "fd00::/64"], True)]
)


def test_the_service_range_comes_from_service_cidr_objects_else_kubeadm() -> None:
    objects = [{"spec": {"cidrs": ["10.96.0.0/16", "fd00:10:96::/112"]}}]
    assert _cluster_routes.service_cidrs(objects, None) == ([ipaddress.ip_network("10.96.0.0/16")], "the ServiceCIDR objects")
    kubeadm = {"networking": {"serviceSubnet": "10.112.16.0/20,fd00::/108"}}
    assert _cluster_routes.service_cidrs([], kubeadm) == ([ipaddress.ip_network("10.112.16.0/20")], "networking.serviceSubnet of kube-system/kubeadm-config")
    with pytest.raises(PlanError, match="says nowhere what its Service range is"):
        _cluster_routes.service_cidrs(None, None)


def test_services_go_through_the_control_plane_and_each_pod_range_through_its_node() -> None:
    assert [(n.name, n.ip, [str(c) for c in n.pod_cidrs], n.control_plane) for n in NODES] == [
        ("kind-control-plane", "172.18.0.2", ["10.244.0.0/24"], True),  # IPv4 only
        ("kind-worker", "172.18.0.3", ["10.244.1.0/24"], False),
    ]
    wanted = _cluster_routes.wanted_routes([ipaddress.ip_network("10.96.0.0/16")], NODES)
    assert [(r.text(), r.role, r.node) for r in wanted] == [
        ("10.96.0.0/16 via 172.18.0.2", "service", "kind-control-plane"),
        ("10.244.0.0/24 via 172.18.0.2", "pod", "kind-control-plane"),
        ("10.244.1.0/24 via 172.18.0.3", "pod", "kind-worker"),
    ]


def test_a_range_overlapping_a_host_route_or_another_clusters_is_refused_naming_both() -> None:
    wanted = _cluster_routes.wanted_routes([ipaddress.ip_network("10.96.0.0/16")], NODES)
    existing = [
        Route(ipaddress.ip_network("0.0.0.0/0"), "192.168.1.1", "en0"),  # the default route never counts
        Route(ipaddress.ip_network("10.96.0.0/16"), "172.18.0.2", "br-1", "119"),  # ours: no conflict
        Route(ipaddress.ip_network("10.96.0.0/12"), "10.8.0.1", "tun0"),  # a VPN's
        Route(ipaddress.ip_network("10.244.1.0/24"), "172.18.0.9", "br-1", "119"),  # another cluster's
    ]
    problems = _cluster_routes.conflicts(
        "dev", wanted, existing, lambda r: r.protocol == "119" and r.gateway in {"172.18.0.2", "172.18.0.3"}, lambda r: "kind" if r.protocol == "119" else None
    )
    assert problems == [
        "the service range 10.96.0.0/16 of cluster dev overlaps the route 10.96.0.0/12 via 10.8.0.1 dev tun0 this host already has (a VPN's or the LAN's, say):"
        " routing it to the node would cut that off; create the cluster with other " + _cluster_routes.KIND_FIELDS,
        "the pod range 10.244.1.0/24 of cluster dev overlaps 10.244.1.0/24, routed via 172.18.0.9 dev br-1 for cluster kind: kind gives every cluster the same"
        " ranges unless told; create dev with other " + _cluster_routes.KIND_FIELDS,
    ]


def test_plan_adds_what_is_missing_removes_what_is_stale_and_absent_removes_all() -> None:
    wanted = _cluster_routes.wanted_routes([ipaddress.ip_network("10.96.0.0/16")], NODES)
    current = [(ipaddress.ip_network("10.96.0.0/16"), "172.18.0.2"), (ipaddress.ip_network("10.244.9.0/24"), "172.18.0.3")]
    assert _cluster_routes.plan(wanted, current, "present") == (
        [("10.244.0.0/24", "172.18.0.2"), ("10.244.1.0/24", "172.18.0.3")],
        [("10.244.9.0/24", "172.18.0.3")],
    )
    assert _cluster_routes.plan(wanted, [(r.cidr, r.via) for r in wanted], "present") == ([], [])
    assert _cluster_routes.plan(wanted, current, "absent") == ([], [("10.244.9.0/24", "172.18.0.3"), ("10.96.0.0/16", "172.18.0.2")])


def test_a_cluster_without_node_addresses_cannot_be_routed() -> None:
    with pytest.raises(PlanError, match="no node of the cluster has an IPv4 InternalIP"):
        _cluster_routes.wanted_routes([ipaddress.ip_network("10.96.0.0/16")], _cluster_routes.cluster_nodes([{"metadata": {"name": "x"}}]))
