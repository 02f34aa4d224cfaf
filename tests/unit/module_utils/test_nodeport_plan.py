"""kind_nodeport's plans (pure, no cluster): patches that expose and restore, and what they leave alone."""

from __future__ import annotations

import copy
import json

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _nodeport_plan, _service_view
from ansible_collections.hostreach.kind.plugins.module_utils._errors import PlanError
from ansible_collections.hostreach.kind.plugins.module_utils._service_view import ANNOTATION
from hypothesis import given
from hypothesis import strategies as st

from tests.service_samples import apply_json_patch, service, write


def test_clusterip_becomes_nodeport_with_the_original_recorded_and_the_read_resource_version() -> None:
    svc = service()
    plan = _nodeport_plan.plan_present(svc)

    assert plan.changed
    assert plan.before == {"type": "ClusterIP", "ports": [{"name": "http", "port": 80, "protocol": "TCP", "node_port": None}], "managed": False}
    assert plan.after["type"] == "NodePort" and plan.after["managed"]
    assert plan.patch[0] == {"op": "replace", "path": "/metadata/resourceVersion", "value": "100"}
    after = apply_json_patch(svc, plan.patch)
    assert after["spec"]["type"] == "NodePort"
    assert json.loads(after["metadata"]["annotations"][ANNOTATION]) == {"type": "ClusterIP"}
    assert after["spec"]["ports"] == svc["spec"]["ports"]  # no nodePort asked for: the apiserver allocates


def test_fixed_node_ports_by_name_and_by_number_and_number_covers_tcp_and_udp() -> None:
    ports = [
        {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
        {"name": "dns-udp", "port": 53, "protocol": "UDP"},
        {"name": "metrics", "port": 9153, "protocol": "TCP"},
    ]
    svc = service("dns", ports=ports)

    after = apply_json_patch(svc, _nodeport_plan.plan_present(svc, {"53": 30053, "metrics": "30153"}).patch)

    assert [(p["port"], p["protocol"], p.get("nodePort")) for p in after["spec"]["ports"]] == [(53, "TCP", 30053), (53, "UDP", 30053), (9153, "TCP", 30153)]


@pytest.mark.parametrize("value", ["abc", None, 0, 70000, 30080.7, 30080.0, True, False, "30080.7", [30080]])
def test_a_node_port_that_is_not_a_whole_port_number_is_refused(value) -> None:
    with pytest.raises(PlanError, match=r"default/web: node_ports\[http\]"):
        _nodeport_plan.plan_present(service(), {"http": value})


def test_rerun_on_a_service_it_exposed_plans_nothing() -> None:
    exposed = write(service(), _nodeport_plan.plan_present(service(), {"http": 30080}))

    again = _nodeport_plan.plan_present(exposed, {"http": 30080})
    without_fixed = _nodeport_plan.plan_present(exposed)

    assert not again.changed and again.patch == []
    assert not without_fixed.changed  # an allocated or earlier fixed nodePort is kept


def test_changing_a_fixed_node_port_of_a_service_it_exposed_patches_only_the_ports() -> None:
    exposed = write(service(), _nodeport_plan.plan_present(service()))
    plan = _nodeport_plan.plan_present(exposed, {"http": 31111})

    assert plan.changed
    assert [op["path"] for op in plan.patch] == ["/metadata/resourceVersion", "/spec/ports"]
    assert plan.after["ports"][0]["node_port"] == 31111


@pytest.mark.parametrize("kind", ["NodePort", "LoadBalancer"])
def test_services_already_exposed_by_someone_else_are_left_alone(kind: str) -> None:
    svc = service(type=kind, ports=[{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 31000}])
    plan = _nodeport_plan.plan_present(svc)
    assert not plan.changed and plan.patch == [] and plan.skip_reason is None
    assert _nodeport_plan.plan_present(svc, {"http": 31000}).patch == []
    with pytest.raises(PlanError, match=rf"default/web is already type {kind}, not made so by kind_nodeport.*http \(80/TCP\) has 31000, not 31001"):
        _nodeport_plan.plan_present(svc, {"http": 31001})


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"clusterIP": "None"}, "headless Service (clusterIP: None) cannot have nodePorts"),
        (
            {"type": "ExternalName", "externalName": "db.example.test", "ports": []},
            "ExternalName Service (a DNS alias for db.example.test) has no ports to expose",
        ),
    ],
)
def test_headless_and_externalname_are_skipped_with_a_reason(spec: dict, reason: str) -> None:
    plan = _nodeport_plan.plan_present(service(**spec), {"http": 30080})
    assert plan.skip_reason == reason
    assert not plan.changed and plan.patch == []


def test_absent_restores_the_exact_original_and_leaves_user_fields() -> None:
    original = service(sessionAffinity="ClientIP")
    exposed = write(original, _nodeport_plan.plan_present(original, {"http": 30080}))
    exposed["metadata"]["labels"]["team"] = "web"  # a user edit while exposed is kept

    plan = _nodeport_plan.plan_absent(exposed)
    restored = apply_json_patch(exposed, plan.patch)

    assert plan.changed and plan.after == _service_view.service_view(original)
    expected = copy.deepcopy(original)
    expected["metadata"]["labels"]["team"] = "web"
    expected["metadata"]["resourceVersion"] = exposed["metadata"]["resourceVersion"]
    expected["metadata"]["annotations"] = {}
    assert restored == expected


def test_absent_keeps_other_annotations_and_restores_a_recorded_external_traffic_policy() -> None:
    svc = service()
    svc["metadata"]["annotations"] = {"owner": "me", ANNOTATION: json.dumps({"type": "ClusterIP", "externalTrafficPolicy": "Local"})}
    svc["spec"].update(type="NodePort", externalTrafficPolicy="Cluster")
    svc["spec"]["ports"][0]["nodePort"] = 30080

    restored = apply_json_patch(svc, _nodeport_plan.plan_absent(svc).patch)

    assert restored["metadata"]["annotations"] == {"owner": "me"}
    assert restored["spec"]["externalTrafficPolicy"] == "Local"
    assert "nodePort" not in restored["spec"]["ports"][0]


def test_absent_never_touches_a_service_without_the_annotation() -> None:
    svc = service(type="NodePort", ports=[{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 31000}])
    plan = _nodeport_plan.plan_absent(svc)
    assert plan.patch == [] and not plan.changed
    assert "not exposed by kind_nodeport" in plan.skip_reason


def test_absent_on_a_service_switched_back_by_hand_only_drops_the_annotation() -> None:
    svc = service()
    svc["metadata"]["annotations"] = {ANNOTATION: '{"type":"ClusterIP"}'}
    plan = _nodeport_plan.plan_absent(svc)
    assert plan.changed
    assert [op["op"] for op in plan.patch] == ["replace", "remove"]


def test_absent_leaves_a_service_whose_type_was_changed_since() -> None:
    svc = service(type="LoadBalancer")
    svc["metadata"]["annotations"] = {ANNOTATION: '{"type":"ClusterIP"}'}
    plan = _nodeport_plan.plan_absent(svc)
    assert plan.patch == [] and plan.skip_reason == "type is now LoadBalancer, changed since kind_nodeport exposed it; left alone"


def test_absent_refuses_an_annotation_it_did_not_write() -> None:
    svc = service()
    svc["metadata"]["annotations"] = {ANNOTATION: "yes"}
    with pytest.raises(PlanError, match="not what kind_nodeport writes"):
        _nodeport_plan.plan_absent(svc)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"type":5}', "type is 5, not one of ClusterIP, NodePort, LoadBalancer"),
        ('{"type":"ExternalName"}', "type is 'ExternalName', not one of ClusterIP, NodePort, LoadBalancer"),
        ("{}", "type is None, not one of"),
        ('{"type":"ClusterIP","externalTrafficPolicy":"Everywhere"}', "externalTrafficPolicy is 'Everywhere', not one of Cluster, Local"),
        ('{"type":"ClusterIP","spec":{"x":1}}', "it has fields kind_nodeport never writes: spec"),
        ("[1]", "it is not a JSON object"),
        ("{not json", "it is not JSON"),
    ],
)
def test_absent_validates_the_record_and_says_how_to_fix_it(text: str, problem: str) -> None:
    svc = service("web", "shop", type="NodePort")
    svc["metadata"]["annotations"] = {ANNOTATION: text}
    with pytest.raises(PlanError) as error:
        _nodeport_plan.plan_absent(svc)
    message = str(error.value)
    assert message.startswith(f"shop/web: the {ANNOTATION} annotation holds {text!r}, which is not what kind_nodeport writes ({problem}")
    assert f"kubectl annotate service web -n shop {ANNOTATION}-" in message
    assert len(message) < 600  # never the whole Service


port_strategy = st.builds(
    lambda name, port, protocol, app: {k: v for k, v in {"name": name, "port": port, "protocol": protocol, "appProtocol": app}.items() if v is not None},
    st.none() | st.from_regex(r"[a-z]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True),
    st.integers(1, 65535),
    st.sampled_from(["TCP", "UDP", "SCTP"]),
    st.none() | st.sampled_from(["http", "https", "grpc"]),
)


@given(ports=st.lists(port_strategy, min_size=1, max_size=6), annotations=st.none() | st.dictionaries(st.sampled_from(["a", "b.io/c"]), st.text(max_size=5)))
def test_present_then_absent_is_the_identity_for_any_clusterip_service(ports: list, annotations) -> None:
    original = service(ports=ports)
    if annotations is not None:
        original["metadata"]["annotations"] = annotations

    exposed = write(original, _nodeport_plan.plan_present(original))
    assert exposed["spec"]["type"] == "NodePort"
    assert [{k: v for k, v in p.items() if k != "nodePort"} for p in exposed["spec"]["ports"]] == ports  # every port kept
    assert _nodeport_plan.plan_present(exposed).patch == []

    restored = apply_json_patch(exposed, _nodeport_plan.plan_absent(exposed).patch)
    restored["metadata"]["resourceVersion"] = original["metadata"]["resourceVersion"]
    restored["metadata"]["annotations"] = restored["metadata"]["annotations"] or None
    original["metadata"]["annotations"] = original["metadata"].get("annotations") or None
    assert restored == original


def test_reached_accepts_the_allocated_node_ports_and_nothing_else() -> None:
    svc = service()
    plan = _nodeport_plan.plan_present(svc)
    assert _nodeport_plan.reached(plan, write(svc, plan))  # the stand-in allocated 30000
    assert not _nodeport_plan.reached(plan, svc)  # the write did not happen
    fixed = _nodeport_plan.plan_present(svc, {"http": 30080})
    assert _nodeport_plan.reached(fixed, write(svc, fixed))
    assert not _nodeport_plan.reached(fixed, write(svc, plan))  # another nodePort than the one asked for


@pytest.mark.parametrize(
    ("spec", "reach", "reason"),
    [
        ({}, "nodeport", "type ClusterIP: no nodePort, so no node URL"),
        ({}, "routes", None),
        ({}, "both", None),
        ({"type": "NodePort"}, "nodeport", None),
        ({"type": "LoadBalancer"}, "nodeport", None),
        ({"clusterIP": "None"}, "nodeport", "headless Service"),
        ({"clusterIP": "None"}, "routes", "headless Service"),
        ({"type": "ExternalName", "externalName": "db.example"}, "both", "ExternalName Service"),
    ],
)
def test_unchanged_changes_nothing_and_says_why_a_service_has_no_url_for_the_reach(spec: dict, reach: str, reason: str | None) -> None:
    svc = service(**spec)
    plan = _nodeport_plan.unchanged(svc, reach)
    assert plan.patch == [] and not plan.changed
    assert (plan.skip_reason or "").startswith(reason or "") and (plan.skip_reason is None) == (reason is None)
