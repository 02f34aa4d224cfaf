"""kind_nodeport without a cluster: argument checks and the errors raised before any request (a missing kubeconfig, a
name that would widen or move the request), run in-process like docker_bridge_routes' (ansible_runner.in_process);
and the missing-SDK error, through the `ansible` CLI, since it needs another target interpreter."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from ansible_collections.hostreach.kind.plugins.modules import kind_nodeport

from tests.ansible_runner import adhoc, in_process

REPO = Path(__file__).resolve().parents[3]
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture
def no_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME with no ~/.kube/config and no kubeconfig variables: a run that got as far as connecting would say so."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for variable in ("KUBECONFIG", "K8S_AUTH_KUBECONFIG"):
        monkeypatch.setenv(variable, "")
    return tmp_path


def test_services_or_namespaces_is_required() -> None:
    result = in_process(kind_nodeport, {"cluster": "kind"})
    assert result["failed"]
    assert result["msg"] == "one of the following is required: services, namespaces"


def test_label_selector_needs_namespaces() -> None:
    result = in_process(kind_nodeport, {"services": [{"name": "web"}], "label_selector": "app=web"})
    assert result["failed"]
    assert "label_selector" in result["msg"] and "namespaces" in result["msg"]


def test_no_kubeconfig_fails_saying_where_it_looked(no_kubeconfig: Path) -> None:
    result = in_process(kind_nodeport, {"services": [{"name": "web"}]})
    assert result["failed"]
    assert result["msg"].startswith(f"no kubeconfig found: looked at {no_kubeconfig}/.kube/config (the default location)")


@pytest.mark.skipif(
    subprocess.run([SYSTEM_PYTHON, "-c", "import kubernetes"], capture_output=True, check=False).returncode == 0, reason="needs an interpreter without the SDK"
)
def test_missing_sdk_names_the_target_interpreter() -> None:
    result = adhoc("kind_nodeport", {"services": [{"name": "web"}]}, python=SYSTEM_PYTHON)
    assert result["failed"]
    assert "Failed to import the required Python library (kubernetes)" in result["msg"]
    assert SYSTEM_PYTHON in result["msg"]


def documented_tasks() -> list:
    """The kind_nodeport tasks of the module's EXAMPLES and of docs/modules.md's `## kind_nodeport` section."""
    section = (REPO / "docs" / "modules.md").read_text().split("## kind_nodeport", 1)[1].split("\n## ", 1)[0]
    indented = "\n".join(line[4:] for line in section.splitlines() if line.startswith("    "))
    tasks = yaml.safe_load(kind_nodeport.EXAMPLES) + yaml.safe_load(indented)
    return [task for task in tasks if "hostreach.kind.kind_nodeport" in task]


@pytest.mark.parametrize("task", documented_tasks(), ids=lambda task: task.get("name", "?")[:50])
def test_documented_examples_are_valid_arguments(task: dict) -> None:
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    spec = kind_nodeport.argument_spec()
    rules = {k: v for k, v in spec.items() if k in ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")}
    result = ArgumentSpecValidator(spec["argument_spec"], **rules).validate(task["hostreach.kind.kind_nodeport"])
    assert result.error_messages == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ({"namespaces": [""]}, "namespaces[0] is empty"),
        ({"namespaces": [".."]}, "namespaces[0] '..' is not a DNS-1123 label"),
        ({"namespaces": ["adv", ""]}, "namespaces[1] is empty"),
        ({"namespaces": "adv,"}, "namespaces[1] is empty"),  # a trailing comma, as from -e hostreach_kind_namespaces=adv,
        ({"services": [{"name": "x", "namespace": ".."}]}, "services[0].namespace '..' is not a DNS-1123 label"),
        ({"services": [{"name": "", "namespace": "default"}]}, "services[0].name is empty"),
        ({"services": [{"name": "../secrets/x"}]}, "services[0].name '../secrets/x' is not a DNS-1123 label"),
    ],
)
def test_a_name_that_would_widen_or_move_the_request_is_refused_before_any_request(args: dict, says: str, no_kubeconfig: Path) -> None:
    result = in_process(kind_nodeport, args)
    assert result["failed"]
    assert says in result["msg"]
    assert result["msg"].endswith("nothing was asked of the cluster")


def test_a_load_balancer_address_not_routed_through_a_kind_node_is_never_probed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The module's wiring of the route guard (issue 18, item 4): the host's table is a recorded one, and the probe is
    replaced by a recorder, so no packet goes anywhere; only the routed URL reaches the probe."""
    from ansible_collections.hostreach.kind.plugins.module_utils import _host_routes, _probe, _service_phases

    table = (  # /proc/net/route: 172.18.0.0/16 dev br-kind, default via 10.0.2.2 dev eth0
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
        "br-kind\t000012AC\t00000000\t1\t0\t0\t0\t0000FFFF\neth0\t00000000\t0202000A\t3\t0\t0\t0\t00000000\n"
    )
    monkeypatch.setattr(_host_routes, "read_routes", lambda: _host_routes.parse_proc_route(table))
    probed: list = []
    monkeypatch.setattr(_probe, "probe_all", lambda targets, settle, late=None: probed.extend(targets) or [_reachable(t.url) for t in targets])
    lb = {"metadata": {"name": "lb", "namespace": "default"}, "spec": {"type": "LoadBalancer"}}
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}, {"ip": "172.18.0.200"}]}}
    report = {"namespace": "default", "name": "lb", "changed": False, "urls": ["http://192.0.2.10:80", "http://172.18.0.200:80"]}
    report["ports"] = [{"protocol": "TCP", "urls": report["urls"]}]
    params = {"reach": "nodeport", "dns_domain": None, "tunnel": False}

    results = _service_phases.probe_phase(params, [report], [lb], {"kind-control-plane": ["172.18.0.2"]}, rescan=None)

    assert [t.url for t in probed] == ["http://172.18.0.200:80"]
    assert results[0]["diagnosis"] == "not routed" and results[0]["url"] == "http://192.0.2.10:80"
    assert "default (0.0.0.0/0) via 10.0.2.2 dev eth0" in results[0]["error"] and "load balancer" in results[0]["hint"]
    assert results[1]["diagnosis"] == "reachable"


def _reachable(url: str) -> dict:
    return {"url": url, "reachable": True, "status": 200, "error": None, "diagnosis": "reachable", "waited": 0.0}


def test_the_probe_phase_takes_up_late_only_the_pending_urls_whose_port_became_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    """While a new nodePort is waited for, the EndpointSlices are read again (rescan): a pending URL whose port became
    ready is probed late; a URL decided otherwise (not routed) never is, even though its port is ready."""
    from ansible_collections.hostreach.kind.plugins.module_utils import _probe, _service_phases, _service_report

    rounds: list = []

    def probe_all(targets: list, settle: float, late=None) -> list:
        rounds.append([t.url for t in targets])
        fresh = late()
        rounds.append([t.url for t in fresh])
        return [_reachable(t.url) for t in [*targets, *fresh]]

    monkeypatch.setattr(_probe, "probe_all", probe_all)
    ports = [{"name": "http", "port": 80, "protocol": "TCP"}]
    reports = [
        {"namespace": "default", "name": "web", "ports": [{**ports[0], "urls": ["http://172.18.0.2:30080"]}], "urls": ["http://172.18.0.2:30080"]},
        {"namespace": "default", "name": "api", "ports": [{**ports[0], "urls": ["http://10.96.0.20:80"]}], "urls": ["http://10.96.0.20:80"]},
        {"namespace": "default", "name": "lb", "ports": [{**ports[0], "urls": ["http://192.0.2.10:80"]}], "urls": ["http://192.0.2.10:80"]},
    ]
    not_routed = _service_report.unprobed("http://192.0.2.10:80", "not routed", "no route", via="load balancer")
    plan = _service_report.ProbePlan([_probe.Target("http://172.18.0.2:30080", True)], {"http://192.0.2.10:80": not_routed}, {"http://10.96.0.20:80"})
    ready = {("default", name): {("http", "TCP"): [1, 0]} for name in ("web", "api", "lb")}

    probed = _service_phases.probe(plan, reports, rescan=lambda: ready)

    assert rounds == [["http://172.18.0.2:30080"], ["http://10.96.0.20:80"]]
    assert set(probed) == {"http://172.18.0.2:30080", "http://10.96.0.20:80"}
