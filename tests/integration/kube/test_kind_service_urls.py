"""kind_service_urls against the real tier 1 apiserver: the URLs of real Services (node URLs of NodePort Services,
ClusterIPs from what the apiserver allocated), a real URL probed, and nothing ever written, in check mode or not: only
GET requests, every resourceVersion as it was.

Tier 1 has no kube-proxy: the one URL that answers is this test's own HTTP server on the nodePort of tier1_node's
InternalIP (127.0.0.1), as in test_kind_nodeport.py.
"""

from __future__ import annotations

import threading
from http.server import HTTPServer

import pytest
from ansible_collections.hostreach.kind.plugins.modules import kind_service_urls

from tests.ansible_runner import playbook_task

from .kube_helpers import Hello, Kube

pytestmark = pytest.mark.tier1


def test_lists_node_urls_and_cluster_ips_of_real_services_and_changes_nothing(kube: Kube, tier1_namespace: str, tier1_node: str) -> None:
    ns = tier1_namespace
    kube.create(ns, "web", type="NodePort")
    kube.create(ns, "api")
    web, api = kube.read(ns, "web"), kube.read(ns, "api")
    rvs = {name: kube.rv(ns, name) for name in ("web", "api")}

    nodeport = playbook_task("kind_service_urls", kube.args(namespaces=[ns]))
    both = playbook_task("kind_service_urls", kube.args(namespaces=[ns], reach="both", dns_domain="tier1.test"))

    assert not nodeport.get("failed") and nodeport["changed"] is False, nodeport.get("msg")
    assert nodeport["nodes"][tier1_node] == "127.0.0.1"
    by_name = {s["name"]: s for s in nodeport["services"]}
    assert by_name["web"]["urls"] == [f"http://127.0.0.1:{web['spec']['ports'][0]['nodePort']}"]
    assert (by_name["web"]["type_before"], by_name["web"]["type_after"], by_name["web"]["changed"]) == ("NodePort", "NodePort", False)
    assert by_name["api"]["urls"] == [] and by_name["api"]["skip_reason"].startswith("type ClusterIP: no nodePort, so no node URL")
    by_name = {s["name"]: s for s in both["services"]}
    assert by_name["api"]["urls"] == [f"http://{api['spec']['clusterIP']}:80", f"http://api.{ns}.svc.tier1.test:80"]
    assert f"http://{web['spec']['clusterIP']}:80" in by_name["web"]["urls"] and by_name["web"]["urls"][0].startswith("http://127.0.0.1:")
    assert {name: kube.rv(ns, name) for name in rvs} == rvs


def test_probes_a_real_url_and_returns_the_same_in_check_mode_with_only_reads(kube: Kube, tier1_namespace: str, tier1_node: str, in_process) -> None:
    ns = tier1_namespace
    served = kube.free_node_port()
    server = HTTPServer(("127.0.0.1", served), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        kube.create(ns, "web", type="NodePort")
        kube.core.patch_namespaced_service("web", ns, {"spec": {"ports": [{"port": 80, "nodePort": served}]}})
        kube.ready_endpoints(ns, "web", [("http", 80)])
        kube.create(ns, "idle", type="NodePort")  # no EndpointSlice: no ready endpoint, never probed
        rv = kube.rv(ns, "web")
        args = kube.args(namespaces=[ns], probe=True)
        result = in_process(args, module=kind_service_urls)
        requests = list(in_process.requests)
        checked = in_process(args, check=True, module=kind_service_urls)
    finally:
        server.shutdown()
        server.server_close()

    assert not result.get("failed") and result["changed"] is False, result.get("msg")
    probes = {p["url"]: p for p in result["probes"]}
    web = probes[f"http://127.0.0.1:{served}"]
    assert (web["diagnosis"], web["reachable"], web["status"], web["hint"]) == ("reachable", True, 200, "")
    assert web["waited"] < 2
    idle = next(p for p in result["probes"] if p["url"] != web["url"])
    assert (idle["diagnosis"], idle["endpoints"]) == ("no ready endpoints", {"ready": 0, "not_ready": 0})
    assert requests == [
        ("GET", f"api/v1/namespaces/{ns}/services"),
        ("GET", "api/v1/nodes"),
        ("GET", f"apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"),
    ]
    assert {k: v for k, v in checked.items() if k != "probes"} == {k: v for k, v in result.items() if k != "probes"}
    assert [(p["url"], p["diagnosis"]) for p in checked["probes"]] == [(p["url"], p["diagnosis"]) for p in result["probes"]]
    assert kube.rv(ns, "web") == rv
