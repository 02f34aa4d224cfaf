# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address arithmetic the roles need, with ipaddress rather than string splits in Jinja (issue 19, item 3).

tunnel_peer: the Mac's address in docker-connector's tunnel, where everything from the Mac comes from: the daemon gives
its utun the address after addr's (github.com/wenjunxiao/mac-docker-connector mac/main.go: localIP[3]++), 192.168.251.2
for the default addr 192.168.251.1/24 (roles/connector_container). route_probe_address: the address of a routed subnet
whose route the host is asked for, the subnet's second address, where Docker puts the first container or kind node
(roles/docker_connector/tasks/verify_routes.yml). Documentation: tunnel_peer.yml and route_probe_address.yml.
"""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError


def tunnel_peer(addr: object) -> str:
    """The address after ``addr``'s (an IPv4 address, with or without a prefix length)."""
    try:
        interface = ipaddress.IPv4Interface(str(addr).strip())
        peer, network = interface.ip + 1, interface.network
    except ValueError as exc:
        raise AnsibleFilterError(f"tunnel_peer: {addr!r} is no IPv4 address with one after it (docker-connector's addr, e.g. 192.168.251.1/24)") from exc
    if network.prefixlen < 32 and (peer not in network or (network.prefixlen < 31 and peer == network.broadcast_address)):
        raise AnsibleFilterError(f"tunnel_peer: the address after {addr!r} is outside its network: pick an addr with room after it")
    return str(peer)


def route_probe_address(subnet: object) -> str:
    """The second address of an IPv4 subnet (its network address + 2)."""
    try:
        network = ipaddress.IPv4Network(str(subnet).strip(), strict=False)
    except ValueError as exc:
        raise AnsibleFilterError(f"route_probe_address: {subnet!r} is no IPv4 subnet") from exc
    if network.num_addresses < 4:
        raise AnsibleFilterError(f"route_probe_address: {subnet!r} has no second host address")
    return str(network.network_address + 2)


class FilterModule:
    """hostreach.kind.tunnel_peer, route_probe_address"""

    def filters(self) -> dict:
        return {"tunnel_peer": tunnel_peer, "route_probe_address": route_probe_address}
