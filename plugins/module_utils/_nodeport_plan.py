# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for kind_nodeport: a Service in, what to write out. Pure: no I/O.

A plan compares the Service's view (_service_view) with the wanted view; that one comparison gives ``changed``
and the diff, and the JSON patch is derived from the wanted view. Patches replace ``spec.ports`` whole (a
strategic merge keys ports by number and mangles the same port on TCP and UDP) and carry the resourceVersion
that was read, so a concurrent change makes the apiserver answer 409 Conflict.
"""

from __future__ import annotations

import copy
import json
import typing as t
from dataclasses import dataclass, field

from ansible_collections.hostreach.kind.plugins.module_utils._errors import PlanError
from ansible_collections.hostreach.kind.plugins.module_utils._node_ports import (
    new_fixed_node_ports,
    node_port_conflicts,
    node_port_range_of,
    out_of_range,
    resolve_node_ports,
    taken_node_ports,
)
from ansible_collections.hostreach.kind.plugins.module_utils._service_view import (
    ANNOTATION,
    annotations_of,
    key_of,
    port_label,
    service_key,
    service_view,
    spec_of,
)

# What the annotation may record, and the values each field may take.
RECORD_FIELDS = {"type": ("ClusterIP", "NodePort", "LoadBalancer"), "externalTrafficPolicy": ("Cluster", "Local")}
# Why a Service listed (not patched) with reach=nodeport has no node URL.
NO_NODE_PORT = "type {type}: no nodePort, so no node URL (kind_nodeport switches it to NodePort; reach routes opens its ClusterIP)"
_ANNOTATION_PATH = "/metadata/annotations/" + ANNOTATION.replace("~", "~0").replace("/", "~1")


@dataclass
class Plan:
    """What to do with one Service. ``patch`` is empty when nothing is written."""

    namespace: str
    name: str
    before: dict
    after: dict
    patch: list = field(default_factory=list)
    skip_reason: str | None = None

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def key(self) -> str:
        return service_key(self.namespace, self.name)


def unexposable_reason(service: dict) -> str | None:
    """Why a Service can never get nodePorts, or None."""
    spec = spec_of(service)
    if spec.get("type") == "ExternalName":
        return f"ExternalName Service (a DNS alias for {spec.get('externalName', 'another name')}) has no ports to expose"
    if spec.get("clusterIP") == "None":
        return "headless Service (clusterIP: None) cannot have nodePorts"
    if not spec.get("ports"):
        return "Service has no ports"
    return None


def _ports_with(service: dict, node_ports: dict) -> list:
    """Every port of the Service (none dropped, TCP and UDP twins kept) with nodePorts set as given
    (index -> nodePort) and removed where not given."""
    ports = []
    for i, port in enumerate(spec_of(service).get("ports") or []):
        port = copy.deepcopy(port)
        port.pop("nodePort", None)
        if node_ports.get(i):
            port["nodePort"] = node_ports[i]
        ports.append(port)
    return ports


def _annotation_op(service: dict, value: str) -> dict:
    if "annotations" in service.get("metadata", {}) and service["metadata"]["annotations"] is not None:
        return {"op": "add", "path": _ANNOTATION_PATH, "value": value}
    return {"op": "add", "path": "/metadata/annotations", "value": {ANNOTATION: value}}


def _finish(service: dict, after_service: dict, ops: list, skip_reason: str | None = None) -> Plan:
    meta = service["metadata"]
    rv = meta.get("resourceVersion", "")
    before = service_view(service)
    after = service_view(after_service)
    patch = [{"op": "replace", "path": "/metadata/resourceVersion", "value": rv}, *ops] if before != after else []
    return Plan(meta["namespace"], meta["name"], before, after, patch, skip_reason)


def original_record(service: dict) -> str:
    """The annotation value: the Service's type and every field the switch to NodePort touches."""
    spec = spec_of(service)
    record = {"type": spec.get("type", "ClusterIP")}
    if "externalTrafficPolicy" in spec:
        record["externalTrafficPolicy"] = spec["externalTrafficPolicy"]
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def plan_present(service: dict, node_ports: dict | None = None) -> Plan:
    """Make the Service type NodePort with the fixed nodePorts given (port name/number -> nodePort)."""
    reason = unexposable_reason(service)
    if reason:
        return _finish(service, service, [], reason)
    wanted = resolve_node_ports(service, node_ports)
    spec = spec_of(service)
    current = {i: p.get("nodePort") for i, p in enumerate(spec.get("ports") or [])}
    managed = ANNOTATION in annotations_of(service)
    if spec.get("type") == "LoadBalancer" or (spec.get("type") == "NodePort" and not managed):
        wrong = [f"{port_label(spec['ports'][i])} has {current[i]}, not {n}" for i, n in sorted(wanted.items()) if current[i] != n]
        if wrong:
            raise PlanError(
                f"{key_of(service)} is already type {spec['type']}, not made so by kind_nodeport, so its nodePorts are left alone: {'; '.join(wrong)}. "
                "Drop node_ports for it, or change the Service yourself."
            )
        return _finish(service, service, [])
    after = copy.deepcopy(service)
    ops = []
    if spec.get("type") != "NodePort":
        # ClusterIP (or a managed Service someone switched back): record the original, switch the type.
        record = original_record(service)
        after.setdefault("metadata", {}).setdefault("annotations", {})
        after["metadata"]["annotations"] = {**(after["metadata"]["annotations"] or {}), ANNOTATION: record}
        after["spec"]["type"] = "NodePort"
        ops += [_annotation_op(service, record), {"op": "add", "path": "/spec/type", "value": "NodePort"}]
        node_ports_now = wanted
    else:
        node_ports_now = {**current, **wanted}
    after["spec"]["ports"] = _ports_with(service, node_ports_now)
    ops.append({"op": "replace", "path": "/spec/ports", "value": after["spec"]["ports"]})
    return _finish(service, after, ops)


def record_problem(record: t.Any) -> str | None:
    """What keeps a parsed annotation value from being one kind_nodeport wrote, or None."""
    if not isinstance(record, dict):
        return "it is not a JSON object"
    unknown = sorted(set(record) - set(RECORD_FIELDS))
    if unknown:
        return f"it has fields kind_nodeport never writes: {', '.join(unknown)}"
    for field_name, allowed in RECORD_FIELDS.items():
        if (field_name == "type" or field_name in record) and record.get(field_name) not in allowed:
            return f"{field_name} is {record.get(field_name)!r}, not one of {', '.join(allowed)}"
    return None


def parse_record(service: dict, text: str) -> dict:
    """The restore record of the annotation, checked before anything is planned from it."""
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    problem = record_problem(record) if record is not None else "it is not JSON"
    if problem:
        name, namespace = service["metadata"]["name"], service["metadata"]["namespace"]
        raise PlanError(
            f"{key_of(service)}: the {ANNOTATION} annotation holds {text[:100]!r}, which is not what kind_nodeport writes ({problem}). "
            f"Set it to what the Service was before it was exposed (kubectl annotate service {name} -n {namespace} --overwrite "
            f'\'{ANNOTATION}={{"type":"ClusterIP"}}\'), or remove it to keep the Service as it is now '
            f"(kubectl annotate service {name} -n {namespace} {ANNOTATION}-)"
        )
    return record


def plan_absent(service: dict) -> Plan:
    """Undo plan_present: the recorded type and fields back, nodePorts and the annotation gone.
    A Service without the annotation is never touched."""
    record_text = annotations_of(service).get(ANNOTATION)
    if record_text is None:
        return _finish(service, service, [], f"not exposed by kind_nodeport (no {ANNOTATION} annotation); left alone")
    record = parse_record(service, record_text)
    original_type = record["type"]
    spec = spec_of(service)
    current_type = spec.get("type", "ClusterIP")
    if current_type not in ("NodePort", original_type):
        return _finish(service, service, [], f"type is now {current_type}, changed since kind_nodeport exposed it; left alone")
    after = copy.deepcopy(service)
    del after["metadata"]["annotations"][ANNOTATION]
    ops = [{"op": "remove", "path": _ANNOTATION_PATH}]
    if current_type != original_type:
        after["spec"]["type"] = original_type
        after["spec"]["ports"] = _ports_with(service, {})
        ops += [{"op": "add", "path": "/spec/type", "value": original_type}, {"op": "replace", "path": "/spec/ports", "value": after["spec"]["ports"]}]
        if "externalTrafficPolicy" in record:
            after["spec"]["externalTrafficPolicy"] = record["externalTrafficPolicy"]
            ops.append({"op": "add", "path": "/spec/externalTrafficPolicy", "value": record["externalTrafficPolicy"]})
        elif "externalTrafficPolicy" in spec:
            del after["spec"]["externalTrafficPolicy"]
            ops.append({"op": "remove", "path": "/spec/externalTrafficPolicy"})
    return _finish(service, after, ops)


def unchanged(service: dict, reach: str = "routes") -> Plan:
    """The plan that leaves a Service exactly as it is (kind_service_urls; kind_nodeport's reach=routes), with why it
    has no URL for ``reach``: with routes (or both) when it has no ClusterIP to open, with nodeport when it has no
    nodePort (type ClusterIP: kind_nodeport would switch it)."""
    if reach != "nodeport":
        return _finish(service, service, [], unexposable_reason(service) if not cluster_ip_reachable(service) else None)
    kind = spec_of(service).get("type", "ClusterIP")
    reason = unexposable_reason(service) or (None if kind in ("NodePort", "LoadBalancer") else NO_NODE_PORT.format(type=kind))
    return _finish(service, service, [], reason)


def cluster_ip_reachable(service: dict) -> bool:
    spec = spec_of(service)
    return spec.get("type") != "ExternalName" and spec.get("clusterIP") not in (None, "None") and bool(spec.get("ports"))


def plan(service: dict, state: str, node_ports: dict | None = None) -> Plan:
    return plan_present(service, node_ports) if state == "present" else plan_absent(service)


def without_dry_run_placeholders(service: dict, plan_: Plan) -> dict:
    """A server-side dry run does not allocate nodePorts: it answers placeholders (32769, 32770, ...).
    Keep only the nodePorts the plan asked for or kept; the others are unknown until the real write."""
    service = copy.deepcopy(service)
    for i, port in enumerate(spec_of(service).get("ports") or []):
        if plan_.after["ports"][i]["node_port"] is None:
            port.pop("nodePort", None)
    return service


def plan_selection(listed: dict, selected: list, state: str, cluster_configuration: t.Callable[[], dict | None]) -> list:
    """(Plan, Service, node_ports) for every selected (Service, node_ports). Fails (PlanError) before any write
    when a fixed nodePort is taken, out of range or invalid, naming every such problem at once.
    ``cluster_configuration`` reads kubeadm's ClusterConfiguration; it is called (one GET) only when a fixed
    nodePort is not in place yet, since a server-side dry run does not check the range."""
    errors, plans, wanted, new_fixed = [], [], {}, {}
    for service, node_ports in selected:
        node_ports = node_ports if state == "present" else {}
        key = key_of(service)
        try:
            plans.append((plan(service, state, node_ports), service, node_ports))
            wanted[key] = resolve_node_ports(service, node_ports)
            new_fixed[key] = new_fixed_node_ports(service, wanted[key])
        except PlanError as exc:
            errors.append(str(exc))
    if (None, None) in listed:
        errors += node_port_conflicts(wanted, taken_node_ports(listed[(None, None)]))
    new = {key: ports for key, ports in new_fixed.items() if ports}
    if new:
        errors += out_of_range(new, *node_port_range_of(cluster_configuration()))
    if errors:
        raise PlanError("; ".join(errors))
    return plans


def reached(plan_: Plan, service: dict) -> bool:
    """Whether the Service as read is what the plan wanted: the same view, except that a nodePort the plan left to
    the apiserver (None) may now hold the number it allocated."""
    now = service_view(service)
    wanted = plan_.after
    if (now["type"], now["managed"], len(now["ports"])) != (wanted["type"], wanted["managed"], len(wanted["ports"])):
        return False
    for have, want in zip(now["ports"], wanted["ports"]):  # noqa: B905 (lengths checked above; strict= needs Python 3.10 on the target)
        if want["node_port"] is None:
            have = dict(have, node_port=None)
        if have != want:
            return False
    return True
