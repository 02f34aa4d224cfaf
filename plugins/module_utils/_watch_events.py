# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an event means for expose: which cluster and which of expose's steps it touches (issue 20, item 2). Pure.

The watch agent (extensions/watch/agent.py) and the Event-Driven Ansible source read Docker's events and Kubernetes' watch events
and ask this file whether an event changes anything expose sets up. An event that does comes back as a Change: the
cluster ("" for the engine, whose steps are not a cluster's) and the steps of expose.yml that redo it
(hostreach_kind_steps: connector, container, services), with one line saying why.

Kubernetes objects change for reasons expose does not care about (status heartbeats, expose's own NodePort switch, a
new resourceVersion): each kind of object is reduced to a fingerprint of what expose reads, and only an object that
appears, goes, or changes its fingerprint is a Change.
"""

from __future__ import annotations

import typing as t

KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster"
ENGINE = ""  # the cluster of a Change about the engine itself (route lines, the VM side)
ORIGINAL_ANNOTATION = "hostreach.kind/original"  # kind_nodeport's record of a Service's own type and ports
SERVICE_NAME_LABEL = "kubernetes.io/service-name"  # an EndpointSlice's Service
# Docker's container actions that start or end a kind node's part in its cluster.
NODE_ACTIONS = {"start": "started", "unpause": "unpaused", "die": "stopped", "pause": "paused", "destroy": "removed"}
CONNECTOR_ACTIONS = {"die": "stopped", "destroy": "removed"}
NETWORK_ACTIONS = {"create": "created", "destroy": "removed"}


class Change(t.NamedTuple):
    cluster: str  # ENGINE, or a kind cluster's name
    steps: frozenset  # expose.yml's steps that redo what changed
    why: str  # one line for the log


def docker_change(event: t.Mapping, connector_name: str) -> Change | None:
    """The Change a Docker event (as the engine's /events sends it) makes, or None."""
    kind, action = event.get("Type"), event.get("Action")
    actor = event.get("Actor") if isinstance(event.get("Actor"), dict) else {}
    attributes = actor.get("Attributes") if isinstance(actor.get("Attributes"), dict) else {}
    name = str(attributes.get("name", ""))
    if kind == "network" and action in NETWORK_ACTIONS and attributes.get("type") == "bridge":
        return Change(ENGINE, frozenset({"connector"}), f"Docker network {name} {NETWORK_ACTIONS[action]}")
    if kind != "container":
        return None
    cluster = attributes.get(KIND_CLUSTER_LABEL)
    if isinstance(cluster, str) and cluster and action in NODE_ACTIONS:
        return Change(cluster, frozenset({"services"}), f"kind node {name} {NODE_ACTIONS[action]}")
    if name == connector_name and action in CONNECTOR_ACTIONS:
        return Change(ENGINE, frozenset({"container"}), f"connector container {name} {CONNECTOR_ACTIONS[action]}")
    return None


def engine_restarted() -> Change:
    """Docker's event stream ended: the engine (or the VM it runs in) went away; every step is redone for every cluster
    once it answers again."""
    return Change(ENGINE, frozenset({"connector", "container", "services"}), "the Docker engine restarted (its event stream ended)")


def _name(obj: t.Mapping) -> str:
    metadata = obj.get("metadata") or {}
    return f"{metadata.get('namespace')}/{metadata.get('name')}" if metadata.get("namespace") else str(metadata.get("name"))


def service_fingerprint(obj: t.Mapping) -> tuple:
    """What a user changes in a Service and expose reads: its selector, ports, labels and annotations; not the type,
    nodePorts or expose's own annotation, which expose itself writes."""
    metadata, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    ports = tuple(sorted((str(p.get("name", "")), p.get("port"), str(p.get("targetPort", "")), str(p.get("protocol", "TCP"))) for p in spec.get("ports") or []))
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items() if k != ORIGINAL_ANNOTATION}
    return (
        tuple(sorted((spec.get("selector") or {}).items())),
        ports,
        tuple(sorted((metadata.get("labels") or {}).items())),
        tuple(sorted(annotations.items())),
        tuple(sorted(str(a.get("ip") or a.get("hostname")) for a in ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [])),
    )


def endpoint_slice_fingerprint(obj: t.Mapping) -> tuple:
    """Which addresses of an EndpointSlice are ready, serving or terminating: the RESULT column's input."""
    endpoints = []
    for endpoint in obj.get("endpoints") or []:
        conditions = endpoint.get("conditions") or {}
        state = (conditions.get("ready"), conditions.get("serving"), conditions.get("terminating"))
        endpoints.append((tuple(endpoint.get("addresses") or ()), state))
    ports = tuple(sorted((str(p.get("name", "")), p.get("port")) for p in obj.get("ports") or []))
    return tuple(sorted(endpoints, key=repr)), ports


def node_fingerprint(obj: t.Mapping) -> tuple:
    """A node's Pod ranges and addresses: what the cluster routes go through."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    addresses = tuple(sorted((str(a.get("type")), str(a.get("address"))) for a in status.get("addresses") or []))
    return tuple(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else [])), addresses


FINGERPRINTS = {"services": service_fingerprint, "endpointslices": endpoint_slice_fingerprint, "nodes": node_fingerprint}
NOUNS = {"services": "Service", "endpointslices": "EndpointSlice", "nodes": "Node"}


def kube_change(cluster: str, resource: str, event_type: str, obj: t.Mapping, before: tuple | None) -> tuple:
    """(the Change a watch event of `resource` makes, or None; the object's fingerprint now, None once deleted).

    `before` is the fingerprint last seen for the object (None: never seen). An object seen for the first time, one
    deleted, and one whose fingerprint changed are Changes; a BOOKMARK or an update expose does not read is not."""
    if event_type not in ("ADDED", "MODIFIED", "DELETED"):
        return None, before
    now = None if event_type == "DELETED" else FINGERPRINTS[resource](obj)
    if now == before:
        return None, now
    verb = "removed" if now is None else "added" if before is None else "changed"
    return Change(cluster, frozenset({"services"}), f"{NOUNS[resource]} {_name(obj)} {verb} in cluster {cluster}"), now


def slice_service(obj: t.Mapping) -> str:
    """namespace/name of the Service an EndpointSlice belongs to ("" when it names none)."""
    metadata = obj.get("metadata") or {}
    service = (metadata.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return f"{metadata.get('namespace')}/{service}" if service else ""
