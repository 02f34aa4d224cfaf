# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What kind_nodeport returns per Service, and which of its URLs to probe how. Pure: no I/O."""

from __future__ import annotations

from ansible_collections.hostreach.kind.plugins.module_utils import _diagnosis, _endpoints, _urls
from ansible_collections.hostreach.kind.plugins.module_utils._nodeport_plan import Plan
from ansible_collections.hostreach.kind.plugins.module_utils._probe import Target
from ansible_collections.hostreach.kind.plugins.module_utils._service_view import port_view, spec_of


def port_urls(service: dict, port: dict, node_ips: list, reach: str, domain: str | None = None) -> list:
    """A port's URLs for `reach`: nodePorts on the nodes (nodeport, both), the ClusterIP and, with the cluster's DNS
    `domain`, the Service's name (routes, both), and a LoadBalancer's ingress addresses (always)."""
    urls = _urls.port_urls(port, node_ips) if reach in ("nodeport", "both") else []
    urls += _urls.ingress_urls(port, _urls.ingress_addresses(service))
    if reach in ("routes", "both"):
        urls += _urls.cluster_ip_port_urls(port, _urls.cluster_ips(service))
        urls += _urls.cluster_ip_port_urls(port, [_urls.service_name(service, domain)] if domain and _urls.cluster_ips(service) else [])
    return urls


def service_report(service: dict, plan_: Plan, node_ips: list, counts: dict | None = None, reach: str = "nodeport", domain: str | None = None) -> dict:
    """The per-Service return value, from the Service as it is after the run. With ``counts`` (from
    _endpoints.readiness) every port and the Service say how many endpoints are ready."""
    ports = []
    for port in spec_of(service).get("ports") or []:
        report = dict(port_view(port), app_protocol=port.get("appProtocol"), urls=port_urls(service, port, node_ips, reach, domain))
        if counts is not None:
            report["endpoints"] = _endpoints.port_endpoints(counts, plan_.namespace, plan_.name, port)
        ports.append(report)
    result = {
        "namespace": plan_.namespace,
        "name": plan_.name,
        "type_before": plan_.before["type"],
        "type_after": spec_of(service).get("type", "ClusterIP"),
        "ports": ports,
        "urls": [u for p in ports for u in p["urls"]],
        "changed": plan_.changed,
        "skip_reason": plan_.skip_reason,
    }
    if counts is not None:
        result["endpoints"] = {
            "ready": sum(p["endpoints"]["ready"] for p in ports),
            "not_ready": sum(p["endpoints"]["not_ready"] for p in ports),
            "selector": _endpoints.selector_text(service),
        }
    return result


def probe_targets(reports: list, wait: bool) -> tuple:
    """(Targets to probe, results decided without probing). A port without a ready endpoint is not probed: its
    URLs are reported `no ready endpoints` with a hint. With ``wait``, the URLs of changed Services may refuse
    until the shared deadline (kube-proxy opens a new nodePort a moment later)."""
    targets, decided = [], {}
    for report in reports:
        for port in report["ports"]:
            endpoints = port.get("endpoints")
            for address in port["urls"]:
                if endpoints is not None and not endpoints["ready"]:
                    hint = _diagnosis.no_endpoints_hint(report["namespace"], report["endpoints"]["selector"], endpoints["not_ready"])
                    decided[address] = {**unprobed(address, _diagnosis.NO_READY_ENDPOINTS, hint=hint), "endpoints": endpoints}
                else:
                    targets.append(Target(address, wait and report["changed"]))
    return targets, decided


def became_ready(reports: list, counts: dict, pending: set) -> list:
    """Targets (that may wait) for the URLs in ``pending`` whose port now has a ready endpoint in ``counts``."""
    fresh = []
    for report in reports:
        for port in report["ports"]:
            urls = [u for u in port["urls"] if u in pending]
            if urls and _endpoints.port_endpoints(counts, report["namespace"], report["name"], port)["ready"]:
                fresh += [Target(u, True) for u in urls]
    return fresh


def unprobed(address: str, diagnosis: str, error: str | None = None, hint: str | None = None) -> dict:
    """The result for a URL that is not probed: its Service has no ready endpoint, or it is a ClusterIP this host does
    not route through a kind node, or a name it does not resolve."""
    return {
        "url": address,
        "reachable": False,
        "status": None,
        "error": error,
        "diagnosis": diagnosis,
        "hint": _diagnosis.network_hint(diagnosis, "cluster IP", False) if hint is None else hint,
        "waited": 0.0,
    }
