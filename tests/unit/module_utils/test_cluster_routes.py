"""Planning a kind cluster's routes (pure): its ranges, the routes through its nodes, what they must not overlap."""

from __future__ import annotations

import ipaddress

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _cluster_routes, _subnets
from ansible_collections.hostreach.kind.plugins.module_utils._errors import PlanError
from ansible_collections.hostreach.kind.plugins.module_utils._host_routes import Route
from hypothesis import given
from hypothesis import strategies as st


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
        Route(ipaddress.ip_network("0.0.0.0/0"), "192.168.1.1", "en0"),  # the default route counts only for a range holding its gateway
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


HOSTILE_ADDRESSES = ["172.18.0.2; reboot", "$(id)", "172.18.0.2\nip route flush table main", "::1", "", "127.0.0.1", "255.255.255.255", "0.0.0.0", None, 172]


@pytest.mark.parametrize("hostile", HOSTILE_ADDRESSES)
def test_a_node_without_an_ipv4_unicast_internal_ip_is_skipped_with_a_warning_naming_it(hostile: object) -> None:
    bad = {"metadata": {"name": "evil"}, "spec": {"podCIDRs": ["10.244.7.0/24"]}, "status": {"addresses": [{"type": "InternalIP", "address": hostile}]}}
    (found,) = _cluster_routes.cluster_nodes([bad])
    assert found.ip is None
    assert "node 'evil' has no IPv4 InternalIP: it is skipped, nothing is routed through it" in found.warnings
    if hostile != "::1":  # an IPv6 address is a dual-stack node's second family, not an error
        assert f"node 'evil': InternalIP {hostile!r} is not an IPv4 unicast address; it is not used" in found.warnings
    wanted = _cluster_routes.wanted_routes([ipaddress.ip_network("10.96.0.0/16")], _cluster_routes.cluster_nodes([bad, node("good", "172.18.0.3", [], True)]))
    assert [(r.text(), r.node) for r in wanted] == [("10.96.0.0/16 via 172.18.0.3", "good")]  # nothing of evil's


def test_a_hostile_internal_ip_beside_a_good_one_is_not_used_and_the_good_one_is() -> None:
    both = node("mixed", "172.18.0.4", ["10.244.4.0/24"])
    both["status"]["addresses"].insert(0, {"type": "InternalIP", "address": "172.18.0.2; reboot"})
    (found,) = _cluster_routes.cluster_nodes([both])
    assert found.ip == "172.18.0.4"
    assert found.warnings == ("node 'mixed': InternalIP '172.18.0.2; reboot' is not an IPv4 unicast address; it is not used",)


@given(st.text(max_size=40) | st.from_regex(r"\A[0-9.]{7,15}\Z"))
def test_a_node_ip_is_only_ever_an_ipv4_unicast_address_as_ipaddress_spells_it(text: str) -> None:
    (found,) = _cluster_routes.cluster_nodes([{"metadata": {"name": "n"}, "status": {"addresses": [{"type": "InternalIP", "address": text}]}}])
    if found.ip is not None:
        address = ipaddress.IPv4Address(found.ip)
        assert str(address) == found.ip == text and not (address.is_loopback or address.is_multicast or address.is_reserved or address.is_unspecified)


def test_a_pod_cidr_that_is_not_a_cidr_is_left_out_with_a_warning() -> None:
    bad = node("evil", "172.18.0.5", ["10.244.5.0/24", "10.244.6.0/24; reboot"])
    (found,) = _cluster_routes.cluster_nodes([bad])
    assert [str(c) for c in found.pod_cidrs] == ["10.244.5.0/24"]
    assert found.warnings == ("node 'evil': spec.podCIDRs entry '10.244.6.0/24; reboot' is not a CIDR; it is not used",)


def test_a_range_that_holds_the_default_routes_gateway_is_refused() -> None:
    wanted = _cluster_routes.wanted_routes([ipaddress.ip_network("10.96.0.0/16")], NODES)
    existing = [Route(ipaddress.ip_network("0.0.0.0/0"), "10.96.0.1", "eth0")]  # nothing else: no LAN route covers the gateway
    problems = _cluster_routes.conflicts("dev", wanted, existing, lambda r: False, lambda r: None)
    assert problems == [
        "the service range 10.96.0.0/16 of cluster dev holds 10.96.0.1, the gateway of this host's default route (dev eth0): routing it to the node"
        " would cut this host off from its router; create the cluster with other " + _cluster_routes.KIND_FIELDS
    ]


def test_the_clusters_ranges_go_through_the_shared_refusals_with_the_apiservers_bound() -> None:
    nodes = _cluster_routes.cluster_nodes(
        [node("kind-control-plane", "172.18.0.2", ["8.8.8.0/24"], True), node("kind-worker", "172.18.0.3", ["169.254.1.0/24"])]
    )
    wanted = _cluster_routes.wanted_routes([ipaddress.ip_network("10.0.0.0/8")], nodes)
    host = [Route(ipaddress.ip_network("0.0.0.0/0"), "192.0.2.1", "eth0"), Route(ipaddress.ip_network("172.18.0.0/16"), None, "br-1")]
    private = "it is not private (inside " + _subnets.PRIVATE_TEXT + ")"
    assert _cluster_routes.refusals("dev", wanted, host) == [
        "10.0.0.0/8 (the service range of cluster dev, via node kind-control-plane): its prefix /8 is shorter than /12",
        f"8.8.8.0/24 (the pod range of cluster dev, via node kind-control-plane): {private}",
        f"169.254.1.0/24 (the pod range of cluster dev, via node kind-worker): it overlaps link-local 169.254.0.0/16, {private}",
    ]
    assert _cluster_routes.refusals("dev", _cluster_routes.wanted_routes([ipaddress.ip_network("10.96.0.0/16")], NODES), host) == []


# -- a gone cluster's routes, from its record (issue 20, item 5) ------------------------------------------------------


def recorded(*routes: tuple) -> dict:
    return {"routes": [{"cidr": c, "via": v, "role": r, "node": "n"} for c, v, r in routes]}


def test_a_record_gives_back_the_routes_it_was_made_of() -> None:
    wanted = _cluster_routes.wanted_routes(
        [ipaddress.ip_network("10.96.0.0/16")], _cluster_routes.cluster_nodes([node("dev-control-plane", "172.18.0.2", ["10.244.0.0/24"], True)])
    )
    record = _cluster_routes.record_of("dev", wanted)
    assert record["cluster"] == "dev"
    assert _cluster_routes.recorded_routes("dev", record, {}) == (wanted, [])


def test_a_route_another_clusters_record_names_too_is_left_with_the_reason() -> None:
    mine = recorded(("10.96.0.0/16", "172.18.0.2", "service"), ("10.244.0.0/24", "172.18.0.2", "pod"))
    others = {"new": recorded(("10.96.0.0/16", "172.18.0.2", "service")), "far": recorded(("10.244.0.0/24", "172.18.0.3", "pod"))}
    kept, left = _cluster_routes.recorded_routes("old", mine, others)
    assert [r.text() for r in kept] == ["10.244.0.0/24 via 172.18.0.2"]  # the same range through another node is not the same route
    assert left == ["10.96.0.0/16 via 172.18.0.2 stays: the record of cluster new names it too (a cluster made since old went took it over)"]


@pytest.mark.parametrize(
    "entry",
    [
        {"cidr": "10.96.0.0/16", "via": "172.18.0.2; reboot"},
        {"cidr": "10.96.0.1/16", "via": "172.18.0.2"},  # host bits: never written so
        {"cidr": "fc00::/64", "via": "172.18.0.2"},
        {"cidr": "10.96.0.0/16", "via": "127.0.0.1"},
        {"cidr": "10.96.0.0/16"},
        "10.96.0.0/16 via 172.18.0.2",
        None,
    ],
)
def test_a_record_entry_that_is_not_an_ipv4_route_through_a_unicast_address_is_never_used(entry: object) -> None:
    kept, _left = _cluster_routes.recorded_routes("dev", {"routes": [entry, {"cidr": "10.244.0.0/24", "via": "172.18.0.2", "role": "pod"}]}, {})
    assert [r.text() for r in kept] == ["10.244.0.0/24 via 172.18.0.2"]


@pytest.mark.parametrize("record", [None, {}, {"routes": None}, {"routes": "10.96.0.0/16"}])
def test_no_record_or_one_without_routes_names_none(record: object) -> None:
    assert _cluster_routes.recorded_routes("dev", record, {"other": record}) == ([], [])
