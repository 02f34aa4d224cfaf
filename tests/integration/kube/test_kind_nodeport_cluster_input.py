"""kind_nodeport against the real tier 1 apiserver, with what the cluster says as hostile input (issue 18): a
LoadBalancer status naming an address no kind node routes, and a Node whose InternalIP is no IP address.

No packet goes to the hostile address: the probe function is wrapped for the whole run, and a call for an address of
TEST-NET-1 (192.0.2.0/24, RFC 5737) is recorded and answered by the wrapper itself, never passed on. The test also
checks first that this host routes TEST-NET-1 through nothing the collection could take for a kind node.
"""

from __future__ import annotations

import ipaddress
import threading
import uuid
from collections.abc import Iterator
from http.server import HTTPServer

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _host_routes, _probe, _service_report
from kubernetes import client

from harness.tier1 import TEST_LABEL, Tier1
from tests.ansible_runner import playbook_task

from .kube_helpers import Hello, Kube

pytestmark = pytest.mark.tier1

TEST_NET_1 = ipaddress.ip_network("192.0.2.0/24")
HOSTILE = "192.0.2.10"


@pytest.fixture
def probes_seen(monkeypatch: pytest.MonkeyPatch) -> list:
    """Every URL handed to the probe during the test; one in TEST-NET-1 is answered here and never sent."""
    seen: list = []
    real = _probe.probe

    def guarded(url: str, *args, **kwargs) -> dict:
        seen.append(url)
        if ipaddress.ip_address(_probe.split_url(url)[1]) in TEST_NET_1:
            return {"url": url, "reachable": False, "status": None, "error": "NOT SENT by the test", "diagnosis": "connect failed", "waited": 0.0}
        return real(url, *args, **kwargs)

    monkeypatch.setattr(_probe, "probe", guarded)
    return seen


def test_a_load_balancer_address_routed_through_no_kind_node_is_reported_not_routed_and_never_probed(
    kube: Kube, tier1_namespace: str, tier1_node: str, in_process, probes_seen: list
) -> None:
    node_ips = {"127.0.0.1"}  # tier1_node's InternalIP
    assert _service_report.route_problem(_host_routes.read_routes(), HOSTILE, node_ips, True), "this host routes TEST-NET-1 like a kind node"
    served = kube.free_node_port()  # the routed ingress address is the node's own: this test's server answers there
    server = HTTPServer(("127.0.0.1", served), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        kube.create(tier1_namespace, "lb", ports=[("http", served, "TCP")], type="LoadBalancer")
        status = {"status": {"loadBalancer": {"ingress": [{"ip": HOSTILE}, {"ip": "127.0.0.1"}]}}}
        kube.core.patch_namespaced_service_status("lb", tier1_namespace, status)
        kube.ready_endpoints(tier1_namespace, "lb", [("http", served)])
        result = in_process(kube.args(services=[{"name": "lb", "namespace": tier1_namespace}], probe=True))
    finally:
        server.shutdown()
        server.server_close()

    assert not result.get("failed"), result.get("msg")
    hostile_url, routed_url = f"http://{HOSTILE}:{served}", f"http://127.0.0.1:{served}"
    assert hostile_url in result["urls"] and routed_url in result["urls"]
    assert hostile_url not in probes_seen and routed_url in probes_seen
    probes = {p["url"]: p for p in result["probes"]}
    assert (probes[hostile_url]["diagnosis"], probes[hostile_url]["reachable"], probes[hostile_url]["waited"]) == ("not routed", False, 0.0)
    assert "goes through no kind node" in probes[hostile_url]["error"] or "no IPv4 route" in probes[hostile_url]["error"]
    assert "load balancer" in probes[hostile_url]["hint"]
    assert (probes[routed_url]["diagnosis"], probes[routed_url]["status"]) == ("reachable", 200)


@pytest.fixture
def garbage_node(tier1: Tier1) -> Iterator[str]:
    """A Node API object whose status says its InternalIP is `node-1.example` (the status subresource takes it)."""
    core = tier1.core_v1()
    name = f"apiobject-garbage-ip-{uuid.uuid4().hex[:6]}"
    core.create_node(client.V1Node(metadata=client.V1ObjectMeta(name=name, labels={TEST_LABEL: "true"})))
    try:
        core.patch_node_status(name, {"status": {"addresses": [{"type": "InternalIP", "address": "node-1.example"}]}})
        yield name
    finally:
        core.delete_node(name)


def test_a_node_whose_internal_ip_is_no_ip_address_is_skipped_with_a_warning_naming_it(
    kube: Kube, tier1_namespace: str, tier1_node: str, garbage_node: str
) -> None:
    kube.create(tier1_namespace, "web")

    result = playbook_task("kind_nodeport", kube.args(services=[{"name": "web", "namespace": tier1_namespace}]))

    assert not result.get("failed"), result.get("msg")
    assert garbage_node not in result["nodes"] and result["nodes"][tier1_node] == "127.0.0.1"
    node_port = kube.read(tier1_namespace, "web")["spec"]["ports"][0]["nodePort"]
    assert f"http://127.0.0.1:{node_port}" in result["services"][0]["urls"]
    assert any(f"node '{garbage_node}'" in w and "'node-1.example' is not an IP address" in w for w in result.get("warnings", [])), result.get("warnings")
