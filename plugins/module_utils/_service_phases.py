# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The phases kind_nodeport and kind_service_urls share, and the options they share (documented once, in
doc_fragments/_services.py, beside SERVICE_ARGS here).

gather (the selected Services; then the Nodes, the EndpointSlices, this host's routes and names) → plan (the URLs of
every Service, which of them to probe how: _service_report) → probe (the only I/O after the gather) → report
(_service_report.result). kind_nodeport plans and applies its patches between the first gather and the rest.
"""

from __future__ import annotations

import platform
import socket
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hostreach.kind.plugins.module_utils import _endpoints, _host_routes, _k8s_names, _kube, _probe, _service_report, _service_select, _urls
from ansible_collections.hostreach.kind.plugins.module_utils._errors import InputError, KubeForbidden

# One deadline for every URL of a Service changed in this run, which may refuse until kube-proxy opens its nodePort.
PROBE_SETTLE = 10.0

# A services[] entry's options; kind_nodeport adds node_ports.
SERVICE_ENTRY = {"name": {"type": "str", "required": True}, "namespace": {"type": "str", "default": "default"}}
# The options every module that lists Services and their URLs takes, besides services, reach and _kube's.
SERVICE_ARGS = {
    "namespaces": {"type": "list", "elements": "str"},
    "label_selector": {"type": "str"},
    "dns_domain": {"type": "str"},
    "probe": {"type": "bool", "default": False},
    "tunnel": {"type": "bool"},
}


def argument_spec(entry: dict, **own: dict) -> dict:
    """AnsibleModule's keyword arguments of a module that selects Services and gives their URLs: _kube's options,
    SERVICE_ARGS, services (each entry with the options ``entry``), reach (each module documents what it means), and
    the module's ``own`` options."""
    reach = {"type": "str", "choices": ["nodeport", "routes", "both"], "default": "nodeport"}
    services = {"type": "list", "elements": "dict", "options": entry}
    return dict(
        argument_spec=dict(_kube.KUBE_COMMON_ARGS, **SERVICE_ARGS, services=services, reach=reach, **own),
        required_one_of=[("services", "namespaces")],
        required_by={"label_selector": "namespaces"},
        supports_check_mode=True,
    )


# Gather: the Services


def connect(params: dict) -> _kube.KubeApi:
    """The names checked (none may widen or move a request), the SDK there, and an API handle: nothing is read yet."""
    _k8s_names.require_cluster_name(params["cluster"])
    problems = _k8s_names.name_problems(params["services"] or [], params["namespaces"] or [])
    if problems:
        raise InputError("; ".join(problems) + "; nothing was asked of the cluster")
    _kube.require_sdk()
    return _kube.connect(params["kubeconfig"], params["context"], params["cluster"])


def gather_services(api: _kube.KubeApi, params: dict) -> tuple:
    """(Services listed per scope, the selected (Service, node_ports)). One LIST per scope (namespace and selector, or
    cluster-wide); a namespace whose LIST came back empty is looked up (one GET): one that does not exist fails the
    task instead of succeeding silently."""
    services, namespaces, selector = params["services"] or [], params["namespaces"] or [], params["label_selector"]
    listed = {scope: api.list_services(*scope) for scope in _service_select.list_scopes(services, namespaces, selector)}
    missing = [ns for ns in _service_select.empty_namespaces(listed, services, namespaces, selector) if not api.namespace_exists(ns)]
    if missing:
        raise InputError(
            f"namespace{'s' if len(missing) > 1 else ''} {', '.join(missing)} of the cluster of context {api.context} "
            f"do{'' if len(missing) > 1 else 'es'} not exist (kubectl get namespaces lists those that do); nothing was changed"
        )
    return listed, _service_select.select(listed, services, namespaces, selector)


# Gather: what the URLs and the probes need


def gather_nodes(api: _kube.KubeApi) -> tuple:
    """(node name -> InternalIPs, warnings); a user who may not list Nodes gets a warning and no URLs, and an
    InternalIP that is not an IP address a warning naming its node."""
    try:
        return _urls.node_internal_ips(api.list_nodes())
    except KubeForbidden as exc:
        return {}, [f"no node IPs and no URLs: {exc}"]


def gather_readiness(api: _kube.KubeApi, listed: dict, results: list) -> tuple:
    """(endpoint counts per Service port from EndpointSlices, warnings): one LIST per namespace of the selected
    Services, or one cluster-wide LIST when the Services were listed cluster-wide. None when it may not be read."""
    namespaces = sorted({plan.namespace for plan, _service in results})
    scopes = [None] if (None, None) in listed else namespaces
    try:
        return _endpoints.readiness([s for scope in scopes for s in api.list_endpoint_slices(scope)]), []
    except KubeForbidden as exc:
        return None, [f"probing without knowing which Services have ready endpoints: {exc}"]


def resolve(host: str) -> str:
    """The IPv4 address a URL's host stands for: itself when it is an IP address, else what this host's resolver says."""
    return host if _urls.parse_ip(host) else socket.getaddrinfo(host, None, socket.AF_INET)[0][4][0]


def gather_host(hosts: list) -> _service_report.HostView:
    """What this host says of ``hosts`` (the guarded hosts of the URLs that may be probed): its routes (read only when
    there is such a host) and what each host resolves to."""
    addresses, unresolved = {}, {}
    for host in hosts:
        try:
            addresses[host] = resolve(host)
        except OSError as exc:
            unresolved[host] = str(exc)
    return _service_report.HostView(_host_routes.read_routes() if hosts else [], addresses, unresolved)


def tunnel(params: dict) -> bool:
    """Whether this host reaches the kind network through docker-connector's tunnel (the hints): the option, else macOS."""
    return platform.system() == "Darwin" if params["tunnel"] is None else params["tunnel"]


# Probe


def probe(plan: _service_report.ProbePlan, reports: list, rescan: t.Callable[[], dict | None] | None) -> dict:
    """URL -> probe result of every target, at once, under one PROBE_SETTLE deadline for those that may wait. While
    such a URL is waited for, ``rescan`` (the EndpointSlices again; None: never) brings in the pending URLs whose port
    became ready meanwhile, probed under the same deadline."""
    pending = set(plan.pending)

    def late() -> list:
        counts = rescan() if pending and rescan else None
        fresh = _service_report.became_ready(reports, counts, pending) if counts is not None else []
        pending.difference_update(target.url for target in fresh)
        return fresh

    return {result["url"]: result for result in _probe.probe_all(plan.targets, PROBE_SETTLE, late=late if rescan else None)}


def probe_phase(params: dict, reports: list, services: list, addresses: dict, rescan: t.Callable[[], dict | None] | None) -> list:
    """Plan the probes, gather what this host says of the URLs' hosts, probe, and give every URL's result with its hint.
    With ``rescan`` (a patch opened nodePorts in this run) the URLs of changed Services wait; without, none does."""
    guarded = _service_report.guarded_hosts(services, params["reach"], params["dns_domain"])
    node_ips = {ip for ips in addresses.values() for ip in ips}
    targets, decided, candidates = _service_report.may_probe(reports, wait=rescan is not None)  # plan
    view = gather_host(_service_report.guarded_among(candidates, guarded))  # gather: this host's routes and names
    plan = _service_report.probe_plan(targets, decided, candidates, _service_report.unrouted(candidates, guarded, node_ips, view))  # plan
    probed = probe(plan, reports, rescan)  # probe
    return _service_report.probe_results(reports, probed, plan.decided, node_ips, guarded, tunnel(params))  # report


def urls_and_probes(
    module: AnsibleModule, api: _kube.KubeApi, listed: dict, results: list, reach: str, *, nodes: bool = True, wait: bool = False, diff: bool = False
) -> dict:
    """What follows the change, for both modules: gather (the Nodes unless not ``nodes``, the EndpointSlices to probe)
    → plan (every Service's URLs for ``reach``) → probe (with ``wait`` the URLs of changed Services wait for their
    new nodePorts, and the EndpointSlices are read again meanwhile) → report (with ``diff`` the diff)."""
    params = dict(module.params, reach=reach)
    addresses, warnings = gather_nodes(api) if nodes else ({}, [])
    counts, more = gather_readiness(api, listed, results) if params["probe"] else (None, [])
    for warning in warnings + more:
        module.warn(warning)
    reports = _service_report.service_reports(results, addresses, counts, reach, params["dns_domain"])
    probes = None
    if params["probe"]:
        rescan = (lambda: gather_readiness(api, listed, results)[0]) if wait else None
        probes = probe_phase(params, reports, [service for _plan, service in results], addresses, rescan)
    return _service_report.result(results, reports, addresses, probes, with_diff=diff)
