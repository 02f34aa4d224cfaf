# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure planning for kind_nodeport: Service objects (dicts as the API returns them) in, plans out.

Nothing here talks to a cluster. A plan compares a *view* of the Service (type, ports, whether it
carries our restore annotation) with the wanted view; that one comparison gives ``changed`` and the
diff, and the JSON patch is derived from the wanted view. Patches replace ``spec.ports`` whole
(a strategic merge keys ports by number and mangles the same port on TCP and UDP) and carry the
resourceVersion that was read, so a concurrent change makes the apiserver answer 409 Conflict.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from dataclasses import dataclass, field

ANNOTATION = "hostreach.kind/original"
_ANNOTATION_PATH = "/metadata/annotations/" + ANNOTATION.replace("~", "~0").replace("/", "~1")
PROTECTED = (("default", "kubernetes"),)
DEFAULT_NODE_PORT_RANGE = (30000, 32767)

_HTTP_APP_PROTOCOLS = {"http": "http", "https": "https", "kubernetes.io/h2c": "http", "kubernetes.io/ws": "http", "kubernetes.io/wss": "https"}
_HTTP_NAMES = {"http": "http", "web": "http", "www": "http", "http2": "http", "h2c": "http", "http-alt": "http", "https": "https"}
_HTTP_PORTS = {80: "http", 8000: "http", 8080: "http", 443: "https", 8443: "https"}


class PlanError(Exception):
    """The wanted state cannot be reached for a Service; the message says why and what to do."""


@dataclass
class Plan:
    """What to do with one Service. ``patch`` is empty when nothing is written."""

    namespace: str
    name: str
    resource_version: str
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


def service_key(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def key_of(service: dict) -> str:
    meta = service["metadata"]
    return service_key(meta["namespace"], meta["name"])


def _annotations(service: dict) -> dict:
    return service.get("metadata", {}).get("annotations") or {}


def _spec(service: dict) -> dict:
    return service.get("spec") or {}


def port_label(port: dict) -> str:
    """How a port is named in messages: ``http (80/TCP)`` or ``53/UDP``."""
    text = f"{port.get('port')}/{port.get('protocol', 'TCP')}"
    return f"{port['name']} ({text})" if port.get("name") else text


def port_view(port: dict) -> dict:
    return {
        "name": port.get("name"),
        "port": port.get("port"),
        "protocol": port.get("protocol", "TCP"),
        "node_port": port.get("nodePort"),
    }


def service_view(service: dict) -> dict:
    """The part of a Service this module reads and writes; plans compare these."""
    spec = _spec(service)
    return {
        "type": spec.get("type", "ClusterIP"),
        "ports": [port_view(p) for p in spec.get("ports") or []],
        "managed": ANNOTATION in _annotations(service),
    }


def unexposable_reason(service: dict) -> str | None:
    """Why a Service can never get nodePorts, or None."""
    spec = _spec(service)
    if spec.get("type") == "ExternalName":
        return f"ExternalName Service (a DNS alias for {spec.get('externalName', 'another name')}) has no ports to expose"
    if spec.get("clusterIP") == "None":
        return "headless Service (clusterIP: None) cannot have nodePorts"
    if not spec.get("ports"):
        return "Service has no ports"
    return None


def resolve_node_ports(service: dict, node_ports: dict | None) -> dict:
    """Map port index -> wanted nodePort. Keys are port names or numbers (a number matches every
    protocol of that port, so 53 fixes both 53/TCP and 53/UDP)."""
    ports = _spec(service).get("ports") or []
    wanted: dict = {}
    given_by: dict = {}
    for key, value in (node_ports or {}).items():
        node_port = node_port_number(value)
        if node_port is None:
            raise PlanError(f"{key_of(service)}: node_ports[{key}] must be a whole port number (1-65535), got {value!r}")
        text = str(key)
        matches = [i for i, p in enumerate(ports) if p.get("name") == text]
        if not matches:
            matches = [i for i, p in enumerate(ports) if str(p.get("port")) == text]
        if not matches:
            raise PlanError(f"{key_of(service)} has no port named or numbered {text}; its ports are: {', '.join(port_label(p) for p in ports) or 'none'}")
        for i in matches:
            if wanted.get(i, node_port) != node_port:
                raise PlanError(
                    f"{key_of(service)}: node_ports[{given_by[i]}] = {wanted[i]} and node_ports[{key}] = {node_port} both name port "
                    f"{port_label(ports[i])}; give it one nodePort"
                )
            wanted[i], given_by[i] = node_port, key
    return wanted


def node_port_number(value: object) -> int | None:
    """A port number given as an integer or as digits; None for anything else (30080.7, true, "http")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and 0 < value < 65536 else None


def parse_port_range(text: str) -> tuple | None:
    """``30000-32767``, ``30000+2767`` or ``30000`` (the forms kube-apiserver accepts) as (first, last)."""
    text = str(text).strip()
    try:
        if "-" in text:
            first, last = (int(x) for x in text.split("-", 1))
        elif "+" in text:
            first, size = (int(x) for x in text.split("+", 1))
            last = first + size
        else:
            first = last = int(text)
    except ValueError:
        return None
    return (first, last) if 0 < first <= last < 65536 else None


def range_from_extra_args(extra_args) -> tuple | None:
    """--service-node-port-range out of kubeadm's apiServer.extraArgs: a mapping (v1beta3) or a list
    of {name, value} (v1beta4)."""
    if isinstance(extra_args, dict):
        value = extra_args.get("service-node-port-range")
    else:
        value = next((a.get("value") for a in extra_args or [] if isinstance(a, dict) and a.get("name") == "service-node-port-range"), None)
    return parse_port_range(value) if value is not None else None


def node_port_range_of(cluster_configuration: dict | None) -> tuple:
    """(range, where it comes from) for a kubeadm ClusterConfiguration (None when there is none)."""
    where = "kube-system/kubeadm-config"
    if cluster_configuration is None:
        return DEFAULT_NODE_PORT_RANGE, f"the Kubernetes default; there is no readable {where} to say otherwise"
    found = range_from_extra_args((cluster_configuration.get("apiServer") or {}).get("extraArgs"))
    if found:
        return found, f"--service-node-port-range in {where}"
    return DEFAULT_NODE_PORT_RANGE, f"the Kubernetes default; {where} sets no --service-node-port-range"


def new_fixed_node_ports(service: dict, wanted: dict) -> dict:
    """The wanted nodePorts (index -> nodePort) the Service does not hold yet; only those need checks."""
    ports = _spec(service).get("ports") or []
    return {i: n for i, n in wanted.items() if ports[i].get("nodePort") != n}


def out_of_range(wanted: dict, node_port_range: tuple, source: str) -> list:
    """Errors for wanted nodePorts (Service key -> {index: nodePort}) outside the range."""
    first, last = node_port_range
    return [
        f"nodePort {n} wanted for {key} is outside the cluster's nodePort range {first}-{last} ({source})"
        for key, ports in wanted.items()
        for n in sorted(set(ports.values()))
        if not first <= n <= last
    ]


def taken_node_ports(services: list) -> dict:
    """nodePort -> key of the Service holding it, over every Service given (one LIST's items)."""
    taken = {}
    for service in services:
        for port in _spec(service).get("ports") or []:
            if port.get("nodePort"):
                taken.setdefault(port["nodePort"], key_of(service))
    return taken


def node_port_conflicts(wanted: dict, taken: dict) -> list:
    """Errors for fixed nodePorts that another Service holds or that two selected Services both want.

    ``wanted`` maps a Service key to {port index: nodePort}; ``taken`` is ``taken_node_ports(...)``.
    """
    errors = []
    claimed = {}
    for key, ports in wanted.items():
        for node_port in sorted(set(ports.values())):
            holder = taken.get(node_port)
            if holder and holder != key:
                errors.append(f"nodePort {node_port} wanted for {key} is already taken by Service {holder}")
            elif node_port in claimed and claimed[node_port] != key:
                errors.append(f"nodePort {node_port} is wanted for both {claimed[node_port]} and {key}")
            claimed.setdefault(node_port, key)
    return errors


def _ports_with(service: dict, node_ports: dict) -> list:
    """Every port of the Service (none dropped, TCP and UDP twins kept) with nodePorts set as given
    (index -> nodePort) and removed where not given."""
    ports = []
    for i, port in enumerate(_spec(service).get("ports") or []):
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
    return Plan(meta["namespace"], meta["name"], rv, before, after, patch, skip_reason)


def original_record(service: dict) -> str:
    """The annotation value: the Service's type and every field the switch to NodePort touches."""
    spec = _spec(service)
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
    spec = _spec(service)
    current = {i: p.get("nodePort") for i, p in enumerate(spec.get("ports") or [])}
    managed = ANNOTATION in _annotations(service)
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


def plan_absent(service: dict) -> Plan:
    """Undo plan_present: the recorded type and fields back, nodePorts and the annotation gone.
    A Service without the annotation is never touched."""
    record_text = _annotations(service).get(ANNOTATION)
    if record_text is None:
        return _finish(service, service, [], f"not exposed by kind_nodeport (no {ANNOTATION} annotation); left alone")
    try:
        record = json.loads(record_text)
        original_type = record["type"]
    except (ValueError, TypeError, KeyError):
        raise PlanError(
            f"{key_of(service)}: the {ANNOTATION} annotation is not what kind_nodeport writes: {record_text!r}. Fix or remove it by hand."
        ) from None
    spec = _spec(service)
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


def plan(service: dict, state: str, node_ports: dict | None = None) -> Plan:
    return plan_present(service, node_ports) if state == "present" else plan_absent(service)


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


def without_dry_run_placeholders(service: dict, plan_: Plan) -> dict:
    """A server-side dry run does not allocate nodePorts: it answers placeholders (32769, 32770, ...).
    Keep only the nodePorts the plan asked for or kept; the others are unknown until the real write."""
    service = copy.deepcopy(service)
    for i, port in enumerate(_spec(service).get("ports") or []):
        if plan_.after["ports"][i]["node_port"] is None:
            port.pop("nodePort", None)
    return service


def port_scheme(port: dict) -> str | None:
    """'http' or 'https' when the port is evidently HTTP (appProtocol, then name, then number), else None."""
    if port.get("protocol", "TCP") != "TCP":
        return None
    app = (port.get("appProtocol") or "").lower()
    if app:
        return _HTTP_APP_PROTOCOLS.get(app)
    name = (port.get("name") or "").lower()
    if name in _HTTP_NAMES:
        return _HTTP_NAMES[name]
    for prefix in ("https-", "http-"):
        if name.startswith(prefix) or name.endswith("-" + prefix[:-1]):
            return prefix[:-1]
    return _HTTP_PORTS.get(port.get("port"))


def url(ip: str, node_port: int, scheme: str | None) -> str:
    host = f"[{ip}]" if ":" in ip else ip
    address = f"{host}:{node_port}"
    return f"{scheme}://{address}" if scheme else address


def port_urls(port: dict, node_ips: list) -> list:
    if not port.get("nodePort"):
        return []
    scheme = port_scheme(port)
    return [url(ip, port["nodePort"], scheme) for ip in node_ips]


def node_addresses(nodes: list) -> dict:
    """Node name -> InternalIP, preferring IPv4 (docker-connector routes IPv4 only)."""
    result = {}
    for node in nodes:
        ips = [a["address"] for a in (node.get("status") or {}).get("addresses") or [] if a.get("type") == "InternalIP"]
        ips.sort(key=lambda ip: ipaddress.ip_address(ip).version)
        if ips:
            result[node["metadata"]["name"]] = ips[0]
    return result


def service_report(service: dict, plan_: Plan, node_ips: list) -> dict:
    """The per-Service return value, from the Service as it is after the run."""
    ports = []
    for port in _spec(service).get("ports") or []:
        ports.append(dict(port_view(port), app_protocol=port.get("appProtocol"), urls=port_urls(port, node_ips)))
    return {
        "namespace": plan_.namespace,
        "name": plan_.name,
        "type_before": plan_.before["type"],
        "type_after": _spec(service).get("type", "ClusterIP"),
        "ports": ports,
        "urls": [u for p in ports for u in p["urls"]],
        "changed": plan_.changed,
        "skip_reason": plan_.skip_reason,
    }
