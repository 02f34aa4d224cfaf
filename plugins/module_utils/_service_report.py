# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What kind_nodeport returns per Service. Pure: no I/O."""

from __future__ import annotations

from ansible_collections.hostreach.kind.plugins.module_utils._nodeport_plan import Plan
from ansible_collections.hostreach.kind.plugins.module_utils._service_view import port_view, spec_of
from ansible_collections.hostreach.kind.plugins.module_utils._urls import port_urls


def service_report(service: dict, plan_: Plan, node_ips: list) -> dict:
    """The per-Service return value, from the Service as it is after the run."""
    ports = []
    for port in spec_of(service).get("ports") or []:
        ports.append(dict(port_view(port), app_protocol=port.get("appProtocol"), urls=port_urls(port, node_ips)))
    return {
        "namespace": plan_.namespace,
        "name": plan_.name,
        "type_before": plan_.before["type"],
        "type_after": spec_of(service).get("type", "ClusterIP"),
        "ports": ports,
        "urls": [u for p in ports for u in p["urls"]],
        "changed": plan_.changed,
        "skip_reason": plan_.skip_reason,
    }
