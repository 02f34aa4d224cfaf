"""kind_nodeport against the real tier 1 apiserver: what it exposes and how, which Services it picks and leaves
alone, state=absent, check and diff mode, conflicts, errors, the probe, and how few requests it makes.

Tier 1 has no kubelet and no kube-proxy: the apiserver allocates and validates nodePorts for real,
but nothing serves them. The data path is proven on the kind tier (tests/integration/kind).
"""

from __future__ import annotations

import copy
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.ansible_runner import playbook_task

from .kube_helpers import ANNOTATION, Kube

pytestmark = pytest.mark.tier1

VOLATILE = ("resourceVersion", "managedFields", "generation")


def stable(service: dict) -> dict:
    """The Service without what every write changes (resourceVersion, managedFields)."""
    service = copy.deepcopy(service)
    for key in VOLATILE:
        service["metadata"].pop(key, None)
    return service


# A ClusterIP Service becomes NodePort: allocated nodePorts, node IPs, URLs --------------------------------------------


def test_clusterip_becomes_nodeport_with_allocated_ports_node_ips_and_urls(kube: Kube, tier1_namespace: str, tier1_node: str) -> None:
    ns = tier1_namespace
    kube.create(ns, "web", ports=[("http", 80, "TCP"), ("dns", 53, "UDP")])

    result = playbook_task("kind_nodeport", kube.args(services=[{"name": "web", "namespace": ns}]))

    assert result["changed"] and not result.get("failed"), result.get("msg")
    stored = kube.read(ns, "web")
    assert stored["spec"]["type"] == "NodePort"
    low, high = kube.tier1.node_port_range
    http_port, dns_port = (p["nodePort"] for p in stored["spec"]["ports"])
    assert low <= http_port <= high and low <= dns_port <= high
    assert result["nodes"][tier1_node] == "127.0.0.1"
    (web,) = result["services"]
    assert (web["type_before"], web["type_after"], web["changed"]) == ("ClusterIP", "NodePort", True)
    assert [(p["name"], p["node_port"]) for p in web["ports"]] == [("http", http_port), ("dns", dns_port)]
    assert f"http://127.0.0.1:{http_port}" in web["urls"]
    assert f"127.0.0.1:{dns_port}" in web["urls"]
    assert set(web["urls"]) <= set(result["urls"])


def test_url_scheme_follows_app_protocol(kube: Kube, tier1_namespace: str, tier1_node: str) -> None:
    kube.create(tier1_namespace, "api", ports=[("grpc", 9000, "TCP")])
    kube.core.patch_namespaced_service("api", tier1_namespace, {"spec": {"ports": [{"port": 9000, "appProtocol": "kubernetes.io/h2c"}]}})

    result = playbook_task("kind_nodeport", kube.args(services=[{"name": "api", "namespace": tier1_namespace}]))

    node_port = kube.read(tier1_namespace, "api")["spec"]["ports"][0]["nodePort"]
    assert f"http://127.0.0.1:{node_port}" in result["services"][0]["urls"]


# Fixed nodePorts: honoured, and a taken or out-of-range one fails before any write ------------------------------------


def test_fixed_node_ports_are_honoured(kube: Kube, tier1_namespace: str) -> None:
    kube.create(tier1_namespace, "dns", ports=[("dns-tcp", 53, "TCP"), ("dns-udp", 53, "UDP"), ("metrics", 9153, "TCP")])
    wanted, metrics = kube.free_node_port(), kube.free_node_port()

    result = playbook_task(
        "kind_nodeport", kube.args(services=[{"name": "dns", "namespace": tier1_namespace, "node_ports": {"53": wanted, "metrics": metrics}}])
    )

    assert result["changed"], result.get("msg")
    assert [p["nodePort"] for p in kube.read(tier1_namespace, "dns")["spec"]["ports"]] == [wanted, wanted, metrics]


def test_taken_node_port_fails_before_any_write_naming_both_services(kube: Kube, tier1_namespace: str) -> None:
    ns = tier1_namespace
    holder = kube.free_node_port()
    kube.create(ns, "holder", type="NodePort", ports=[("http", 80, "TCP")])
    kube.core.patch_namespaced_service("holder", ns, {"spec": {"ports": [{"port": 80, "nodePort": holder}]}})
    kube.create(ns, "first")
    kube.create(ns, "second")
    before = {name: kube.rv(ns, name) for name in ("holder", "first", "second")}

    result = playbook_task(
        "kind_nodeport",
        kube.args(
            services=[
                {"name": "first", "namespace": ns, "node_ports": {"http": kube.free_node_port()}},
                {"name": "second", "namespace": ns, "node_ports": {"http": holder}},
            ]
        ),
    )

    assert result["failed"] and not result["changed"]
    assert f"nodePort {holder} wanted for {ns}/second is already taken by Service {ns}/holder" in result["msg"]
    assert {name: kube.rv(ns, name) for name in before} == before


def test_out_of_range_node_port_fails_before_any_write_naming_the_range(kube: Kube, tier1_namespace: str) -> None:
    ns = tier1_namespace
    kube.create(ns, "first")
    kube.create(ns, "second")
    before = {name: kube.rv(ns, name) for name in ("first", "second")}
    low, high = kube.tier1.node_port_range

    result = playbook_task(
        "kind_nodeport", kube.args(services=[{"name": "first", "namespace": ns}, {"name": "second", "namespace": ns, "node_ports": {"http": high + 100}}])
    )

    assert result["failed"] and not result["changed"]
    assert result["msg"] == (
        f"nodePort {high + 100} wanted for {ns}/second is outside the cluster's nodePort range {low}-{high} "
        "(the Kubernetes default; there is no readable kube-system/kubeadm-config to say otherwise)"
    )
    assert {name: kube.rv(ns, name) for name in before} == before  # "first" was valid and still not written


# A rerun writes nothing -----------------------------------------------------------------------------------------------


def test_rerun_writes_nothing_and_reports_unchanged(kube: Kube, tier1_namespace: str) -> None:
    kube.create(tier1_namespace, "web")
    args = kube.args(services=[{"name": "web", "namespace": tier1_namespace, "node_ports": {"http": kube.free_node_port()}}])
    assert playbook_task("kind_nodeport", args)["changed"]
    rv = kube.rv(tier1_namespace, "web")

    again = playbook_task("kind_nodeport", args)

    assert again["changed"] is False and not again.get("failed"), again.get("msg")
    assert again["services"][0]["changed"] is False
    assert kube.rv(tier1_namespace, "web") == rv


# NodePort and LoadBalancer Services are left alone, headless and ExternalName skipped, every port kept ----------------


def test_existing_nodeport_and_loadbalancer_left_alone_headless_and_externalname_skipped(kube: Kube, tier1_namespace: str) -> None:
    ns = tier1_namespace
    kube.create(ns, "np", type="NodePort")
    kube.create(ns, "lb", type="LoadBalancer")
    kube.create(ns, "headless", clusterIP="None")
    kube.core.create_namespaced_service(ns, {"metadata": {"name": "alias"}, "spec": {"type": "ExternalName", "externalName": "db.example.test"}})
    before = {name: kube.read(ns, name) for name in ("np", "lb", "headless", "alias")}

    result = playbook_task("kind_nodeport", kube.args(namespaces=[ns]))

    assert result["changed"] is False, result.get("msg")
    reports = {s["name"]: s for s in result["services"]}
    for name in ("np", "lb"):
        node_port = before[name]["spec"]["ports"][0]["nodePort"]
        assert reports[name]["ports"][0]["node_port"] == node_port
        assert reports[name]["type_after"] == before[name]["spec"]["type"]
        assert reports[name]["skip_reason"] is None
    assert reports["headless"]["skip_reason"] == "headless Service (clusterIP: None) cannot have nodePorts"
    assert reports["alias"]["skip_reason"] == "ExternalName Service (a DNS alias for db.example.test) has no ports to expose"
    assert {name: kube.read(ns, name) for name in before} == before


def test_multi_port_service_with_the_same_port_on_tcp_and_udp_keeps_every_port(kube: Kube, tier1_namespace: str) -> None:
    ports = [("dns-tcp", 53, "TCP"), ("dns-udp", 53, "UDP"), ("http", 80, "TCP"), ("metrics", 9153, "TCP")]
    original = kube.create(tier1_namespace, "dns", ports=ports)

    result = playbook_task("kind_nodeport", kube.args(services=[{"name": "dns", "namespace": tier1_namespace}]))

    stored = kube.read(tier1_namespace, "dns")["spec"]["ports"]
    assert [(p["name"], p["port"], p["protocol"], p["targetPort"]) for p in stored] == [
        (p["name"], p["port"], p["protocol"], p["targetPort"]) for p in original["spec"]["ports"]
    ]
    assert all(p.get("nodePort") for p in stored)
    assert [(p["name"], p["protocol"], p["node_port"]) for p in result["services"][0]["ports"]] == [(p["name"], p["protocol"], p["nodePort"]) for p in stored]


# Which Services: namespaces, label selector, never default/kubernetes, a missing name listed --------------------------


def test_namespaces_and_label_selector_pick_matching_services_only(kube: Kube, tier1_namespace: str) -> None:
    ns = tier1_namespace
    kube.create(ns, "front", labels={"tier": "front"})
    kube.create(ns, "back", labels={"tier": "back"})

    result = playbook_task("kind_nodeport", kube.args(namespaces=[ns], label_selector="tier=front"))

    assert [s["name"] for s in result["services"]] == ["front"]
    assert kube.read(ns, "front")["spec"]["type"] == "NodePort"
    assert kube.read(ns, "back")["spec"]["type"] == "ClusterIP"


def test_never_the_kubernetes_service_in_default(kube: Kube) -> None:
    before = kube.read("default", "kubernetes")

    by_namespace = playbook_task("kind_nodeport", kube.args(namespaces=["default"], label_selector="component=apiserver,provider=kubernetes"))
    by_name = playbook_task("kind_nodeport", kube.args(services=[{"name": "kubernetes", "namespace": "default"}]))

    assert by_namespace["services"] == [] and by_namespace["changed"] is False
    assert by_name["failed"] and by_name["msg"] == "default/kubernetes is the API server's own Service; kind_nodeport never changes it"
    assert kube.read("default", "kubernetes") == before


def test_missing_service_fails_and_lists_what_the_namespace_has(kube: Kube, tier1_namespace: str) -> None:
    kube.create(tier1_namespace, "web")
    kube.create(tier1_namespace, "api")

    result = playbook_task("kind_nodeport", kube.args(services=[{"name": "wbe", "namespace": tier1_namespace}]))

    assert result["failed"]
    assert result["msg"] == f"{tier1_namespace}/wbe does not exist; namespace {tier1_namespace} has api, web"


# state=absent restores exactly what was changed, and only that --------------------------------------------------------


def test_absent_restores_exactly_and_keeps_user_edits(kube: Kube, tier1_namespace: str) -> None:
    ns = tier1_namespace
    kube.create(ns, "web", ports=[("http", 80, "TCP"), ("dns", 53, "UDP")], sessionAffinity="ClientIP")
    kube.core.patch_namespaced_service("web", ns, {"metadata": {"annotations": {"owner": "team-a"}}})
    original = kube.read(ns, "web")
    assert playbook_task("kind_nodeport", kube.args(services=[{"name": "web", "namespace": ns, "node_ports": {"http": kube.free_node_port()}}]))["changed"]
    exposed = kube.read(ns, "web")
    assert json.loads(exposed["metadata"]["annotations"][ANNOTATION]) == {"type": "ClusterIP"}
    assert exposed["spec"]["externalTrafficPolicy"] == "Cluster"  # the apiserver's default for NodePort
    kube.core.patch_namespaced_service("web", ns, {"metadata": {"labels": {"edited": "while-exposed"}}})

    result = playbook_task("kind_nodeport", kube.args(services=[{"name": "web", "namespace": ns}], state="absent"))

    assert result["changed"] and result["services"][0]["type_after"] == "ClusterIP", result.get("msg")
    restored = kube.read(ns, "web")
    expected = stable(original)
    expected["metadata"]["labels"]["edited"] = "while-exposed"
    assert stable(restored) == expected
    assert all("nodePort" not in p for p in restored["spec"]["ports"])


def test_absent_never_touches_services_it_did_not_change(kube: Kube, tier1_namespace: str) -> None:
    ns = tier1_namespace
    kube.create(ns, "theirs", type="NodePort")
    kube.create(ns, "plain")
    before = {name: kube.rv(ns, name) for name in ("theirs", "plain")}

    result = playbook_task("kind_nodeport", kube.args(namespaces=[ns], state="absent"))

    assert result["changed"] is False, result.get("msg")
    assert {s["name"]: s["skip_reason"] for s in result["services"]} == {
        name: f"not exposed by kind_nodeport (no {ANNOTATION} annotation); left alone" for name in ("plain", "theirs")
    }
    assert {name: kube.rv(ns, name) for name in before} == before


# Check mode is a server-side dry run; diff shows before and after -----------------------------------------------------


def test_check_mode_is_a_server_side_dry_run_and_diff_shows_before_and_after(kube: Kube, tier1_namespace: str) -> None:
    ns = tier1_namespace
    kube.create(ns, "web", ports=[("http", 80, "TCP"), ("metrics", 9090, "TCP")])
    rv = kube.rv(ns, "web")
    fixed = kube.free_node_port()

    result = playbook_task("kind_nodeport", kube.args(services=[{"name": "web", "namespace": ns, "node_ports": {"http": fixed}}]), check=True, diff=True)

    assert result["changed"] and not result.get("failed"), result.get("msg")
    assert kube.rv(ns, "web") == rv and kube.read(ns, "web")["spec"]["type"] == "ClusterIP"
    (web,) = result["services"]
    assert web["type_after"] == "NodePort"
    assert [(p["name"], p["node_port"]) for p in web["ports"]] == [("http", fixed), ("metrics", None)]  # allocation happens on the real run
    (diff,) = result["diff"]
    assert diff["before_header"] == f"{ns}/web"
    assert diff["before"] == {
        "type": "ClusterIP",
        "managed": False,
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "node_port": None}, {"name": "metrics", "port": 9090, "protocol": "TCP", "node_port": None}],
    }
    assert diff["after"] == {
        "type": "NodePort",
        "managed": True,
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "node_port": fixed}, {"name": "metrics", "port": 9090, "protocol": "TCP", "node_port": None}],
    }


def test_check_mode_validates_like_a_real_run(kube: Kube, tier1_namespace: str) -> None:
    kube.create(tier1_namespace, "web")
    rv = kube.rv(tier1_namespace, "web")
    services = [{"name": "web", "namespace": tier1_namespace}]

    out_of_range = playbook_task("kind_nodeport", kube.args(services=[dict(services[0], node_ports={"http": 80})]), check=True)
    forbidden = playbook_task("kind_nodeport", kube.args(context=kube.tier1.viewer_context, services=services), check=True)  # the dry run asks the apiserver

    assert out_of_range["failed"] and "is outside the cluster's nodePort range" in out_of_range["msg"]
    assert forbidden["failed"] and f"may not patch services in namespace {tier1_namespace}" in forbidden["msg"]
    assert kube.rv(tier1_namespace, "web") == rv


def test_check_mode_of_absent_writes_nothing(kube: Kube, tier1_namespace: str) -> None:
    kube.create(tier1_namespace, "web")
    assert playbook_task("kind_nodeport", kube.args(services=[{"name": "web", "namespace": tier1_namespace}]))["changed"]
    rv = kube.rv(tier1_namespace, "web")

    result = playbook_task("kind_nodeport", kube.args(services=[{"name": "web", "namespace": tier1_namespace}], state="absent"), check=True, diff=True)

    assert result["changed"] and result["services"][0]["type_after"] == "ClusterIP"
    assert result["diff"][0]["after"]["managed"] is False
    assert kube.rv(tier1_namespace, "web") == rv


# A concurrent write (409 Conflict) is re-read and re-planned, a bounded number of times -------------------------------


def interfere(kube: Kube, monkeypatch: pytest.MonkeyPatch, ns: str, name: str, times: int) -> list:
    """Before each of the module's first `times` real (not dry-run) PATCHes, another client changes the
    Service, so the module's patch carries a stale resourceVersion and the apiserver answers 409."""
    from ansible_collections.hostreach.kind.plugins.module_utils._kube import KubeApi

    done = []
    patch_service = KubeApi.patch_service

    def patch_after_someone_else(api, namespace, service, patch, dry_run):
        if not dry_run and len(done) < times:
            done.append(len(done))
            kube.core.patch_namespaced_service(name, ns, {"metadata": {"labels": {f"edit-{len(done)}": "yes"}}})
        return patch_service(api, namespace, service, patch, dry_run)

    monkeypatch.setattr(KubeApi, "patch_service", patch_after_someone_else)
    return done


def test_conflict_rereads_and_replans(kube: Kube, tier1_namespace: str, in_process, monkeypatch: pytest.MonkeyPatch) -> None:
    kube.create(tier1_namespace, "web")
    interfere(kube, monkeypatch, tier1_namespace, "web", times=1)

    result = in_process(kube.args(services=[{"name": "web", "namespace": tier1_namespace}]))

    assert result["changed"] and not result.get("failed"), result.get("msg")
    stored = kube.read(tier1_namespace, "web")
    assert stored["spec"]["type"] == "NodePort" and stored["metadata"]["labels"]["edit-1"] == "yes"
    path = f"api/v1/namespaces/{tier1_namespace}/services"
    assert in_process.requests == [
        ("GET", path),  # the LIST
        ("PATCH", f"{path}/web?dryRun=All"),  # validation
        ("PATCH", f"{path}/web"),  # the other writer (the test's own client)
        ("PATCH", f"{path}/web"),  # the module's write with the stale resourceVersion: 409 Conflict
        ("GET", f"{path}/web"),  # re-read, re-plan
        ("PATCH", f"{path}/web"),  # the write that lands
        ("GET", "api/v1/nodes"),
    ]


def test_conflicts_are_bounded(kube: Kube, tier1_namespace: str, in_process, monkeypatch: pytest.MonkeyPatch) -> None:
    kube.create(tier1_namespace, "web")
    interfere(kube, monkeypatch, tier1_namespace, "web", times=99)

    result = in_process(kube.args(services=[{"name": "web", "namespace": tier1_namespace}]))

    assert result["failed"]
    assert f"{tier1_namespace}/web kept changing while it was being patched (3 conflicts in a row)" in result["msg"]
    assert kube.read(tier1_namespace, "web")["spec"]["type"] == "ClusterIP"


# Errors name the fix: unknown context, RBAC refusal, nodes not listable, unreachable API server -----------------------


def test_unknown_context_lists_the_contexts(kube: Kube) -> None:
    result = playbook_task("kind_nodeport", kube.args(context=None, cluster="nope", services=[{"name": "web"}]))
    assert result["failed"]
    assert re.search(r"has no context 'kind-nope' .*Its contexts: tier1, tier1-viewer$", result["msg"])


def test_rbac_forbidden_names_verb_and_resource(kube: Kube, tier1_namespace: str) -> None:
    kube.create(tier1_namespace, "web")
    rv = kube.rv(tier1_namespace, "web")

    result = playbook_task("kind_nodeport", kube.args(context=kube.tier1.viewer_context, services=[{"name": "web", "namespace": tier1_namespace}]))

    assert result["failed"]
    assert f"forbidden: the user of context {kube.tier1.viewer_context} may not patch services in namespace {tier1_namespace}" in result["msg"]
    assert kube.rv(tier1_namespace, "web") == rv


def test_user_who_may_not_list_nodes_gets_a_warning_and_no_urls(kube: Kube, tier1_namespace: str) -> None:
    kube.create(tier1_namespace, "web", type="NodePort")  # nothing to change, so the viewer's run needs no write

    result = playbook_task("kind_nodeport", kube.args(context=kube.tier1.viewer_context, services=[{"name": "web", "namespace": tier1_namespace}]))

    assert not result.get("failed") and result["changed"] is False, result.get("msg")
    assert result["nodes"] == {} and result["urls"] == []
    assert result["services"][0]["ports"][0]["node_port"] == kube.read(tier1_namespace, "web")["spec"]["ports"][0]["nodePort"]
    assert any("may not list nodes" in w for w in result["warnings"]), result.get("warnings")


def test_unreachable_api_names_the_server(kube: Kube, tmp_path) -> None:
    text = Path(kube.tier1.kubeconfig).read_text()
    server = re.search(r"server: (\S+)", text).group(1)
    dead = re.sub(r":\d+$", ":1", server)
    (tmp_path / "config").write_text(text.replace(server, dead))

    result = playbook_task("kind_nodeport", kube.args(kubeconfig=str(tmp_path / "config"), services=[{"name": "web"}]))

    assert result["failed"]
    assert result["msg"].startswith(f"cannot reach the Kubernetes API server {dead} (context tier1)")


# probe: every URL's reachability, never a failed task; no ready endpoints, no wait; LoadBalancer URLs too -------------


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args) -> None:
        pass


def test_probe_reports_reachability_per_url_without_failing(kube: Kube, tier1_namespace: str, tier1_node: str) -> None:
    """tier1_node's InternalIP is 127.0.0.1 and no kube-proxy runs, so a nodePort answers only where this
    test listens on it itself: one URL reachable, the other not, and the task still succeeds."""
    served = kube.free_node_port()
    server = HTTPServer(("127.0.0.1", served), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        kube.create(tier1_namespace, "web", ports=[("http", 80, "TCP"), ("db", 5432, "TCP")])
        kube.ready_endpoints(tier1_namespace, "web", [("http", 80), ("db", 5432)])
        args = kube.args(services=[{"name": "web", "namespace": tier1_namespace, "node_ports": {"http": served}}], probe=True)
        result = playbook_task("kind_nodeport", args)
    finally:
        server.shutdown()
        server.server_close()

    assert not result.get("failed") and result["changed"], result.get("msg")
    db_port = kube.read(tier1_namespace, "web")["spec"]["ports"][1]["nodePort"]
    probes = {p["url"]: p for p in result["probes"]}
    reachable = probes[f"http://127.0.0.1:{served}"]
    assert {k: reachable.pop(k) for k in ("waited",)}["waited"] < 2  # it answered at once
    assert reachable == {"url": f"http://127.0.0.1:{served}", "reachable": True, "status": 200, "error": None, "diagnosis": "reachable", "hint": ""}
    refused = probes[f"127.0.0.1:{db_port}"]
    assert refused["reachable"] is False and refused["diagnosis"] == "refused" and "kube-proxy" in refused["hint"]
    assert "Connection refused" in refused["error"]
    assert 9 <= refused["waited"] <= 12  # a nodePort opened by this run: waited for until the one deadline


def test_ports_without_ready_endpoints_are_reported_so_and_never_waited_for(kube: Kube, tier1_namespace: str, tier1_node: str) -> None:
    for name in ("scaled-down", "starting"):
        kube.create(tier1_namespace, name)  # selector app=<name>: no pod matches
    kube.ready_endpoints(tier1_namespace, "starting", [("http", 80)], ready=False)

    result = playbook_task("kind_nodeport", kube.args(namespaces=[tier1_namespace], probe=True))

    assert not result.get("failed") and result["changed"], result.get("msg")
    by_service = {s["name"]: s for s in result["services"]}
    assert by_service["scaled-down"]["endpoints"] == {"ready": 0, "not_ready": 0, "selector": "app=scaled-down"}
    assert by_service["starting"]["endpoints"]["not_ready"] == 1
    probes = {p["url"]: p for p in result["probes"]}
    scaled = probes[by_service["scaled-down"]["urls"][0]]
    assert (scaled["diagnosis"], scaled["waited"], scaled["status"]) == ("no ready endpoints", 0.0, None)
    assert scaled["hint"].startswith(f"no pod matches the selector app=scaled-down (kubectl get pods -n {tier1_namespace} -l app=scaled-down)")
    starting = probes[by_service["starting"]["urls"][0]]
    assert starting["diagnosis"] == "no ready endpoints" and starting["hint"].startswith("1 endpoint(s) not ready")


def test_a_load_balancer_with_an_ingress_address_gets_urls_probed_and_is_left_alone(kube: Kube, tier1_namespace: str, tier1_node: str) -> None:
    """The ingress address is tier1_node's InternalIP, 127.0.0.1 (as k3s' ServiceLB gives a node's address): an address
    that is no kind node's and is not routed through one is never probed (test_kind_nodeport_cluster_input.py)."""
    served = kube.free_node_port()  # any free port on 127.0.0.1 does: the "load balancer" is this test's own server
    server = HTTPServer(("127.0.0.1", served), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        kube.create(tier1_namespace, "lb", ports=[("http", served, "TCP")], type="LoadBalancer")
        kube.core.patch_namespaced_service_status("lb", tier1_namespace, {"status": {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}})
        kube.ready_endpoints(tier1_namespace, "lb", [("http", served)])
        rv = kube.rv(tier1_namespace, "lb")
        result = playbook_task("kind_nodeport", kube.args(services=[{"name": "lb", "namespace": tier1_namespace}], probe=True))
    finally:
        server.shutdown()
        server.server_close()

    assert not result.get("failed") and result["changed"] is False, result.get("msg")
    assert f"http://127.0.0.1:{served}" in result["urls"]
    probe = next(p for p in result["probes"] if p["url"] == f"http://127.0.0.1:{served}")
    assert (probe["diagnosis"], probe["status"], probe["waited"]) == ("reachable", 200, 0.0)
    assert kube.rv(tier1_namespace, "lb") == rv


# Requests: one LIST per namespace and one for the nodes; writes only for Services that change -------------------------


def test_no_op_run_makes_one_list_per_namespace_and_one_node_list(kube: Kube, tier1_namespace: str, in_process) -> None:
    ns = tier1_namespace
    for name in ("a", "b", "c"):
        kube.create(ns, name)
    args = kube.args(namespaces=[ns])
    assert in_process(args)["changed"]
    rvs = {name: kube.rv(ns, name) for name in ("a", "b", "c")}

    noop = in_process(args)

    assert noop["changed"] is False
    assert in_process.requests == [("GET", f"api/v1/namespaces/{ns}/services"), ("GET", "api/v1/nodes")]
    assert {name: kube.rv(ns, name) for name in rvs} == rvs

    absent_noop = in_process(kube.args(namespaces=[ns], label_selector="app=none", state="absent"))
    assert absent_noop["changed"] is False
    # the LIST came back empty: one GET says whether the namespace exists at all
    assert in_process.requests == [("GET", f"api/v1/namespaces/{ns}/services?labelSelector=app%3Dnone"), ("GET", f"api/v1/namespaces/{ns}")]


def test_writes_only_for_services_that_change(kube: Kube, tier1_namespace: str, in_process) -> None:
    ns = tier1_namespace
    for name in ("a", "b", "c"):
        kube.create(ns, name)
    in_process(kube.args(services=[{"name": "a", "namespace": ns}]))
    rv_a = kube.rv(ns, "a")

    result = in_process(kube.args(namespaces=[ns]))

    assert [(s["name"], s["changed"]) for s in result["services"]] == [("a", False), ("b", True), ("c", True)]
    patched = [path for method, path in in_process.requests if method == "PATCH"]
    assert sorted(patched) == sorted(
        [f"api/v1/namespaces/{ns}/services/b?dryRun=All", f"api/v1/namespaces/{ns}/services/c?dryRun=All"]
        + [f"api/v1/namespaces/{ns}/services/{n}" for n in "bc"]
    )
    assert len(in_process.requests) == 2 + len(patched)  # the Services LIST, the Nodes LIST, the PATCHes
    assert kube.rv(ns, "a") == rv_a


def test_fixed_node_ports_use_one_cluster_wide_list(kube: Kube, tier1_namespace: str, in_process) -> None:
    kube.create(tier1_namespace, "web")
    args = kube.args(services=[{"name": "web", "namespace": tier1_namespace, "node_ports": {"http": kube.free_node_port()}}])
    in_process(args)

    assert in_process(args)["changed"] is False
    assert in_process.requests == [("GET", "api/v1/services"), ("GET", "api/v1/nodes")]
