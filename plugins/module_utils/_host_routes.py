# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IPv4 routing table of the host the module runs on, read without changing anything.

Linux: /proc/net/route (the main table, what `ip route` shows, no command needed). macOS: `netstat -rn -f inet`.
The parsers are pure and tested with recorded output; `read_routes` does the reading.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import subprocess
import typing as t

PROC_ROUTE = "/proc/net/route"
NETSTAT = ("netstat", "-rn", "-f", "inet")


class Route(t.NamedTuple):
    network: ipaddress.IPv4Network
    gateway: str | None  # None for a directly connected network
    device: str


def _hex_ip(text: str) -> str:
    return socket.inet_ntoa(struct.pack("<I", int(text, 16)))


def parse_proc_route(text: str) -> list:
    """Routes out of /proc/net/route (little-endian hex fields: Iface Destination Gateway Flags ... Mask)."""
    routes = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        destination, gateway, mask = _hex_ip(fields[1]), _hex_ip(fields[2]), _hex_ip(fields[7])
        network = ipaddress.ip_network(f"{destination}/{mask}", strict=False)
        routes.append(Route(network, None if gateway == "0.0.0.0" else gateway, fields[0]))
    return routes


def _netstat_network(destination: str) -> ipaddress.IPv4Network | None:
    """netstat's Destination column: `default`, `10/8`, `192.168.1`, `172.18.0.2`, `169.254` (missing octets are 0)."""
    if destination == "default":
        return ipaddress.ip_network("0.0.0.0/0")
    address, _sep, prefix = destination.partition("/")
    octets = address.split(".")
    if not all(o.isdigit() for o in octets) or len(octets) > 4:
        return None
    length = int(prefix) if prefix.isdigit() else 8 * len(octets)
    try:
        return ipaddress.ip_network(".".join(octets + ["0"] * (4 - len(octets))) + f"/{length}", strict=False)
    except ValueError:
        return None


def parse_netstat(text: str) -> list:
    """Routes out of macOS `netstat -rn -f inet` (Destination Gateway Flags Netif [Expire])."""
    routes = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[0] in ("Destination", "Routing", "Internet:"):
            continue
        network = _netstat_network(fields[0])
        if network is None:
            continue
        gateway = fields[1] if fields[1][:1].isdigit() and "G" in fields[2] else None
        routes.append(Route(network, gateway, fields[3]))
    return routes


def read_routes() -> list:
    """This host's IPv4 routes; [] where neither source can be read (the callers then check nothing)."""
    if os.path.exists(PROC_ROUTE):
        with open(PROC_ROUTE, encoding="ascii") as handle:
            return parse_proc_route(handle.read())
    try:
        done = subprocess.run(NETSTAT, capture_output=True, text=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_netstat(done.stdout)


def default_gateways(routes: list) -> list:
    """The next hops of the default routes."""
    return [r.gateway for r in routes if r.network.prefixlen == 0 and r.gateway]
