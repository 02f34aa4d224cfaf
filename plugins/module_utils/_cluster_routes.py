# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Routes that send a kind cluster's Service range and each node's Pod range through the node IPs, so ClusterIPs
and Pod IPs open from the host with every Service left as it is. Pure: objects and routing tables in, a plan out.

`<service CIDR> via <a control-plane node IP>` (kube-proxy on that node translates a ClusterIP to a pod, wherever
it runs) and `<pod CIDR> via <that node's IP>` for each node (the node delivers to its own pods). A range that
overlaps a route the host already has (a VPN's, the LAN's) is refused: routing it to the node would cut that route
off, and so is a range that holds the gateway of the default route. Two kind clusters get the same ranges unless told
otherwise (10.244.0.0/16 and 10.96.0.0/16): the second is refused, naming both.

Every range and address is read from the cluster, so it is input: a node address that is not an IPv4 unicast address
is never used (the node is skipped with a warning naming it), and every wanted range goes through
_subnets.route_refusals with the bound CLUSTER_WIDEST_PREFIX (private, not link-local, multicast or reserved, clear of
the host's own networks) before any change.
"""

from __future__ import annotations

import ipaddress
import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils._errors import PlanError
from ansible_collections.hostreach.kind.plugins.module_utils._subnets import parse_network, refusal_problems

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
KIND_FIELDS = "networking.podSubnet and networking.serviceSubnet of the kind config (kind create cluster --config)"
# The apiserver refuses an IPv4 Service range wider than /12; no range of a cluster needs to be wider.
CLUSTER_WIDEST_PREFIX = 12


class Node(t.NamedTuple):
    name: str
    ip: str | None  # InternalIP, an IPv4 unicast address as ipaddress spells it
    pod_cidrs: list  # IPv4Networks of spec.podCIDRs
    control_plane: bool
    warnings: tuple = ()  # what of the Node object was not used, and why


class Route(t.NamedTuple):
    """A route to want: `cidr via via`, for the `role` (service or pod) range, toward `node`."""

    cidr: ipaddress.IPv4Network
    via: str
    role: str
    node: str

    def text(self) -> str:
        return f"{self.cidr} via {self.via}"


def _ipv4(texts: t.Iterable) -> list:
    found = [parse_network(str(text).strip(), strict=False) for text in texts]
    return [n for n in found if n is not None and n.version == 4]


def service_cidrs(objects: list | None, cluster_configuration: dict | None) -> tuple:
    """(IPv4 Service ranges, where they were read): the ServiceCIDR objects (networking.k8s.io/v1) where the apiserver
    has them, else kubeadm's networking.serviceSubnet (kind writes it to kube-system/kubeadm-config)."""
    if objects:
        return _ipv4(c for o in objects for c in (o.get("spec") or {}).get("cidrs") or []), "the ServiceCIDR objects"
    subnet = ((cluster_configuration or {}).get("networking") or {}).get("serviceSubnet")
    if subnet:
        return _ipv4(str(subnet).split(",")), "networking.serviceSubnet of kube-system/kubeadm-config"
    raise PlanError("the cluster says nowhere what its Service range is: it has no ServiceCIDR objects and no readable kube-system/kubeadm-config")


def _address(text: t.Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _unicast(address: ipaddress.IPv4Address) -> bool:
    return not (address.is_unspecified or address.is_loopback or address.is_link_local or address.is_multicast or address.is_reserved)


def node_address(name: str, addresses: list) -> tuple:
    """(the first IPv4 unicast InternalIP of the Node `name`, as ipaddress spells it, or None; warnings naming the node):
    an InternalIP that is no IP address at all, or an IPv4 address no node can have, is never used."""
    warnings, found = [], []
    for entry in addresses:
        if not isinstance(entry, dict) or entry.get("type") != "InternalIP":
            continue
        address = _address(entry.get("address"))
        if address is None or (address.version == 4 and not _unicast(address)):
            warnings.append(f"node {name!r}: InternalIP {entry.get('address')!r} is not an IPv4 unicast address; it is not used")
        elif address.version == 4:
            found.append(str(address))
    if not found:
        warnings.append(f"node {name!r} has no IPv4 InternalIP: it is skipped, nothing is routed through it")
    return (found[0] if found else None), warnings


def _pod_cidrs(name: str, spec: dict) -> tuple:
    texts = spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else [])
    bad = [text for text in texts if not isinstance(text, str) or parse_network(text.strip()) is None]
    return _ipv4(text for text in texts if text not in bad), [f"node {name!r}: spec.podCIDRs entry {text!r} is not a CIDR; it is not used" for text in bad]


def cluster_nodes(nodes: list) -> list:
    """The Node objects as Nodes: InternalIP (IPv4, parsed), spec.podCIDRs (IPv4, parsed), whether it is a control-plane
    node, and warnings about what of the object was not used."""
    found = []
    for node in nodes:
        meta, spec = node.get("metadata") or {}, node.get("spec") or {}
        name = str(meta.get("name", "?"))
        ip, warnings = node_address(name, (node.get("status") or {}).get("addresses") or [])
        cidrs, cidr_warnings = _pod_cidrs(name, spec)
        found.append(Node(name, ip, cidrs, CONTROL_PLANE_LABEL in (meta.get("labels") or {}), tuple(warnings + cidr_warnings)))
    return sorted(found, key=lambda n: n.name)


def wanted_routes(cidrs: list, nodes: list) -> list:
    """The routes the cluster needs: each Service range via the first control-plane node, each Pod range via its node."""
    planes = [n for n in nodes if n.control_plane and n.ip] or [n for n in nodes if n.ip]
    if not planes:
        raise PlanError("no node of the cluster has an IPv4 InternalIP to route through")
    routes = [Route(cidr, planes[0].ip, "service", planes[0].name) for cidr in cidrs]
    routes += [Route(cidr, node.ip, "pod", node.name) for node in nodes if node.ip for cidr in node.pod_cidrs]
    return routes


def refusals(cluster: str, wanted: list, host_routes: list) -> list:
    """Why wanted routes must not go in whatever the host's other routes are (_subnets.route_refusals with the bound
    CLUSTER_WIDEST_PREFIX): `<range> (<role> range of cluster <cluster>, via node <node>): <reasons>`."""
    origins = [(r.cidr, f"the {r.role} range of cluster {cluster}, via node {r.node}") for r in wanted]
    return refusal_problems(origins, host_routes, CLUSTER_WIDEST_PREFIX)


def _default_route_conflict(cluster: str, want: Route, route: t.Any) -> str | None:
    """The default route conflicts only with a range that holds its gateway (the host would lose its router)."""
    gateway = _address(route.gateway)
    if gateway is None or gateway.version != 4 or gateway not in want.cidr:
        return None
    return (
        f"the {want.role} range {want.cidr} of cluster {cluster} holds {route.gateway}, the gateway of this host's default route "
        f"(dev {route.device}): routing it to the node would cut this host off from its router; create the cluster with other {KIND_FIELDS}"
    )


def conflicts(cluster: str, wanted: list, existing: list, is_ours: t.Callable, owner_of: t.Callable) -> list:
    """Why wanted routes cannot go in: each overlaps a route the host has that is not one of this cluster's, or holds
    the default route's gateway. `existing` are routes with .network, .gateway, .device; `is_ours(route)` says a route
    is this cluster's; `owner_of(route)` names the other kind cluster a route was made for (None for a route of
    something else)."""
    problems = []
    for want in wanted:
        for route in existing:
            if route.network.prefixlen == 0:
                problem = _default_route_conflict(cluster, want, route)
                problems += [problem] if problem else []
                continue
            if not route.network.overlaps(want.cidr) or is_ours(route):
                continue
            via = (f" via {route.gateway}" if route.gateway else "") + (f" dev {route.device}" if route.device else "")
            other = owner_of(route)
            if other:
                problems.append(
                    f"the {want.role} range {want.cidr} of cluster {cluster} overlaps {route.network}, routed{via} for cluster {other}: "
                    f"kind gives every cluster the same ranges unless told; create {cluster} with other {KIND_FIELDS}"
                )
            else:
                problems.append(
                    f"the {want.role} range {want.cidr} of cluster {cluster} overlaps the route {route.network}{via} this host "
                    f"already has (a VPN's or the LAN's, say): routing it to the node would cut that off; create the cluster with other {KIND_FIELDS}"
                )
    return problems


def plan(wanted: list, current: list, state: str) -> tuple:
    """(routes to add, routes to remove), as (cidr, via) pairs; `current` is what of this cluster's is in place."""
    have = {(str(c), v) for c, v in current}
    want = {(str(r.cidr), r.via) for r in wanted} if state == "present" else set()
    return sorted(want - have), sorted(have - want)


def record_of(cluster: str, wanted: list) -> dict:
    """What _records keeps of the cluster's routes (a host route or the Docker VM's says nothing of whose it is)."""
    return {"cluster": cluster, "routes": [{"cidr": str(r.cidr), "via": r.via, "role": r.role, "node": r.node} for r in wanted]}


def _recorded(entry: t.Any) -> Route | None:
    """A route of a record, or None for an entry that is not one (the file is on disk: it is input like any other)."""
    if not isinstance(entry, dict):
        return None
    cidr, via = parse_network(str(entry.get("cidr", "")), strict=True), _address(entry.get("via"))
    if cidr is None or cidr.version != 4 or via is None or via.version != 4 or not _unicast(via):
        return None
    role = entry.get("role") if entry.get("role") in ("service", "pod") else "pod"
    return Route(cidr, str(via), role, str(entry.get("node") or "?"))


def recorded_routes(cluster: str, record: dict | None, others: dict) -> tuple:
    """(the routes the cluster's record names that no other cluster's record names too; why the others are left alone).
    `others` is {cluster: record}: a route both name was taken over by a cluster made since (kind gives a new cluster the
    same ranges and often the same node address), and is that cluster's now."""
    mine = [r for r in (_recorded(e) for e in ((record or {}).get("routes") or [])) if r is not None]
    claimed: dict = {}
    for other, theirs in sorted(others.items()):
        for route in (_recorded(e) for e in ((theirs or {}).get("routes") or [])):
            if route is not None:
                claimed.setdefault((route.cidr, route.via), other)
    kept = [r for r in mine if (r.cidr, r.via) not in claimed]
    left = [
        f"{r.text()} stays: the record of cluster {claimed[(r.cidr, r.via)]} names it too (a cluster made since {cluster} went took it over)"
        for r in mine
        if (r.cidr, r.via) in claimed
    ]
    return kept, left
