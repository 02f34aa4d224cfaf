# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How many endpoints back each Service port, from EndpointSlices (discovery.k8s.io/v1). Pure: no I/O.

A Service whose port has no ready endpoint cannot answer, however good the network is: the probe says so
instead of waiting for it. An endpoint counts as ready unless its ``conditions.ready`` is false (the API
says a missing value means ready).
"""

from __future__ import annotations

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def _ready(endpoint: dict) -> bool:
    return (endpoint.get("conditions") or {}).get("ready") is not False


def readiness(slices: list) -> dict:
    """(namespace, Service name) -> {(port name, protocol): [ready, not ready]} over every slice of the Service."""
    counts: dict = {}
    for endpoint_slice in slices:
        meta = endpoint_slice.get("metadata") or {}
        service = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if not service:
            continue
        endpoints = endpoint_slice.get("endpoints") or []
        ready = sum(1 for e in endpoints if _ready(e))
        ports = counts.setdefault((meta.get("namespace"), service), {})
        for port in endpoint_slice.get("ports") or []:
            tally = ports.setdefault((port.get("name") or "", port.get("protocol") or "TCP"), [0, 0])
            tally[0] += ready
            tally[1] += len(endpoints) - ready
    return counts


def port_endpoints(counts: dict, namespace: str, name: str, port: dict) -> dict:
    """{ready, not_ready} for one port of a Service (a Service port matches slice ports by name and protocol)."""
    ready, not_ready = counts.get((namespace, name), {}).get((port.get("name") or "", port.get("protocol") or "TCP"), (0, 0))
    return {"ready": ready, "not_ready": not_ready}


def selector_text(service: dict) -> str | None:
    """The Service's selector as `kubectl get pods -l` takes it, or None for a Service without one."""
    selector = (service.get("spec") or {}).get("selector") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or None
