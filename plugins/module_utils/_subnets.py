# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Subnets: parsing, the canonical spelling, and routes that must not be sent into a tunnel or to a node. Pure: no I/O.

Neutral ground for every module that handles CIDRs (Docker's networks, docker-connector's route lines,
a cluster's Service and Pod ranges), so none of them imports another one's parser.

`route_refusals` is the one rule for every route the collection writes (docker_bridge_routes' lines,
kind_cluster_routes' routes): a route is allowed only when it is private (inside 10.0.0.0/8, 172.16.0.0/12,
192.168.0.0/16 or the shared address space 100.64.0.0/10), no wider than the caller's bound, and clear of loopback,
link-local, multicast, reserved space, 0.0.0.0/8, the host's default gateway and the host's directly connected
networks. A directly connected network is a route with no gateway on a device that is neither the tunnel (utun*)
nor a Docker bridge (docker0, br-*) nor loopback (lo*, refused as loopback already), nor no device (an unreachable or
blackhole route): the bridges' own routes are what the routes lead to, not the host's LAN.
"""

from __future__ import annotations

import ipaddress
import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils._host_routes import default_gateways

Network = t.Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# A route shorter than this pulls a large part of the Internet into the tunnel.
NARROWEST_WIDE_PREFIX = 8
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
PRIVATE = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"))
PRIVATE_TEXT = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or the shared address space 100.64.0.0/10"
# Space no route of containers or clusters belongs in, with the words a refusal uses for it.
SPECIAL = (
    (ipaddress.ip_network("0.0.0.0/8"), "'this network' 0.0.0.0/8"),
    (ipaddress.ip_network("169.254.0.0/16"), "link-local 169.254.0.0/16"),
    (ipaddress.ip_network("224.0.0.0/4"), "multicast 224.0.0.0/4"),
    (ipaddress.ip_network("240.0.0.0/4"), "reserved 240.0.0.0/4 (broadcast 255.255.255.255 included)"),
)
DEFAULT_HALVES = (ipaddress.ip_network("0.0.0.0/1"), ipaddress.ip_network("128.0.0.0/1"))
# Devices whose routes without a gateway are not the host's own networks: the tunnel, Docker's bridges, loopback.
NOT_CONNECTED_DEVICES = ("utun", "docker0", "br-", "lo")


def parse_network(text: str, strict: bool = False) -> Network | None:
    """A CIDR as docker-connector accepts it (host bits allowed unless strict: 172.18.0.1/16 is 172.18.0.0/16)."""
    if "/" not in text:
        return None
    try:
        return ipaddress.ip_network(text, strict=strict)
    except ValueError:
        return None


def canonical_subnet(subnet: str) -> str:
    """A subnet as the parser writes it (fd00:0001::/64 -> fd00:1::/64, 172.18.0.1/16 -> 172.18.0.0/16):
    Docker keeps whatever form `docker network create --subnet` was given, the config file and the results use
    the parser's. What the parser does not take stays as it is."""
    network = parse_network(subnet)
    return str(network) if network is not None else subnet


def wide_route_reasons(network: ipaddress.IPv4Network, gateways: t.Iterable[str] = (), widest_prefix: int = NARROWEST_WIDE_PREFIX) -> list:
    """Why routing `network` into a tunnel would pull in traffic that is not for containers ([] when it would not):
    a prefix shorter than `widest_prefix`, an overlap with loopback, or the host's default gateway inside it (the host
    would lose the way to its own router)."""
    reasons = []
    if network.prefixlen < widest_prefix:
        reasons.append(f"its prefix /{network.prefixlen} is shorter than /{widest_prefix}")
    if network.overlaps(LOOPBACK):
        reasons.append(f"it overlaps loopback {LOOPBACK}")
    for gateway in gateways:
        address = ipaddress.ip_address(gateway)
        if address.version == 4 and address in network:
            reasons.append(f"it contains this host's default gateway {gateway}")
    return reasons


def connected_networks(host_routes: t.Iterable) -> list:
    """The host's directly connected networks (its LAN, say) among routes with .network, .gateway and .device: no
    gateway, and a device that is not the tunnel, a Docker bridge or loopback (NOT_CONNECTED_DEVICES), nor none at all
    (`*` in /proc/net/route: an unreachable or blackhole route, which conflicts() of the cluster routes still sees)."""
    return [
        r
        for r in host_routes
        if r.gateway is None and r.network.prefixlen > 0 and str(r.device or "*") != "*" and not str(r.device).startswith(NOT_CONNECTED_DEVICES)
    ]


def _special_reasons(network: ipaddress.IPv4Network) -> list:
    reasons = []
    if network.prefixlen == 0:
        reasons.append("it is the default route itself")
    if network in DEFAULT_HALVES:
        reasons.append("it is half of the default route (0.0.0.0/1 and 128.0.0.0/1 together take over the default route)")
    reasons += [f"it overlaps {words}" for space, words in SPECIAL if network.overlaps(space)]
    if not any(network.subnet_of(private) for private in PRIVATE):
        reasons.append(f"it is not private (inside {PRIVATE_TEXT})")
    return reasons


def route_refusals(network: ipaddress.IPv4Network, host_routes: t.Iterable, widest_prefix: int = NARROWEST_WIDE_PREFIX) -> list:
    """Why routing `network` (into the tunnel, or to a kind node) would take traffic that is not for containers or the
    cluster ([] when it would not): every reason of wide_route_reasons (with `widest_prefix`, the gateways of the default
    routes among `host_routes`), then default-route halves, 0.0.0.0/8, link-local, multicast, reserved space, anything
    not private, and an overlap with a directly connected network of the host (connected_networks)."""
    routes = list(host_routes)
    reasons = wide_route_reasons(network, default_gateways(routes), widest_prefix) + _special_reasons(network)
    for route in connected_networks(routes):
        if network.overlaps(route.network):
            reasons.append(f"it overlaps {route.network}, directly connected on {route.device} (this host's own network)")
    return reasons


def refusal_problems(routes: t.Iterable, host_routes: t.Iterable, widest_prefix: int = NARROWEST_WIDE_PREFIX) -> list:
    """`<network> (<origin>): <reasons>` for each (network, origin) of `routes` that route_refusals refuses."""
    known = list(host_routes)
    problems = []
    for network, origin in routes:
        reasons = route_refusals(network, known, widest_prefix)
        if reasons:
            problems.append(f"{network} ({origin}): {', '.join(reasons)}")
    return problems
