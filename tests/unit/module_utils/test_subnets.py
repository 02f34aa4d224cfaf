"""Subnet parsing and the route refusals shared by the modules that write routes (docker_bridge_routes, kind_cluster_routes)."""

from __future__ import annotations

import ipaddress

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _subnets
from ansible_collections.hostreach.kind.plugins.module_utils._host_routes import Route
from hypothesis import given
from hypothesis import strategies as st


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


# A Mac's table as _host_routes reads it: the LAN on en0, the tunnel's peer on utun5, loopback on lo0 (no gateway).
MAC = [
    Route(ipaddress.ip_network("0.0.0.0/0"), "192.168.1.1", "en0"),
    Route(ipaddress.ip_network("192.168.1.0/24"), None, "en0"),
    Route(ipaddress.ip_network("192.168.251.1/32"), None, "utun5"),
    Route(ipaddress.ip_network("127.0.0.0/8"), None, "lo0"),
]
# A Linux host's: the LAN on eth0, Docker's default bridge and a user bridge (kind's) with their own connected routes.
LINUX = [
    Route(ipaddress.ip_network("0.0.0.0/0"), "10.20.0.1", "eth0"),
    Route(ipaddress.ip_network("10.20.0.0/22"), None, "eth0"),
    Route(ipaddress.ip_network("172.17.0.0/16"), None, "docker0"),
    Route(ipaddress.ip_network("172.18.0.0/16"), None, "br-1e9b0c4d"),
    Route(ipaddress.ip_network("10.96.0.0/16"), "172.18.0.2", "br-1e9b0c4d", "119"),
    Route(ipaddress.ip_network("10.244.1.128/25"), None, "*"),  # `ip route add unreachable` as /proc/net/route shows it
]
PRIVATE = "it is not private (inside " + _subnets.PRIVATE_TEXT + ")"


@pytest.mark.parametrize(
    ("cidr", "routes", "reasons"),
    [
        ("169.254.0.0/16", [], ["it overlaps link-local 169.254.0.0/16", PRIVATE]),
        ("169.254.169.254/32", [], ["it overlaps link-local 169.254.0.0/16", PRIVATE]),
        ("224.0.0.0/4", [], ["its prefix /4 is shorter than /8", "it overlaps multicast 224.0.0.0/4", PRIVATE]),
        ("239.255.255.250/32", [], ["it overlaps multicast 224.0.0.0/4", PRIVATE]),
        ("240.0.0.0/4", [], ["its prefix /4 is shorter than /8", "it overlaps reserved 240.0.0.0/4 (broadcast 255.255.255.255 included)", PRIVATE]),
        ("255.255.255.255/32", [], ["it overlaps reserved 240.0.0.0/4 (broadcast 255.255.255.255 included)", PRIVATE]),
        ("0.0.0.0/8", [], ["it overlaps 'this network' 0.0.0.0/8", PRIVATE]),
        ("8.8.8.0/24", [], [PRIVATE]),
        ("172.0.0.0/12", [], [PRIVATE]),  # right beside 172.16.0.0/12
        ("172.0.0.0/11", [], [PRIVATE]),  # holds 172.16.0.0/12 and public space beside it
        (
            "0.0.0.0/1",
            [],
            [
                "its prefix /1 is shorter than /8",
                "it overlaps loopback 127.0.0.0/8",
                "it is half of the default route (0.0.0.0/1 and 128.0.0.0/1 together take over the default route)",
                "it overlaps 'this network' 0.0.0.0/8",
                PRIVATE,
            ],
        ),
        (
            "128.0.0.0/1",
            [],
            [
                "its prefix /1 is shorter than /8",
                "it is half of the default route (0.0.0.0/1 and 128.0.0.0/1 together take over the default route)",
                "it overlaps link-local 169.254.0.0/16",
                "it overlaps multicast 224.0.0.0/4",
                "it overlaps reserved 240.0.0.0/4 (broadcast 255.255.255.255 included)",
                PRIVATE,
            ],
        ),
        (
            "192.168.0.0/16",
            MAC,
            ["it contains this host's default gateway 192.168.1.1", "it overlaps 192.168.1.0/24, directly connected on en0 (this host's own network)"],
        ),
        ("192.168.1.128/25", MAC, ["it overlaps 192.168.1.0/24, directly connected on en0 (this host's own network)"]),
        ("192.168.251.0/24", MAC, []),  # the tunnel's own peer route is not the host's network
        ("10.20.1.0/24", LINUX, ["it overlaps 10.20.0.0/22, directly connected on eth0 (this host's own network)"]),
        ("172.18.0.0/16", LINUX, []),  # a Docker bridge's own route: what the route leads to, not the LAN
        ("172.17.0.0/16", LINUX, []),
        ("10.96.0.0/16", LINUX, []),  # a route with a gateway is not a connected network (conflicts() sees it)
        ("10.244.1.0/24", LINUX, []),  # nor is an unreachable route (conflicts() sees it too)
        ("100.64.0.0/10", [], []),  # shared address space (CGNAT, Tailscale) counts as private
        ("10.0.0.0/8", [], []),
        ("192.168.0.0/16", [], []),
    ],
)
def test_route_refusals(cidr: str, routes: list, reasons: list) -> None:
    assert _subnets.route_refusals(ipaddress.ip_network(cidr), routes) == reasons


def test_the_bound_is_the_callers() -> None:
    assert _subnets.route_refusals(ipaddress.ip_network("10.0.0.0/8"), [], 12) == ["its prefix /8 is shorter than /12"]
    assert _subnets.route_refusals(ipaddress.ip_network("10.96.0.0/12"), [], 12) == []


def test_refusal_problems_name_the_network_its_origin_and_every_reason() -> None:
    routes = [(ipaddress.ip_network("172.18.0.0/16"), "network kind"), (ipaddress.ip_network("169.254.0.0/16"), "extra_routes")]
    assert _subnets.refusal_problems(routes, LINUX) == [f"169.254.0.0/16 (extra_routes): it overlaps link-local 169.254.0.0/16, {PRIVATE}"]


def test_connected_networks_leave_out_the_tunnel_the_bridges_loopback_and_routes_with_a_gateway() -> None:
    assert [str(r.network) for r in _subnets.connected_networks(MAC + LINUX)] == ["192.168.1.0/24", "10.20.0.0/22"]


ipv4_networks = st.builds(
    lambda address, prefix: ipaddress.ip_network(f"{ipaddress.IPv4Address(address)}/{prefix}", strict=False),
    st.integers(0, 2**32 - 1),
    st.integers(0, 32),
)
devices = st.sampled_from(["eth0", "en0", "wlan0", "utun5", "docker0", "br-1e9b0c4d", "lo0", "tun0", "*"])


@given(
    network=ipv4_networks,
    bound=st.integers(0, 32),
    connected=st.lists(st.tuples(ipv4_networks, devices), max_size=4),
    gateway=st.integers(0, 2**32 - 1),
)
def test_a_network_is_accepted_exactly_when_private_narrow_enough_and_clear_of_the_hosts_networks(
    network: ipaddress.IPv4Network, bound: int, connected: list, gateway: int
) -> None:
    default = str(ipaddress.IPv4Address(gateway))
    routes = [Route(ipaddress.ip_network("0.0.0.0/0"), default, "eth0")] + [Route(n, None, d) for n, d in connected]
    own = [n for n, d in connected if n.prefixlen > 0 and d != "*" and not d.startswith(("utun", "docker0", "br-", "lo"))]
    private = any(network.subnet_of(ipaddress.ip_network(p)) for p in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"))
    accepted = private and network.prefixlen >= bound and ipaddress.IPv4Address(default) not in network and not any(network.overlaps(n) for n in own)
    assert (_subnets.route_refusals(network, routes, bound) == []) == accepted
    if accepted:  # then nothing special is in it either
        assert not any(network.overlaps(ipaddress.ip_network(s)) for s in ("127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4", "0.0.0.0/8"))


def test_the_default_route_itself_is_named() -> None:
    assert "it is the default route itself" in _subnets.route_refusals(ipaddress.ip_network("0.0.0.0/0"), [])
