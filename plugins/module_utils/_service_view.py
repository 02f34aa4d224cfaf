# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What kind_nodeport reads of a Service object (a dict as the API returns it, camelCase): its key, spec,
annotations and the *view* (type, ports with nodePorts, whether it carries the restore annotation) that plans
compare. Pure: no I/O."""

from __future__ import annotations

ANNOTATION = "hostreach.kind/original"


def service_key(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def key_of(service: dict) -> str:
    meta = service["metadata"]
    return service_key(meta["namespace"], meta["name"])


def annotations_of(service: dict) -> dict:
    return service.get("metadata", {}).get("annotations") or {}


def spec_of(service: dict) -> dict:
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
    spec = spec_of(service)
    return {
        "type": spec.get("type", "ClusterIP"),
        "ports": [port_view(p) for p in spec.get("ports") or []],
        "managed": ANNOTATION in annotations_of(service),
    }
