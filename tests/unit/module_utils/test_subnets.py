"""Subnet parsing and the wide-route rule shared by the modules that write routes."""

from __future__ import annotations

import ipaddress

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _subnets


def test_canonical_subnet_keeps_what_is_not_a_subnet() -> None:
    assert _subnets.canonical_subnet("fd00:0001::/64") == "fd00:1::/64"
    assert _subnets.canonical_subnet("172.18.0.1/16") == "172.18.0.0/16"
    assert _subnets.canonical_subnet("not-a-subnet") == "not-a-subnet"


@pytest.mark.parametrize(
    ("cidr", "gateways", "reasons"),
    [
        (
            "0.0.0.0/0",
            ["192.168.1.1"],
            ["its prefix /0 is shorter than /8", "it overlaps loopback 127.0.0.0/8", "it contains this host's default gateway 192.168.1.1"],
        ),
        ("128.0.0.0/2", [], ["its prefix /2 is shorter than /8"]),
        ("64.0.0.0/2", [], ["its prefix /2 is shorter than /8", "it overlaps loopback 127.0.0.0/8"]),
        ("127.0.0.0/8", [], ["it overlaps loopback 127.0.0.0/8"]),
        ("127.1.0.0/16", [], ["it overlaps loopback 127.0.0.0/8"]),
        ("192.168.0.0/16", ["192.168.1.1"], ["it contains this host's default gateway 192.168.1.1"]),
        ("192.168.0.0/16", ["fe80::1", "10.0.0.1"], []),
        ("10.0.0.0/8", [], []),
        ("172.18.0.0/16", ["192.168.1.1"], []),
    ],
)
def test_wide_route_reasons(cidr: str, gateways: list, reasons: list) -> None:
    assert _subnets.wide_route_reasons(ipaddress.ip_network(cidr), gateways) == reasons
