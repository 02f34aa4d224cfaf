# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kind node containers of a run's clusters, among the containers the Docker engine lists.

The doctor and expose's node check ask the engine for the kind control-plane nodes (label io.x-k8s.kind.role); other
kind clusters on the same engine are not the run's (issue 18, item 5): a node is the run's when its
io.x-k8s.kind.cluster label is one of the run's clusters (roles/_common/tasks/clusters.yml resolves them), and the
check connects to each one's address (roles/_common/tasks/check_nodes.yml, the doctor's and expose's node check).
Pure functions. Documentation: kind_node_targets.yml beside this file.
"""

from __future__ import annotations

KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster"


def kind_nodes_of_clusters(containers: list, clusters: list) -> list:
    """The containers (docker_host_info's verbose list) whose io.x-k8s.kind.cluster label is one of ``clusters``, in
    their order; a container without the label, or with a label that is not a string, is none of them."""
    wanted = {name for name in clusters or [] if isinstance(name, str)}
    return [c for c in containers or [] if (c.get("Labels") or {}).get(KIND_CLUSTER_LABEL) in wanted]


def _address(container: dict) -> str:
    """The container's first address on any of its networks ('' when it has none)."""
    networks = (container.get("NetworkSettings") or {}).get("Networks") or {}
    return next((net.get("IPAddress") for net in networks.values() if (net or {}).get("IPAddress")), "")


def kind_node_targets(containers: list, clusters: list, networks: list | None = None) -> list:
    """The run's kind nodes to connect to: name (without Docker's leading /), address, networks. With ``networks``
    (a list), only the nodes on one of them (those a run routes: an empty list routes none); ``None`` keeps every node.
    A node without an address is kept with an empty one."""
    targets = []
    for container in kind_nodes_of_clusters(containers, clusters):
        on = sorted(((container.get("NetworkSettings") or {}).get("Networks") or {}).keys())
        if networks is not None and not set(networks).intersection(on):
            continue
        name = ((container.get("Names") or ["?"])[0]).lstrip("/")
        targets.append({"name": name, "ip": _address(container), "networks": on})
    return targets


class FilterModule:
    """hostreach.kind.kind_node_targets"""

    def filters(self) -> dict:
        return {"kind_node_targets": kind_node_targets}
