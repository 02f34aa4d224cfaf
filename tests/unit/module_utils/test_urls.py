"""URLs that open a Service from the host (pure): schemes, node addresses, the URL text."""

from __future__ import annotations

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _urls


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
    assert _urls.node_addresses(nodes) == {"kind-control-plane": "172.18.0.2"}


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
