# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kind clusters of a run, their names checked as kind checks them (module_utils/_k8s_names.py) before any use.

A name the user gave that kind would refuse fails the run (the role says which setting and value). A name read from a
container's io.x-k8s.kind.cluster label (hostreach_kind_clusters: all) is input from the engine, which any local
container can set: such a name is skipped with a warning naming the container, so that one hostile or broken container
does not stop the run for the real clusters. Pure functions, one call each from roles/_common/tasks/clusters.yml.
Documentation: kind_cluster_names.yml and kind_clusters_of_containers.yml beside this file.
"""

from __future__ import annotations

from ansible_collections.hostreach.kind.plugins.module_utils._k8s_names import cluster_name_problem

KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster"


def kind_cluster_names(value: object, option: str) -> dict:
    """{names, refused}: the names of ``value`` (one name, or a list of names) kind accepts, in their order, and one
    message per other, naming ``option`` (with the index for a list) and the value."""
    entries = [(option, value)] if not isinstance(value, list) else [(f"{option}[{i}]", name) for i, name in enumerate(value)]
    checked = [(where, name, cluster_name_problem(name)) for where, name in entries]
    return {
        "names": [name for _where, name, problem in checked if problem is None],
        "refused": [f"{where} {problem}" for where, _name, problem in checked if problem],
    }


def kind_clusters_of_containers(containers: list) -> dict:
    """{names, refused}: the sorted distinct io.x-k8s.kind.cluster labels of ``containers`` (docker_host_info's
    verbose list) that kind accepts as cluster names, and one message per container whose label is not one."""
    names, refused = set(), []
    for container in containers or []:
        labels = container.get("Labels") or {}
        if KIND_CLUSTER_LABEL not in labels:
            continue
        problem = cluster_name_problem(labels[KIND_CLUSTER_LABEL])
        if problem:
            who = ", ".join(n.lstrip("/") for n in container.get("Names") or []) or str(container.get("Id", "?"))[:12]
            refused.append(f"container {who}: its label {KIND_CLUSTER_LABEL} {problem}; skipped")
        else:
            names.add(labels[KIND_CLUSTER_LABEL])
    return {"names": sorted(names), "refused": refused}


class FilterModule:
    """hostreach.kind.kind_cluster_names, hostreach.kind.kind_clusters_of_containers"""

    def filters(self) -> dict:
        return {"kind_cluster_names": kind_cluster_names, "kind_clusters_of_containers": kind_clusters_of_containers}
