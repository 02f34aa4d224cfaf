"""Address arithmetic in Python, not in Jinja (issue 19, item 3)."""

from __future__ import annotations

import ipaddress

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.hostreach.kind.plugins.filter.addresses import route_probe_address, tunnel_peer
from hypothesis import given
from hypothesis import strategies as st


def test_the_mac_is_the_address_after_docker_connectors_addr() -> None:
    assert tunnel_peer("192.168.251.1/24") == "192.168.251.2"
    assert tunnel_peer("10.9.0.1") == "10.9.0.2"
    assert tunnel_peer(" 192.168.251.9/24 ") == "192.168.251.10"


@pytest.mark.parametrize("addr", ["192.168.251.254/24", "192.168.251.255/24", "not-an-ip", "fd00::1/64", ""])
def test_an_addr_without_room_after_it_or_no_ipv4_is_refused_naming_it(addr: str) -> None:
    with pytest.raises(AnsibleFilterError, match="tunnel_peer"):
        tunnel_peer(addr)


def test_the_probe_address_is_the_subnets_second_address() -> None:
    assert route_probe_address("172.18.0.0/16") == "172.18.0.2"
    assert route_probe_address("10.96.0.0/12") == "10.96.0.2"
    assert route_probe_address("192.168.99.0/24") == "192.168.99.2"


@pytest.mark.parametrize("subnet", ["10.0.0.0/31", "10.0.0.1/32", "nonsense", "fd00::/64"])
def test_a_subnet_without_a_second_host_or_no_ipv4_is_refused(subnet: str) -> None:
    with pytest.raises(AnsibleFilterError, match="route_probe_address"):
        route_probe_address(subnet)


@given(st.integers(0, 2**32 - 1), st.integers(8, 30))
def test_the_probe_address_is_inside_the_subnet_and_two_after_its_start(address: int, prefix: int) -> None:
    network = ipaddress.IPv4Network((address, prefix), strict=False)
    probe = ipaddress.IPv4Address(route_probe_address(str(network)))
    assert probe in network and int(probe) - int(network.network_address) == 2
