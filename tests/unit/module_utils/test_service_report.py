"""The per-Service result of kind_nodeport (pure)."""

from __future__ import annotations

from ansible_collections.hostreach.kind.plugins.module_utils import _nodeport_plan, _service_report
from service_samples import service, write


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
