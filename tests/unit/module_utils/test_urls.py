"""URLs that open a Service from the host (pure): schemes, node addresses, the URL text."""

from __future__ import annotations

import ipaddress

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _urls
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("port", "scheme"),
    [
        ({"name": "http", "port": 5000}, "http"),
        ({"name": "web", "port": 5000}, "http"),
        ({"name": "http-metrics", "port": 9090}, "http"),
        ({"name": "admin-https", "port": 9443}, "https"),
        ({"name": "https", "port": 5000}, "https"),
        ({"name": "x", "port": 5000, "appProtocol": "kubernetes.io/h2c"}, "http"),
        ({"name": "http", "port": 80, "appProtocol": "grpc"}, None),  # appProtocol says what it is
        ({"port": 8080}, "http"),
        ({"port": 443}, "https"),
        ({"name": "dns", "port": 53}, None),
        ({"name": "http", "port": 80, "protocol": "UDP"}, None),
        ({"name": "httpbin", "port": 5000}, None),
    ],
)
def test_port_scheme(port: dict, scheme) -> None:
    assert _urls.port_scheme(port) == scheme


def test_urls_per_node_http_or_bare_and_ipv6_bracketed() -> None:
    assert _urls.port_urls({"name": "http", "port": 80, "nodePort": 30080}, ["172.18.0.2", "172.18.0.3"]) == [
        "http://172.18.0.2:30080",
        "http://172.18.0.3:30080",
    ]
    assert _urls.port_urls({"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053}, ["172.18.0.2"]) == ["172.18.0.2:30053"]
    assert _urls.port_urls({"name": "http", "port": 80, "nodePort": 30080}, ["fc00::2"]) == ["http://[fc00::2]:30080"]
    assert _urls.port_urls({"name": "http", "port": 80}, ["172.18.0.2"]) == []


def test_node_addresses_prefer_ipv4_internal_ip() -> None:
    nodes = [
        {
            "metadata": {"name": "kind-control-plane"},
            "status": {"addresses": [{"type": "InternalIP", "address": "fc00:f853:ccd:e793::2"}, {"type": "InternalIP", "address": "172.18.0.2"}]},
        },
        {"metadata": {"name": "kind-worker"}, "status": {"addresses": [{"type": "Hostname", "address": "kind-worker"}]}},
    ]
    assert _urls.preferred(_urls.node_internal_ips(nodes)[0]) == {"kind-control-plane": "172.18.0.2"}


def test_a_load_balancer_answers_on_its_ingress_addresses_and_the_service_port() -> None:
    lb = {"spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {"ingress": [{"ip": "172.18.0.200"}, {"hostname": "lb.local"}, {}]}}}
    addresses = _urls.ingress_addresses(lb)
    assert addresses == ["172.18.0.200", "lb.local"]
    assert _urls.ingress_urls({"name": "http", "port": 80, "nodePort": 30080}, addresses) == ["http://172.18.0.200:80", "http://lb.local:80"]
    assert _urls.ingress_addresses({"spec": {"type": "NodePort"}, "status": lb["status"]}) == []


def test_cluster_ip_urls_per_port_and_none_for_headless_or_external_names() -> None:
    web = {
        "spec": {
            "clusterIP": "10.96.4.5",
            "clusterIPs": ["10.96.4.5", "fd00::5"],
            "ports": [{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}],
        }
    }
    assert _urls.cluster_ip_urls(web) == ["http://10.96.4.5:80", "10.96.4.5:53"]
    assert _urls.cluster_ip_urls({"spec": {"clusterIP": "None", "ports": [{"port": 80}]}}) == []
    assert _urls.cluster_ip_urls({"spec": {"type": "ExternalName", "externalName": "x.example", "ports": [{"port": 80}]}}) == []


# Node addresses are input: one that is no IP address is skipped, with a warning naming the node (issue 18, item 15)


@pytest.mark.parametrize("garbage", ["node-1.example", "", "1.2.3.4; x", "1.2.3.4/24", "fe80::1%eth0", 16909060, None, "01.2.3.4"])
def test_an_internal_ip_that_is_no_ip_address_is_skipped_with_a_warning_naming_the_node(garbage) -> None:
    nodes = [
        {"metadata": {"name": "bad"}, "status": {"addresses": [{"type": "InternalIP", "address": garbage}]}},
        {"metadata": {"name": "mixed"}, "status": {"addresses": [{"type": "InternalIP", "address": garbage}, {"type": "InternalIP", "address": "172.18.0.3"}]}},
    ]
    addresses, warnings = _urls.node_internal_ips(nodes)
    assert addresses == {"mixed": ["172.18.0.3"]}
    assert [w.split(":")[0] for w in warnings] == ["node 'bad'", "node 'mixed'"]
    assert all(repr(garbage) in w and "not an IP address" in w for w in warnings)


@given(st.text(max_size=40))
def test_no_text_crashes_node_addresses_and_only_ip_addresses_become_urls(text: str) -> None:
    addresses, warnings = _urls.node_internal_ips([{"metadata": {"name": "n"}, "status": {"addresses": [{"type": "InternalIP", "address": text}]}}])
    assert len(addresses.get("n", [])) + len(warnings) == 1
    for ip in addresses.get("n", []):
        assert str(ipaddress.ip_address(ip)) == ip


DUAL_STACK_NODES = {"kind-worker": ["172.18.0.3", "fc00:f853:ccd:e793::3"], "kind-control-plane": ["172.18.0.2", "fc00:f853:ccd:e793::2"]}


@pytest.mark.parametrize(
    ("families", "ips"),
    [
        (None, ["172.18.0.2", "172.18.0.3"]),  # no ipFamilies: IPv4, as before
        (["IPv4"], ["172.18.0.2", "172.18.0.3"]),
        (["IPv6"], ["fc00:f853:ccd:e793::2", "fc00:f853:ccd:e793::3"]),
        (["IPv6", "IPv4"], ["172.18.0.2", "172.18.0.3"]),  # dual-stack: IPv4 preferred, as for `nodes`
    ],
)
def test_node_addresses_follow_the_services_ip_families(families, ips) -> None:
    service = {"spec": {"ipFamilies": families} if families else {}}
    assert _urls.family_node_ips(DUAL_STACK_NODES, _urls.ip_families(service)) == ips


def test_an_ipv6_only_service_gets_no_ipv4_node_and_bracketed_urls() -> None:
    families = _urls.ip_families({"spec": {"ipFamilies": ["IPv6"]}})
    assert _urls.family_node_ips({"kind-control-plane": ["172.18.0.2"]}, families) == []
    ips = _urls.family_node_ips({"kind-control-plane": ["172.18.0.2", "fc00::2"]}, families)
    assert _urls.port_urls({"name": "http", "port": 80, "nodePort": 30080}, ips) == ["http://[fc00::2]:30080"]
