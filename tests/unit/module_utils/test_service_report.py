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
