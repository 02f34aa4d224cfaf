# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Routes that send a kind cluster's Service range and each node's Pod range through the node IPs, so ClusterIPs
and Pod IPs open from the host with every Service left as it is. Pure: objects and routing tables in, a plan out.

`<service CIDR> via <a control-plane node IP>` (kube-proxy on that node translates a ClusterIP to a pod, wherever
it runs) and `<pod CIDR> via <that node's IP>` for each node (the node delivers to its own pods). A range that
overlaps a route the host already has (a VPN's, the LAN's) is refused: routing it to the node would cut that route
off. Two kind clusters get the same ranges unless told otherwise (10.244.0.0/16 and 10.96.0.0/16): the second is
refused, naming both.
"""

from __future__ import annotations

import ipaddress
import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils._errors import PlanError
from ansible_collections.hostreach.kind.plugins.module_utils._subnets import parse_network

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
KIND_FIELDS = "networking.podSubnet and networking.serviceSubnet of the kind config (kind create cluster --config)"


class Node(t.NamedTuple):
    name: str
    ip: str | None  # InternalIP, IPv4
    pod_cidrs: list  # IPv4Networks of spec.podCIDRs
    control_plane: bool


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


def cluster_nodes(nodes: list) -> list:
    """The Node objects as Nodes: InternalIP (IPv4), spec.podCIDRs (IPv4), whether it is a control-plane node."""
    found = []
    for node in nodes:
        meta, spec = node.get("metadata") or {}, node.get("spec") or {}
        addresses = (node.get("status") or {}).get("addresses") or []
        ips = [a["address"] for a in addresses if a.get("type") == "InternalIP" and ":" not in a.get("address", ":")]
        cidrs = _ipv4(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else []))
        found.append(Node(meta.get("name", "?"), ips[0] if ips else None, cidrs, CONTROL_PLANE_LABEL in (meta.get("labels") or {})))
    return sorted(found, key=lambda n: n.name)


def wanted_routes(cidrs: list, nodes: list) -> list:
    """The routes the cluster needs: each Service range via the first control-plane node, each Pod range via its node."""
    planes = [n for n in nodes if n.control_plane and n.ip] or [n for n in nodes if n.ip]
    if not planes:
        raise PlanError("no node of the cluster has an IPv4 InternalIP to route through")
    routes = [Route(cidr, planes[0].ip, "service", planes[0].name) for cidr in cidrs]
    routes += [Route(cidr, node.ip, "pod", node.name) for node in nodes if node.ip for cidr in node.pod_cidrs]
    return routes


def conflicts(cluster: str, wanted: list, existing: list, is_ours: t.Callable, owner_of: t.Callable) -> list:
    """Why wanted routes cannot go in: each overlaps a route the host has that is not one of this cluster's. `existing`
    are routes with .network, .gateway, .device; `is_ours(route)` says a route is this cluster's; `owner_of(route)`
    names the other kind cluster a route was made for (None for a route of something else)."""
    problems = []
    for want in wanted:
        for route in existing:
            if route.network.prefixlen == 0 or not route.network.overlaps(want.cidr) or is_ours(route):
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
