# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixed nodePorts: what the user asked for per port, the cluster's nodePort range, and the nodePorts other
Services hold. Every check here runs before the first write. Pure: no I/O."""

from __future__ import annotations

from ansible_collections.hostreach.kind.plugins.module_utils._errors import PlanError
from ansible_collections.hostreach.kind.plugins.module_utils._service_view import key_of, port_label, spec_of

DEFAULT_NODE_PORT_RANGE = (30000, 32767)


def resolve_node_ports(service: dict, node_ports: dict | None) -> dict:
    """Map port index -> wanted nodePort. Keys are port names or numbers (a number matches every
    protocol of that port, so 53 fixes both 53/TCP and 53/UDP)."""
    ports = spec_of(service).get("ports") or []
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
    ports = spec_of(service).get("ports") or []
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
        for port in spec_of(service).get("ports") or []:
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
