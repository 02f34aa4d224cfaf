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


# `ip -j route show` and `ip route show` on a Linux host with a kind cluster routed by kind_cluster_routes (proto 119).
IP_JSON = """[{"dst":"default","gateway":"192.0.2.1","dev":"eth0","flags":[]},
{"dst":"10.96.0.0/16","gateway":"172.18.0.2","dev":"br-1e9b","protocol":"119","flags":[]},
{"dst":"172.18.0.0/16","dev":"br-1e9b","protocol":"kernel","scope":"link","prefsrc":"172.18.0.1","flags":[]},
{"dst":"fc00::/64","dev":"br-1e9b","protocol":"kernel","flags":[]}]"""
IP_TEXT = """default via 192.0.2.1 dev eth0
10.96.0.0/16 via 172.18.0.2 dev br-1e9b proto 119
172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 linkdown
unreachable 10.254.0.0/24
"""


def test_ip_json_and_text_read_alike_with_who_added_each_route() -> None:
    from_json = _host_routes.parse_ip_json(IP_JSON)
    assert from_json[1] == Route(ipaddress.ip_network("10.96.0.0/16"), "172.18.0.2", "br-1e9b", "119")
    assert [str(r.network) for r in from_json] == ["0.0.0.0/0", "10.96.0.0/16", "172.18.0.0/16"]  # IPv6 left out
    from_text = _host_routes.parse_ip_text(IP_TEXT)
    assert [(str(r.network), r.gateway, r.device, r.protocol) for r in from_text] == [
        ("0.0.0.0/0", "192.0.2.1", "eth0", None),
        ("10.96.0.0/16", "172.18.0.2", "br-1e9b", "119"),
        ("172.17.0.0/16", None, "docker0", "kernel"),
    ]


def test_the_route_used_for_an_address_is_the_longest_prefix() -> None:
    routes = _host_routes.parse_ip_json(IP_JSON)
    assert _host_routes.covering(routes, "10.96.0.10").gateway == "172.18.0.2"
    assert _host_routes.covering(routes, "10.97.0.1").gateway == "192.0.2.1"  # the default route: it would leave the machine
    assert _host_routes.covering([], "10.96.0.10") is None
