# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Services a kind_nodeport task acts on: the LISTs to make, and the Services picked from them. Pure: no I/O."""

from __future__ import annotations

from ansible_collections.hostreach.kind.plugins.module_utils._errors import PlanError
from ansible_collections.hostreach.kind.plugins.module_utils._service_view import key_of, service_key

PROTECTED = (("default", "kubernetes"),)


def list_scopes(services: list, namespaces: list, label_selector: str | None) -> list:
    """The LISTs to make, as (namespace or None for all, label selector or None).

    One LIST per namespace; one cluster-wide LIST instead when fixed nodePorts are wanted, because
    checking that a nodePort is free needs every Service in the cluster (it is still one request).
    """
    cluster_wide = any(s.get("node_ports") for s in services)
    scopes = [] if not cluster_wide else [(None, None)]
    wanted = [(s["namespace"], None) for s in services] + [(ns, label_selector or None) for ns in namespaces]
    for scope in wanted:
        covered = cluster_wide and scope[1] is None
        if not covered and scope not in scopes:
            scopes.append(scope)
    return scopes


def listed_in(listed: dict, namespace: str, label_selector: str | None) -> list:
    """The Services of a namespace (matching the selector) out of the LIST results, keyed by scope."""
    if (namespace, label_selector) in listed:
        return listed[(namespace, label_selector)]
    return [s for s in listed.get((None, None), []) if s["metadata"]["namespace"] == namespace]


def select(listed: dict, services: list, namespaces: list, label_selector: str | None) -> list:
    """(Service, node_ports) pairs: the named ones first, in the order given, then every Service of
    ``namespaces`` matching ``label_selector``, sorted; never the API server's own Service.
    Names that do not exist fail together, each with what its namespace has."""
    selected = {}
    missing = []
    problems = conflicting_entries(services)
    if problems:
        raise PlanError("; ".join(problems))
    for wanted in services:
        key = service_key(wanted["namespace"], wanted["name"])
        if (wanted["namespace"], wanted["name"]) in PROTECTED:
            raise PlanError(f"{key} is the API server's own Service; kind_nodeport never changes it")
        found = [s for s in listed_in(listed, wanted["namespace"], None) if s["metadata"]["name"] == wanted["name"]]
        if not found:
            names = sorted(s["metadata"]["name"] for s in listed_in(listed, wanted["namespace"], None))
            missing.append(f"{key} does not exist; namespace {wanted['namespace']} has {', '.join(names) if names else 'no Services'}")
        elif key not in selected:
            selected[key] = (found[0], wanted.get("node_ports") or {})
    if missing:
        raise PlanError("; ".join(missing))
    for namespace in namespaces:
        for service in sorted(listed_in(listed, namespace, label_selector or None), key=key_of):
            meta = service["metadata"]
            if (meta["namespace"], meta["name"]) not in PROTECTED:
                selected.setdefault(key_of(service), (service, {}))
    return list(selected.values())


def conflicting_entries(services: list) -> list:
    """Errors for a Service listed more than once with different node_ports (identical entries are one)."""
    first: dict = {}
    problems = []
    for index, entry in enumerate(services):
        key = service_key(entry["namespace"], entry["name"])
        earlier = first.setdefault(key, index)
        if (services[earlier].get("node_ports") or {}) != (entry.get("node_ports") or {}):
            problems.append(
                f"services[{earlier}] and services[{index}] both name {key} with different node_ports "
                f"({services[earlier].get('node_ports') or {}} and {entry.get('node_ports') or {}}); list it once"
            )
    return problems


def empty_namespaces(listed: dict, services: list, namespaces: list, label_selector: str | None) -> list:
    """The namespaces asked for whose LIST came back empty: only for those can it be that they do not exist."""
    asked = [(s["namespace"], None) for s in services] + [(ns, label_selector or None) for ns in namespaces]
    empty: list = []
    for namespace, selector in asked:
        if not listed_in(listed, namespace, selector) and namespace not in empty:
            empty.append(namespace)
    return empty
