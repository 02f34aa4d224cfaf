"""kind_nodeport's pure planner (issue 4): plans, patches, validation, selection and URLs, no cluster.

Patches are applied here with a small RFC 6902 applier and, where the apiserver would act (allocate a
nodePort, default externalTrafficPolicy), with a stand-in for that step named as such; the real
apiserver runs the same patches in tests/integration/kube.
"""

from __future__ import annotations

import copy
import json

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _nodeport as planner
from ansible_collections.hostreach.kind.plugins.module_utils._nodeport import ANNOTATION, PlanError
from hypothesis import given
from hypothesis import strategies as st


def service(name="web", namespace="default", ports=None, rv="100", **spec):
    return {
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": rv, "labels": {"app": name}},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "10.96.0.10",
            "selector": {"app": name},
            "ports": ports or [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
            **spec,
        },
    }


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def apply_json_patch(document: dict, patch: list) -> dict:
    """RFC 6902 add/replace/remove on objects: all the planner emits."""
    document = copy.deepcopy(document)
    for op in patch:
        *parents, last = [_unescape(t) for t in op["path"].split("/")[1:]]
        target = document
        for token in parents:
            target = target[token]
        if op["op"] == "remove":
            del target[last]
        elif op["op"] == "replace":
            assert last in target, f"replace of missing {op['path']}"
            target[last] = copy.deepcopy(op["value"])
        else:
            assert op["op"] == "add"
            target[last] = copy.deepcopy(op["value"])
    return document


def apiserver_stand_in(svc: dict, first_free: int = 30000) -> dict:
    """Stand-in for the apiserver's side of a write (not the real thing): allocate missing nodePorts,
    default externalTrafficPolicy, bump the resourceVersion."""
    svc = copy.deepcopy(svc)
    spec = svc["spec"]
    if spec["type"] in ("NodePort", "LoadBalancer"):
        used = {p.get("nodePort") for p in spec["ports"]}
        free = (n for n in range(first_free, 32768) if n not in used)
        for port in spec["ports"]:
            port.setdefault("nodePort", next(free))
        spec.setdefault("externalTrafficPolicy", "Cluster")
    svc["metadata"]["resourceVersion"] = str(int(svc["metadata"]["resourceVersion"]) + 1)
    return svc


def write(svc: dict, plan: planner.Plan) -> dict:
    return apiserver_stand_in(apply_json_patch(svc, plan.patch)) if plan.patch else svc


def test_clusterip_becomes_nodeport_with_the_original_recorded_and_the_read_resource_version() -> None:
    svc = service()
    plan = planner.plan_present(svc)

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

    after = apply_json_patch(svc, planner.plan_present(svc, {"53": 30053, "metrics": "30153"}).patch)

    assert [(p["port"], p["protocol"], p.get("nodePort")) for p in after["spec"]["ports"]] == [(53, "TCP", 30053), (53, "UDP", 30053), (9153, "TCP", 30153)]


def test_a_name_wins_over_a_number_and_an_unknown_key_lists_the_ports() -> None:
    svc = service(ports=[{"name": "8080", "port": 80, "protocol": "TCP"}, {"name": "alt", "port": 8080, "protocol": "TCP"}])
    assert planner.resolve_node_ports(svc, {"8080": 30001}) == {0: 30001}
    with pytest.raises(PlanError, match=r"default/web has no port named or numbered grpc; its ports are: 8080 \(80/TCP\), alt \(8080/TCP\)"):
        planner.resolve_node_ports(svc, {"grpc": 30002})


@pytest.mark.parametrize("value", ["abc", None, 0, 70000, 30080.7, 30080.0, True, False, "30080.7", [30080]])
def test_a_node_port_that_is_not_a_whole_port_number_is_refused(value) -> None:
    with pytest.raises(PlanError, match=r"default/web: node_ports\[http\]"):
        planner.plan_present(service(), {"http": value})


def test_two_keys_for_one_port_with_different_node_ports_are_refused() -> None:
    svc = service(ports=[{"name": "http", "port": 80, "protocol": "TCP"}])
    assert planner.resolve_node_ports(svc, {"http": 30080, "80": 30080}) == {0: 30080}
    with pytest.raises(PlanError, match=r"node_ports\[http\] = 30080 and node_ports\[80\] = 30081 both name port http \(80/TCP\)"):
        planner.resolve_node_ports(svc, {"http": 30080, "80": 30081})


def test_rerun_on_a_service_it_exposed_plans_nothing() -> None:
    exposed = write(service(), planner.plan_present(service(), {"http": 30080}))

    again = planner.plan_present(exposed, {"http": 30080})
    without_fixed = planner.plan_present(exposed)

    assert not again.changed and again.patch == []
    assert not without_fixed.changed  # an allocated or earlier fixed nodePort is kept


def test_changing_a_fixed_node_port_of_a_service_it_exposed_patches_only_the_ports() -> None:
    exposed = write(service(), planner.plan_present(service()))
    plan = planner.plan_present(exposed, {"http": 31111})

    assert plan.changed
    assert [op["path"] for op in plan.patch] == ["/metadata/resourceVersion", "/spec/ports"]
    assert plan.after["ports"][0]["node_port"] == 31111


@pytest.mark.parametrize("kind", ["NodePort", "LoadBalancer"])
def test_services_already_exposed_by_someone_else_are_left_alone(kind: str) -> None:
    svc = service(type=kind, ports=[{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 31000}])
    plan = planner.plan_present(svc)
    assert not plan.changed and plan.patch == [] and plan.skip_reason is None
    assert planner.plan_present(svc, {"http": 31000}).patch == []
    with pytest.raises(PlanError, match=rf"default/web is already type {kind}, not made so by kind_nodeport.*http \(80/TCP\) has 31000, not 31001"):
        planner.plan_present(svc, {"http": 31001})


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
    plan = planner.plan_present(service(**spec), {"http": 30080})
    assert plan.skip_reason == reason
    assert not plan.changed and plan.patch == []


def test_absent_restores_the_exact_original_and_leaves_user_fields() -> None:
    original = service(sessionAffinity="ClientIP")
    exposed = write(original, planner.plan_present(original, {"http": 30080}))
    exposed["metadata"]["labels"]["team"] = "web"  # a user edit while exposed is kept

    plan = planner.plan_absent(exposed)
    restored = apply_json_patch(exposed, plan.patch)

    assert plan.changed and plan.after == planner.service_view(original)
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

    restored = apply_json_patch(svc, planner.plan_absent(svc).patch)

    assert restored["metadata"]["annotations"] == {"owner": "me"}
    assert restored["spec"]["externalTrafficPolicy"] == "Local"
    assert "nodePort" not in restored["spec"]["ports"][0]


def test_absent_never_touches_a_service_without_the_annotation() -> None:
    svc = service(type="NodePort", ports=[{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 31000}])
    plan = planner.plan_absent(svc)
    assert plan.patch == [] and not plan.changed
    assert "not exposed by kind_nodeport" in plan.skip_reason


def test_absent_on_a_service_switched_back_by_hand_only_drops_the_annotation() -> None:
    svc = service()
    svc["metadata"]["annotations"] = {ANNOTATION: '{"type":"ClusterIP"}'}
    plan = planner.plan_absent(svc)
    assert plan.changed
    assert [op["op"] for op in plan.patch] == ["replace", "remove"]


def test_absent_leaves_a_service_whose_type_was_changed_since() -> None:
    svc = service(type="LoadBalancer")
    svc["metadata"]["annotations"] = {ANNOTATION: '{"type":"ClusterIP"}'}
    plan = planner.plan_absent(svc)
    assert plan.patch == [] and plan.skip_reason == "type is now LoadBalancer, changed since kind_nodeport exposed it; left alone"


def test_absent_refuses_an_annotation_it_did_not_write() -> None:
    svc = service()
    svc["metadata"]["annotations"] = {ANNOTATION: "yes"}
    with pytest.raises(PlanError, match="not what kind_nodeport writes"):
        planner.plan_absent(svc)


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

    exposed = write(original, planner.plan_present(original))
    assert exposed["spec"]["type"] == "NodePort"
    assert [{k: v for k, v in p.items() if k != "nodePort"} for p in exposed["spec"]["ports"]] == ports  # every port kept
    assert planner.plan_present(exposed).patch == []

    restored = apply_json_patch(exposed, planner.plan_absent(exposed).patch)
    restored["metadata"]["resourceVersion"] = original["metadata"]["resourceVersion"]
    restored["metadata"]["annotations"] = restored["metadata"]["annotations"] or None
    original["metadata"]["annotations"] = original["metadata"].get("annotations") or None
    assert restored == original


def test_taken_and_doubly_wanted_node_ports_are_errors_naming_both_services() -> None:
    others = [service("db", "data", type="NodePort", ports=[{"name": "pg", "port": 5432, "protocol": "TCP", "nodePort": 30432}])]
    mine = service("web", "default", type="NodePort", ports=[{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}])
    taken = planner.taken_node_ports([*others, mine])

    errors = planner.node_port_conflicts({"default/web": {0: 30080}, "default/api": {0: 30432, 1: 30081}, "shop/cart": {0: 30081}}, taken)

    assert errors == [
        "nodePort 30432 wanted for default/api is already taken by Service data/db",
        "nodePort 30081 is wanted for both default/api and shop/cart",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30000-32767", (30000, 32767)), ("30000+767", (30000, 30767)), ("31000", (31000, 31000)), ("32767-30000", None), ("x-y", None), ("0-10", None)],
)
def test_parse_port_range_in_the_forms_kube_apiserver_accepts(text: str, expected) -> None:
    assert planner.parse_port_range(text) == expected


@pytest.mark.parametrize(
    ("configuration", "expected"),
    [
        (None, ((30000, 32767), "the Kubernetes default; there is no readable kube-system/kubeadm-config to say otherwise")),
        ({"apiServer": {}}, ((30000, 32767), "the Kubernetes default; kube-system/kubeadm-config sets no --service-node-port-range")),
        ({"apiServer": {"extraArgs": {"service-node-port-range": "20000-20999"}}}, ((20000, 20999), "--service-node-port-range in kube-system/kubeadm-config")),
        (
            {"apiServer": {"extraArgs": [{"name": "v", "value": "2"}, {"name": "service-node-port-range", "value": "20000+999"}]}},
            ((20000, 20999), "--service-node-port-range in kube-system/kubeadm-config"),
        ),
    ],
)
def test_node_port_range_from_kubeadm_v1beta3_and_v1beta4_or_the_default(configuration, expected) -> None:
    assert planner.node_port_range_of(configuration) == expected


def test_only_node_ports_not_in_place_yet_are_range_checked() -> None:
    svc = service(type="NodePort", ports=[{"name": "a", "port": 1, "nodePort": 30001}, {"name": "b", "port": 2, "nodePort": 30002}])
    new = planner.new_fixed_node_ports(svc, {0: 30001, 1: 40000})
    assert new == {1: 40000}
    assert planner.out_of_range({"default/web": new}, (30000, 32767), "the default") == [
        "nodePort 40000 wanted for default/web is outside the cluster's nodePort range 30000-32767 (the default)"
    ]


def test_list_scopes_one_per_namespace_or_one_cluster_wide_with_fixed_ports() -> None:
    named = [{"name": "web", "namespace": "a"}, {"name": "api", "namespace": "a"}, {"name": "db", "namespace": "b"}]
    assert planner.list_scopes(named, ["c"], None) == [("a", None), ("b", None), ("c", None)]
    assert planner.list_scopes(named, ["c"], "tier=front") == [("a", None), ("b", None), ("c", "tier=front")]
    fixed = [{"name": "web", "namespace": "a", "node_ports": {"http": 30080}}]
    assert planner.list_scopes(fixed, ["c"], None) == [(None, None)]
    assert planner.list_scopes(fixed, ["c"], "tier=front") == [(None, None), ("c", "tier=front")]


def test_select_named_first_then_namespaces_never_the_kubernetes_service() -> None:
    listed = {(None, None): [service("kubernetes"), service("zeta"), service("alpha"), service("web", "shop")]}
    picked = planner.select(listed, [{"name": "web", "namespace": "shop", "node_ports": {"http": 30080}}], ["default", "shop"], None)
    assert [(planner.key_of(s), p) for s, p in picked] == [("shop/web", {"http": 30080}), ("default/alpha", {}), ("default/zeta", {})]


def test_select_missing_names_fail_together_listing_their_namespaces() -> None:
    listed = {("default", None): [service("web"), service("api")], ("empty", None): []}
    with pytest.raises(PlanError) as error:
        planner.select(listed, [{"name": "wbe", "namespace": "default"}, {"name": "x", "namespace": "empty"}], [], None)
    assert str(error.value) == "default/wbe does not exist; namespace default has api, web; empty/x does not exist; namespace empty has no Services"


def test_select_refuses_a_service_listed_twice_with_different_node_ports_naming_both_entries() -> None:
    listed = {(None, None): [service("web")]}
    entries = [
        {"name": "web", "namespace": "default", "node_ports": {"http": 30080}},
        {"name": "api", "namespace": "shop"},
        {"name": "web", "namespace": "default", "node_ports": {"http": 30081}},
    ]
    with pytest.raises(PlanError) as error:
        planner.select(listed, entries, [], None)
    assert str(error.value) == (
        "services[0] and services[2] both name default/web with different node_ports ({'http': 30080} and {'http': 30081}); list it once"
    )


def test_select_takes_a_service_listed_twice_alike_once() -> None:
    listed = {(None, None): [service("web")]}
    entries = [{"name": "web", "namespace": "default", "node_ports": {"http": 30080}}] * 2
    assert [(planner.key_of(s), p) for s, p in planner.select(listed, entries, [], None)] == [("default/web", {"http": 30080})]


def test_select_refuses_the_api_servers_own_service_by_name() -> None:
    with pytest.raises(PlanError, match="default/kubernetes is the API server's own Service"):
        planner.select({("default", None): [service("kubernetes")]}, [{"name": "kubernetes", "namespace": "default"}], [], None)


@pytest.mark.parametrize(
    ("port", "scheme"),
    [
        ({"name": "http", "port": 5000}, "http"),
        ({"name": "web", "port": 5000}, "http"),
        ({"name": "http-metrics", "port": 9090}, "http"),
        ({"name": "admin-https", "port": 9443}, "https"),
        ({"name": "https", "port": 5000}, "https"),
        ({"name": "x", "port": 5000, "appProtocol": "kubernetes.io/h2c"}, "http"),
        ({"name": "http", "port": 80, "appProtocol": "grpc"}, None),  # appProtocol says what it is
        ({"port": 8080}, "http"),
        ({"port": 443}, "https"),
        ({"name": "dns", "port": 53}, None),
        ({"name": "http", "port": 80, "protocol": "UDP"}, None),
        ({"name": "httpbin", "port": 5000}, None),
    ],
)
def test_port_scheme(port: dict, scheme) -> None:
    assert planner.port_scheme(port) == scheme


def test_urls_per_node_http_or_bare_and_ipv6_bracketed() -> None:
    assert planner.port_urls({"name": "http", "port": 80, "nodePort": 30080}, ["172.18.0.2", "172.18.0.3"]) == [
        "http://172.18.0.2:30080",
        "http://172.18.0.3:30080",
    ]
    assert planner.port_urls({"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053}, ["172.18.0.2"]) == ["172.18.0.2:30053"]
    assert planner.port_urls({"name": "http", "port": 80, "nodePort": 30080}, ["fc00::2"]) == ["http://[fc00::2]:30080"]
    assert planner.port_urls({"name": "http", "port": 80}, ["172.18.0.2"]) == []


def test_node_addresses_prefer_ipv4_internal_ip() -> None:
    nodes = [
        {
            "metadata": {"name": "kind-control-plane"},
            "status": {"addresses": [{"type": "InternalIP", "address": "fc00:f853:ccd:e793::2"}, {"type": "InternalIP", "address": "172.18.0.2"}]},
        },
        {"metadata": {"name": "kind-worker"}, "status": {"addresses": [{"type": "Hostname", "address": "kind-worker"}]}},
    ]
    assert planner.node_addresses(nodes) == {"kind-control-plane": "172.18.0.2"}


def test_service_report_from_the_service_after_the_run() -> None:
    original = service()
    plan = planner.plan_present(original)
    after = write(original, plan)

    report = planner.service_report(after, plan, ["172.18.0.2"])

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
