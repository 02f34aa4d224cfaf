# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kind node containers of a run's clusters, among the containers the Docker engine lists.

The doctor and expose's node check ask the engine for the kind control-plane nodes (label io.x-k8s.kind.role); other
kind clusters on the same engine are not the run's (issue 18, item 5): a node is the run's when its
io.x-k8s.kind.cluster label is one of the run's clusters (roles/_common/tasks/clusters.yml resolves them). A pure
function, one call each from those roles. Documentation: kind_nodes_of_clusters.yml beside this file.
"""

from __future__ import annotations

KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster"


def kind_nodes_of_clusters(containers: list, clusters: list) -> list:
    """The containers (docker_host_info's verbose list) whose io.x-k8s.kind.cluster label is one of ``clusters``, in
    their order; a container without the label, or with a label that is not a string, is none of them."""
    wanted = {name for name in clusters or [] if isinstance(name, str)}
    return [c for c in containers or [] if (c.get("Labels") or {}).get(KIND_CLUSTER_LABEL) in wanted]


class FilterModule:
    """hostreach.kind.kind_nodes_of_clusters"""

    def filters(self) -> dict:
        return {"kind_nodes_of_clusters": kind_nodes_of_clusters}
