# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IPv4 routing table of the host the module runs on, read without changing anything.

Linux: /proc/net/route (the main table, what `ip route` shows, no command needed). macOS: `netstat -rn -f inet`.
The parsers are pure and tested with recorded output; `read_routes` does the reading.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import struct
import subprocess
import typing as t

PROC_ROUTE = "/proc/net/route"
NETSTAT = ("netstat", "-rn", "-f", "inet")
PROTO = "119"  # `ip route ... proto 119`: the routes kind_cluster_routes adds on Linux (no routing daemon uses 119)


class Route(t.NamedTuple):
    network: ipaddress.IPv4Network
    gateway: str | None  # None for a directly connected network
    device: str
    protocol: str | None = None  # `ip route`'s proto (who added it), where the source tells it


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


def parse_ip_json(text: str) -> list:
    """IPv4 routes out of `ip -j route show` (iproute2's JSON), with the protocol that added each."""
    routes = []
    for entry in json.loads(text or "[]"):
        destination = entry.get("dst", "")
        network = ipaddress.ip_network("0.0.0.0/0" if destination == "default" else destination if "/" in destination else f"{destination}/32", strict=False)
        if network.version == 4:
            routes.append(Route(network, entry.get("gateway"), entry.get("dev", ""), str(entry["protocol"]) if "protocol" in entry else None))
    return routes


def parse_ip_text(text: str) -> list:
    """IPv4 routes out of plain `ip route show` (what both iproute2 and busybox print): `<dst> [via <gw>] dev <dev> ...`
    (`default` and `10.96.0.0/16` both read as networks)."""
    routes = []
    for line in text.splitlines():
        words = line.split()
        if not words or words[0] in ("unreachable", "blackhole", "prohibit", "throw", "local", "broadcast"):
            continue
        network = _netstat_network(words[0])
        if network is None:
            continue
        field = {words[i]: words[i + 1] for i in range(1, len(words) - 1) if words[i] in ("via", "dev", "proto")}
        routes.append(Route(network, field.get("via"), field.get("dev", ""), field.get("proto")))
    return routes


def covering(routes: list, address: str) -> Route | None:
    """The route the host would use for `address`: the longest prefix that contains it."""
    ip = ipaddress.ip_address(address)
    matching = [r for r in routes if ip in r.network]
    return max(matching, key=lambda r: r.network.prefixlen) if matching else None


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
