"""The per-Service result of kind_nodeport (pure)."""

from __future__ import annotations

import ipaddress

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _nodeport_plan, _service_report
from ansible_collections.hostreach.kind.plugins.module_utils._host_routes import Route
from hypothesis import given
from hypothesis import strategies as st

from tests.service_samples import service, write


def test_service_report_from_the_service_after_the_run() -> None:
    original = service()
    plan = _nodeport_plan.plan_present(original)
    after = write(original, plan)

    report = _service_report.service_report(after, plan, ["172.18.0.2"])

    assert report == {
        "namespace": "default",
        "name": "web",
        "type_before": "ClusterIP",
        "type_after": "NodePort",
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "node_port": 30000, "app_protocol": None, "urls": ["http://172.18.0.2:30000"]}],
        "urls": ["http://172.18.0.2:30000"],
        "changed": True,
        "skip_reason": None,
    }


def test_ports_without_ready_endpoints_are_decided_and_changed_services_wait() -> None:
    from ansible_collections.hostreach.kind.plugins.module_utils._probe import Target

    web, api = service("web"), service("api")
    web_plan, api_plan = _nodeport_plan.plan_present(web), _nodeport_plan.plan_present(api)
    counts = {("default", "web"): {("http", "TCP"): [1, 0]}, ("default", "api"): {("http", "TCP"): [0, 2]}}
    reports = [_service_report.service_report(write(web, web_plan), web_plan, ["172.18.0.2"], counts)]
    reports.append(_service_report.service_report(write(api, api_plan), api_plan, ["172.18.0.2"], counts))

    targets, decided = _service_report.probe_targets(reports, wait=True)

    assert reports[1]["endpoints"] == {"ready": 0, "not_ready": 2, "selector": "app=api"}
    assert targets == [Target("http://172.18.0.2:30000", True)]
    assert list(decided) == reports[1]["urls"]
    only = decided[reports[1]["urls"][0]]
    assert (only["diagnosis"], only["waited"], only["endpoints"]) == ("no ready endpoints", 0.0, {"ready": 0, "not_ready": 2})
    assert _service_report.probe_targets(reports, wait=False)[0] == [Target("http://172.18.0.2:30000", False)]


def test_became_ready_offers_only_pending_urls_whose_port_now_has_a_ready_endpoint() -> None:
    from ansible_collections.hostreach.kind.plugins.module_utils._probe import Target

    api = service("api")
    plan = _nodeport_plan.plan_present(api)
    before = {("default", "api"): {("http", "TCP"): [0, 1]}}
    report = _service_report.service_report(write(api, plan), plan, ["172.18.0.2"], before)
    url = report["urls"][0]
    assert _service_report.became_ready([report], before, {url}) == []
    assert _service_report.became_ready([report], {("default", "api"): {("http", "TCP"): [1, 0]}}, {url}) == [Target(url, True)]
    assert _service_report.became_ready([report], {("default", "api"): {("http", "TCP"): [1, 0]}}, set()) == []


# Every address the cluster names is probed only when routed through a kind node (issue 18, item 4) -------------------

DEFAULT = Route(ipaddress.ip_network("0.0.0.0/0"), "10.0.2.2", "eth0")
KIND = Route(ipaddress.ip_network("172.18.0.0/16"), None, "br-kind")
LAN = Route(ipaddress.ip_network("192.168.1.0/24"), None, "eth0")
SERVICES = Route(ipaddress.ip_network("10.96.0.0/16"), "172.18.0.2", "br-kind")
TUNNEL = Route(ipaddress.ip_network("172.19.0.0/16"), None, "utun4")
LINUX = [DEFAULT, KIND, LAN, SERVICES]
NODES = {"172.18.0.2", "fc00::2"}


@pytest.mark.parametrize(
    ("address", "own_network", "routes", "routed"),
    [
        ("192.0.2.10", True, LINUX, False),  # TEST-NET-1: the default route, not the cluster's
        ("192.168.1.20", True, LINUX, False),  # the host's own LAN: directly connected, but no kind node's network
        ("172.18.0.200", True, LINUX, True),  # cloud-provider-kind, MetalLB: an address on the kind network
        ("172.18.0.2", True, [DEFAULT], True),  # a node's own address (k3s' ServiceLB, the kind tier's test)
        ("10.96.0.50", True, LINUX, True),  # through a node
        ("172.19.0.9", True, [*LINUX, TUNNEL], True),  # through docker-connector's tunnel
        ("192.0.2.10", True, [Route(ipaddress.ip_network("0.0.0.0/0"), "172.18.0.2", "br-kind"), KIND], False),  # never a default route
        ("192.0.2.10", True, [DEFAULT], False),  # nodes reached by the default route do not make it the kind network's
        ("192.0.2.10", True, [], False),
        ("fc00::200", True, LINUX, False),  # IPv6: no IPv6 route is read, so none is known to go through a node
        ("fc00::2", True, LINUX, True),  # but a node's own address is the node's
        ("10.96.0.10", False, LINUX, True),  # a ClusterIP through a node, as before
        ("172.18.0.200", False, LINUX, False),  # a ClusterIP only through a node, as before (not the nodes' network)
        ("192.0.2.10", False, LINUX, False),
    ],
)
def test_route_problem_lets_through_only_addresses_routed_through_kind_nodes(address: str, own_network: bool, routes: list, routed: bool) -> None:
    problem = _service_report.route_problem(routes, address, NODES, own_network)
    assert (problem is None) == routed, problem


def test_route_problem_says_which_route_the_packets_would_take() -> None:
    problem = _service_report.route_problem(LINUX, "192.0.2.10", NODES, True)
    assert problem == "this host would send packets for 192.0.2.10 by the route default (0.0.0.0/0) via 10.0.2.2 dev eth0, which goes through no kind node"
    assert _service_report.route_problem([KIND], "192.0.2.10", NODES, True) == "this host has no IPv4 route to 192.0.2.10"
    assert "not an IP address" in _service_report.route_problem(LINUX, "1.2.3.4; x", NODES, True)


@given(st.ip_addresses(v=4))
def test_a_load_balancer_address_is_let_through_only_on_the_kind_network_or_through_a_node(ip) -> None:
    routed = _service_report.route_problem(LINUX, str(ip), NODES, True) is None
    assert routed == (ip in KIND.network or ip in SERVICES.network)


def test_load_balancer_addresses_are_always_guarded_and_cluster_addresses_with_routes() -> None:
    lb = service("lb", type="LoadBalancer", clusterIP="10.96.0.20")
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}, {"hostname": "lb.example"}]}}
    web = service("web")
    assert _service_report.guarded_hosts([lb, web], "nodeport", None) == {"192.0.2.10": True, "lb.example": True}
    assert _service_report.guarded_hosts([lb, web], "both", "cluster.local") == {
        "192.0.2.10": True,
        "lb.example": True,
        "10.96.0.20": False,
        "10.96.0.10": False,
        "lb.default.svc.cluster.local": False,
        "web.default.svc.cluster.local": False,
    }


def test_external_ips_get_no_url_so_they_are_never_probed() -> None:
    lb = service("lb", type="LoadBalancer", externalIPs=["192.0.2.7"])
    lb["spec"]["ports"][0]["nodePort"] = 30080
    report = _service_report.service_reports([(_nodeport_plan.unchanged(lb), lb)], {"n": ["172.18.0.2"]}, None, "both", "cluster.local")[0]
    assert not [u for u in report["urls"] if "192.0.2.7" in u]
    assert "192.0.2.7" not in _service_report.guarded_hosts([lb], "both", "cluster.local")


# Node URLs by the Service's IP families (issue 18, item 15) -----------------------------------------------------------


def _exposed(families: list | None) -> tuple:
    original = service(**({"ipFamilies": families} if families else {}))
    plan = _nodeport_plan.plan_present(original)
    return plan, write(original, plan)


def test_an_ipv6_only_service_gets_no_ipv4_node_url_but_a_reason() -> None:
    reports = _service_report.service_reports([_exposed(["IPv6"])], {"kind-control-plane": ["172.18.0.2"]}, None, "nodeport", None)
    assert reports[0]["urls"] == []
    assert reports[0]["skip_reason"].startswith("no node has an InternalIP of the Service's IP families (IPv6)")


def test_an_ipv6_only_service_gets_bracketed_ipv6_node_urls_and_ipv4_services_keep_ipv4() -> None:
    nodes = {"kind-control-plane": ["172.18.0.2", "fc00::2"]}
    six, four, unset = (_service_report.service_reports([_exposed(f)], nodes, None, "nodeport", None)[0] for f in (["IPv6"], ["IPv4"], None))
    assert (six["urls"], six["skip_reason"]) == (["http://[fc00::2]:30000"], None)
    assert four["urls"] == unset["urls"] == ["http://172.18.0.2:30000"]


def test_no_reason_without_any_node_address_or_with_reach_routes() -> None:
    assert _service_report.service_reports([_exposed(["IPv6"])], {}, None, "nodeport", None)[0]["skip_reason"] is None  # Nodes not listed
    assert _service_report.service_reports([_exposed(["IPv6"])], {"n": ["172.18.0.2"]}, None, "routes", None)[0]["skip_reason"] is None


# The probe plan and the report, from what was gathered (issue 19, item 4: no I/O in the report) ---------------------

VIEW = _service_report.HostView([DEFAULT, KIND, SERVICES], {"10.96.0.10": "10.96.0.10", "192.0.2.10": "192.0.2.10"}, {"web.default.svc.dev": "no such name"})


def _routes_report(name: str, ready: int, cluster_ip: str = "10.96.0.10") -> dict:
    svc = service(name, clusterIP=cluster_ip)
    counts = {("default", name): {("http", "TCP"): [ready, 0]}}
    return _service_report.service_report(svc, _nodeport_plan.unchanged(svc), [], counts, "routes", None)


def test_unrouted_decides_from_the_gathered_view_alone() -> None:
    guarded = {"10.96.0.10": False, "192.0.2.10": False, "web.default.svc.dev": False}
    urls = ["http://10.96.0.10:80", "http://192.0.2.10:80", "http://web.default.svc.dev:80", "http://172.18.0.2:30080"]

    decided = _service_report.unrouted(urls, guarded, {"172.18.0.2"}, VIEW)

    assert list(decided) == ["http://192.0.2.10:80", "http://web.default.svc.dev:80"]
    assert decided["http://192.0.2.10:80"]["diagnosis"] == "not routed" and "via 10.0.2.2 dev eth0" in decided["http://192.0.2.10:80"]["error"]
    assert (decided["http://web.default.svc.dev:80"]["diagnosis"], decided["http://web.default.svc.dev:80"]["error"]) == (
        "name not resolved",
        "web.default.svc.dev: no such name",
    )


def test_a_url_that_is_not_routed_is_never_pending_so_never_probed_late() -> None:
    """Before issue 19 every decided URL was pending, so a not-routed URL whose port was ready was probed by the first
    late round while a new nodePort was waited for. Only routed URLs without a ready endpoint may be taken up late."""
    routed_waiting, off_route_ready = _routes_report("web", 0), _routes_report("api", 1, cluster_ip="192.0.2.10")
    guarded = _service_report.guarded_hosts([service("web"), service("api", clusterIP="192.0.2.10")], "routes", None)
    targets, decided, candidates = _service_report.may_probe([routed_waiting, off_route_ready], wait=True)

    plan = _service_report.probe_plan(targets, decided, candidates, _service_report.unrouted(candidates, guarded, {"172.18.0.2"}, VIEW))

    assert plan.targets == [] and plan.pending == {"http://10.96.0.10:80"}
    assert plan.decided["http://192.0.2.10:80"]["diagnosis"] == "not routed"
    assert plan.decided["http://10.96.0.10:80"]["diagnosis"] == "no ready endpoints"
    assert _service_report.may_probe([routed_waiting], wait=False)[2] == []  # no wait: nothing may be probed late


def test_probe_results_keep_the_reports_order_and_give_each_probed_url_its_hint() -> None:
    reports = [{"urls": ["http://172.18.0.2:30080", "http://10.96.0.10:80", "http://192.0.2.10:80"]}]
    refused = {"url": "http://172.18.0.2:30080", "reachable": False, "status": None, "error": "refused", "diagnosis": "refused", "waited": 0.0}
    timed_out = dict(refused, url="http://10.96.0.10:80", diagnosis="timed out")
    decided = {"http://192.0.2.10:80": _service_report.unprobed("http://192.0.2.10:80", "not routed", "no route")}
    probed = {u["url"]: u for u in (timed_out, refused)}

    results = _service_report.probe_results(reports, probed, decided, {"172.18.0.2"}, {"10.96.0.10": False}, tunnel=True)

    assert [r["url"] for r in results] == reports[0]["urls"]
    assert "kube-proxy" in results[0]["hint"] and "Docker VM's firewall" in results[1]["hint"]
    assert results[2] is decided["http://192.0.2.10:80"]


def test_the_result_says_changed_from_the_plans_and_carries_the_diff_and_probes_only_when_asked() -> None:
    from ansible_collections.hostreach.kind.plugins.module_utils._service_view import service_view

    web = service()
    plan = _nodeport_plan.plan_present(web)
    after = write(web, plan)
    results = [(plan, after)]
    reports = _service_report.service_reports(results, {"n": ["172.18.0.2"]}, None, "nodeport", None)

    full = _service_report.result(results, reports, {"n": ["172.18.0.2"]}, [], with_diff=True)
    listed = _service_report.result([(_nodeport_plan.unchanged(after, "nodeport"), after)], reports, {}, None)

    assert full["changed"] is True and full["urls"] == ["http://172.18.0.2:30000"] and full["nodes"] == {"n": "172.18.0.2"}
    assert full["diff"] == [{"before_header": "default/web", "after_header": "default/web", "before": plan.before, "after": service_view(after)}]
    assert full["probes"] == []
    assert listed["changed"] is False and "diff" not in listed and "probes" not in listed


def test_a_udp_port_is_never_probed_or_waited_for_and_says_why() -> None:
    """A TCP connect to a UDP nodePort is refused whatever kube-proxy does: probing it reported `refused` with a hint
    blaming kube-proxy, after waiting the whole deadline for a port that never opens to TCP."""
    udp, tcp = ({"name": name, "port": 53, "protocol": protocol, "targetPort": 53} for name, protocol in (("dns", "UDP"), ("dns-tcp", "TCP")))
    dns = service("dns", ports=[udp, tcp])
    plan = _nodeport_plan.plan_present(dns)
    counts = {("default", "dns"): {("dns", "UDP"): [1, 0], ("dns-tcp", "TCP"): [1, 0]}}
    reports = [_service_report.service_report(write(dns, plan), plan, ["172.18.0.2"], counts)]
    udp_url, tcp_url = reports[0]["urls"]

    targets, decided, candidates = _service_report.may_probe(reports, wait=True)

    assert [target.url for target in targets] == [tcp_url]
    assert candidates == [tcp_url]  # never probed late either
    assert (decided[udp_url]["diagnosis"], decided[udp_url]["reachable"], decided[udp_url]["waited"]) == ("not probed", None, 0.0)
    assert "UDP port" in decided[udp_url]["hint"] and "dig" in decided[udp_url]["hint"]
