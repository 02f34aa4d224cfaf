# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Subnets: parsing, the canonical spelling, and routes too wide to send into a tunnel. Pure: no I/O.

Neutral ground for every module that handles CIDRs (Docker's networks, docker-connector's route lines,
a cluster's Service and Pod ranges), so none of them imports another one's parser.
"""

from __future__ import annotations

import ipaddress
import typing as t

Network = t.Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# A route shorter than this pulls a large part of the Internet into the tunnel.
NARROWEST_WIDE_PREFIX = 8
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


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


def wide_route_reasons(network: ipaddress.IPv4Network, gateways: t.Iterable[str] = ()) -> list:
    """Why routing `network` into a tunnel would pull in traffic that is not for containers ([] when it would not):
    a prefix shorter than /8, an overlap with loopback, or the host's default gateway inside it (the host would
    lose the way to its own router)."""
    reasons = []
    if network.prefixlen < NARROWEST_WIDE_PREFIX:
        reasons.append(f"its prefix /{network.prefixlen} is shorter than /{NARROWEST_WIDE_PREFIX}")
    if network.overlaps(LOOPBACK):
        reasons.append(f"it overlaps loopback {LOOPBACK}")
    for gateway in gateways:
        address = ipaddress.ip_address(gateway)
        if address.version == 4 and address in network:
            reasons.append(f"it contains this host's default gateway {gateway}")
    return reasons
