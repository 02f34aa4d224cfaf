# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What kind_nodeport and kind_service_urls return: per Service, which of its URLs to probe how, and the whole result
(the report phase). Pure: no I/O; what the report needs of this host (routes, names) comes in as a HostView."""

from __future__ import annotations

import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils import _diagnosis, _endpoints, _urls
from ansible_collections.hostreach.kind.plugins.module_utils._host_routes import Route, covering
from ansible_collections.hostreach.kind.plugins.module_utils._nodeport_plan import Plan
from ansible_collections.hostreach.kind.plugins.module_utils._probe import Target, split_url
from ansible_collections.hostreach.kind.plugins.module_utils._service_view import port_view, service_view, spec_of


class HostView(t.NamedTuple):
    """What this host says of the guarded hosts of the URLs that may be probed, read before any probe (gather): its
    IPv4 routes, the address each host stands for (an IP address stands for itself), and why a name did not resolve."""

    routes: list
    addresses: dict  # host -> IPv4 address
    unresolved: dict  # host -> what the resolver said


class ProbePlan(t.NamedTuple):
    """Which URLs the probe phase sends packets to, and what is decided without one."""

    targets: list  # Target, probed at once
    decided: dict  # URL -> result, never probed (no ready endpoints, not routed, name not resolved)
    pending: set  # URLs without a ready endpoint yet, routed: probed late if their port becomes ready while others wait


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


def service_reports(results: list, addresses: dict, counts: dict | None, reach: str, domain: str | None) -> list:
    """service_report of every (plan, Service) in ``results``, each with the node addresses of its own IP families
    (``addresses``: node name -> InternalIPs). A Service that gets no URL because no node has an address of its
    families says so in its skip_reason."""
    reports = []
    for plan_, service in results:
        node_ips = _urls.family_node_ips(addresses, _urls.ip_families(service))
        report = service_report(service, plan_, node_ips, counts, reach, domain)
        if addresses and not node_ips and not report["urls"] and report["skip_reason"] is None and reach != "routes":
            report["skip_reason"] = no_family_reason(service)
        reports.append(report)
    return reports


def no_family_reason(service: dict) -> str:
    families = spec_of(service).get("ipFamilies") or ["IPv4"]
    return (
        f"no node has an InternalIP of the Service's IP families ({', '.join(map(str, families))}): kube-proxy serves its"
        " nodePorts only on node addresses of those families, so it has no node URL"
    )


def guarded_hosts(services: list, reach: str, domain: str | None) -> dict:
    """The URL hosts that are probed only when this host routes them through a kind node (route_problem): host ->
    whether it may also be on the nodes' own network. A load balancer's ingress addresses always (True); with reach
    routes or both, the ClusterIPs and, with ``domain``, the Service names (False, which wins for a host that is both)."""
    guarded = {address: True for service in services for address in _urls.ingress_addresses(service)}
    if reach != "nodeport":
        guarded.update({ip: False for service in services for ip in _urls.cluster_ips(service)})
        guarded.update({_urls.service_name(service, domain): False for service in services if domain})
    return guarded


def route_problem(routes: list, host: str, node_ips: set, own_network: bool) -> str | None:
    """None when this host sends packets for ``host`` (an IP address) through a kind node: by a route whose gateway is a
    node's IP, or through docker-connector's tunnel (a utun device). An address that may be on the nodes' own network
    (``own_network``: a load balancer's) may also be a node's own address, or be reached by the very route that reaches
    a node (the kind network's; never a default route). Otherwise what is wrong, for the probe's error: such an
    address is never sent a packet."""
    ip = _urls.parse_ip(host)
    if ip is None:
        return f"{host!r} is not an IP address"
    if own_network and str(ip) in node_ips:
        return None
    route = covering(routes, str(ip)) if ip.version == 4 else None
    if route is None:
        return f"this host has no IPv4 route to {ip}" if ip.version == 4 else f"{ip} is an IPv6 address: only IPv4 routes through kind nodes are known"
    through_node = route.gateway in node_ips or route.device.startswith("utun")
    if own_network:
        node_routes = {covering(routes, node_ip) for node_ip in node_ips if _urls.parse_ip(node_ip).version == 4}
        through_node = route.network.prefixlen > 0 and (through_node or route in node_routes)
    if through_node:
        return None
    return f"this host would send packets for {ip} by the route {route_text(route)}, which goes through no kind node"


def route_text(route: Route) -> str:
    """A route as `ip route` shows it: `172.18.0.0/16 dev br-1a2b`, `default (0.0.0.0/0) via 10.0.2.2 dev eth0`."""
    gateway = f" via {route.gateway}" if route.gateway else ""
    return f"{'default (0.0.0.0/0)' if not route.network.prefixlen else route.network}{gateway} dev {route.device}"


def probe_targets(reports: list, wait: bool) -> tuple:
    """(Targets to probe, results decided without probing). A UDP or SCTP port is not probed (a TCP connect cannot
    tell). A port without a ready endpoint is not probed either: its URLs are reported `no ready endpoints` with a hint.
    With ``wait``, the URLs of changed Services may refuse until the shared deadline (kube-proxy opens a new nodePort a
    moment later)."""
    targets, decided = [], {}
    for report in reports:
        for port in report["ports"]:
            endpoints = port.get("endpoints")
            for address in port["urls"]:
                if port["protocol"] != "TCP":
                    decided[address] = unprobed(address, _diagnosis.NOT_PROBED, hint=_diagnosis.not_tcp_hint(port["protocol"]))
                elif endpoints is not None and not endpoints["ready"]:
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


def unprobed(address: str, diagnosis: str, error: str | None = None, hint: str | None = None, via: str = "cluster IP") -> dict:
    """The result for a URL that is not probed: its Service has no ready endpoint, or it is a ClusterIP or a load
    balancer's address (``via``) this host does not route through a kind node, or a name it does not resolve; reachable
    is None for a port that is not TCP (not probed: unknown), else False."""
    return {
        "url": address,
        "reachable": None if diagnosis == _diagnosis.NOT_PROBED else False,
        "status": None,
        "error": error,
        "diagnosis": diagnosis,
        "hint": _diagnosis.network_hint(diagnosis, via, False) if hint is None else hint,
        "waited": 0.0,
    }


def may_probe(reports: list, wait: bool) -> tuple:
    """(Targets, decided results, URLs that may be probed): probe_targets, and with ``wait`` the URLs without a ready
    endpoint too, since they are probed late when their port becomes ready while new nodePorts are waited for."""
    targets, decided = probe_targets(reports, wait)
    waiting = [url for url, result in decided.items() if result["diagnosis"] == _diagnosis.NO_READY_ENDPOINTS] if wait else []
    return targets, decided, [target.url for target in targets] + waiting


def guarded_among(urls: list, guarded: dict) -> list:
    """The guarded hosts (guarded_hosts) of ``urls``, once each, in order: what the gather phase asks this host about."""
    return list(dict.fromkeys(host for host in (split_url(u)[1] for u in urls) if host in guarded))


def unrouted(urls: list, guarded: dict, node_ips: set, view: HostView) -> dict:
    """Results for the ``urls`` whose host is ``guarded`` (ClusterIPs, Service names, load balancer addresses: host ->
    may be on the nodes' own network) and that this host (``view``) does not route through a kind node (or
    docker-connector's utun tunnel), or whose name it does not resolve: never probed, so nothing goes out to an
    address that is not the cluster's."""
    decided = {}
    for url in urls:
        host = split_url(url)[1]
        if host not in guarded:
            continue
        if host in view.unresolved:
            decided[url] = unprobed(url, _diagnosis.NAME_NOT_RESOLVED, f"{host}: {view.unresolved[host]}")
            continue
        problem = route_problem(view.routes, view.addresses[host], node_ips, guarded[host])
        if problem:
            decided[url] = unprobed(url, _diagnosis.NOT_ROUTED, problem, via="load balancer" if guarded[host] else "cluster IP")
    return decided


def probe_plan(targets: list, decided: dict, candidates: list, off_route: dict) -> ProbePlan:
    """The plan of the probe phase: the targets that are routed, the decided results (no ready endpoints stays the
    diagnosis of a URL that is also not routed), and the routed URLs without a ready endpoint yet (``decided`` among
    ``candidates``), which the probe phase may take up late. ``off_route``: unrouted's results."""
    pending = {url for url in candidates if url in decided and url not in off_route}
    decided = {**off_route, **decided}
    return ProbePlan([target for target in targets if target.url not in decided], decided, pending)


def via_of(url: str, node_ips: set, guarded: dict) -> str:
    """How a URL reaches the Service, for its hint: 'node port', 'load balancer' or 'cluster IP'."""
    host = split_url(url)[1]
    return "node port" if host in node_ips else "load balancer" if guarded.get(host) else "cluster IP"


def probe_results(reports: list, probed: dict, decided: dict, node_ips: set, guarded: dict, tunnel: bool) -> list:
    """Every URL's result in the order of the reports: a probed URL's (``probed``: URL -> _probe.probe's result) with its
    hint (through docker-connector's ``tunnel`` or not), else the one decided without probing."""
    results = []
    for url in (u for report in reports for u in report["urls"]):
        if url in probed:
            results.append({**probed[url], "hint": _diagnosis.network_hint(probed[url]["diagnosis"], via_of(url, node_ips, guarded), tunnel)})
        else:
            results.append(decided[url])
    return results


def diff(results: list) -> list:
    """Diff mode: each changed Service's view before and after."""
    return [
        {"before_header": plan_.key, "after_header": plan_.key, "before": plan_.before, "after": service_view(service)}
        for plan_, service in results
        if plan_.changed
    ]


def result(results: list, reports: list, addresses: dict, probes: list | None, with_diff: bool = False) -> dict:
    """The module's result (the report phase): ``changed`` from the plans, the Services' reports, the nodes' preferred
    addresses, every URL, the diff with ``with_diff``, and the probes when there were any (``probes`` not None)."""
    out = {
        "changed": any(plan_.changed for plan_, _service in results),
        "services": reports,
        "nodes": _urls.preferred(addresses),
        "urls": [u for report in reports for u in report["urls"]],
    }
    if with_diff:
        out["diff"] = diff(results)
    if probes is not None:
        out["probes"] = probes
    return out
