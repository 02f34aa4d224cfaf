"""Reading the host's IPv4 routes: /proc/net/route on Linux, `netstat -rn -f inet` on macOS (recorded output)."""

from __future__ import annotations

import ipaddress

from ansible_collections.hostreach.kind.plugins.module_utils import _host_routes
from ansible_collections.hostreach.kind.plugins.module_utils._host_routes import Route

# /proc/net/route of a Linux host with Docker (read off a Debian 12 machine).
PROC_ROUTE = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
"""

# `netstat -rn -f inet` of a Mac with docker-connector running (format of macOS 14).
NETSTAT = """Routing tables

Internet:
Destination        Gateway            Flags               Netif Expire
default            192.168.1.1        UGScg                 en0
10/8               192.168.251.1      UGSc                utun5
127                127.0.0.1          UCS                   lo0
127.0.0.1          127.0.0.1          UH                    lo0
169.254            link#6             UCS                   en0      !
172.18             192.168.251.1      UGSc                utun5
192.168.1          link#6             UCS                   en0      !
192.168.1.1/32     link#6             UCS                   en0      !
"""


def test_proc_net_route_is_read_with_gateways_and_masks() -> None:
    assert _host_routes.parse_proc_route(PROC_ROUTE) == [
        Route(ipaddress.ip_network("0.0.0.0/0"), "192.0.2.1", "eth0"),
        Route(ipaddress.ip_network("172.17.0.0/16"), None, "docker0"),
        Route(ipaddress.ip_network("192.0.2.0/24"), None, "eth0"),
    ]


def test_netstat_destinations_with_missing_octets_are_networks() -> None:
    routes = _host_routes.parse_netstat(NETSTAT)
    assert [str(r.network) for r in routes] == [
        "0.0.0.0/0",
        "10.0.0.0/8",
        "127.0.0.0/8",
        "127.0.0.1/32",
        "169.254.0.0/16",
        "172.18.0.0/16",
        "192.168.1.0/24",
        "192.168.1.1/32",
    ]
    assert routes[1] == Route(ipaddress.ip_network("10.0.0.0/8"), "192.168.251.1", "utun5")
    assert routes[4].gateway is None  # link#6 is a directly connected network


def test_default_gateways_of_either_format() -> None:
    assert _host_routes.default_gateways(_host_routes.parse_proc_route(PROC_ROUTE)) == ["192.0.2.1"]
    assert _host_routes.default_gateways(_host_routes.parse_netstat(NETSTAT)) == ["192.168.1.1"]
