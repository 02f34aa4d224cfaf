"""`ansible-playbook hostreach.kind.expose` on the real kind cluster: every URL's reachability told truthfully and
without waiting for what cannot answer (issue 11).

The playbook runs as a user on Linux runs it: direct mode (the host routes to kind's Docker network), the services
step only, the Services of one namespace of the test's own. What is checked is what the user reads (the summary
table with its RESULT column and count line, the JSON summary file) and what kind_nodeport returned (its `probes`,
where `waited` says how long each URL was waited for).

- 30 ordinary Services without a ready pod (a Deployment scaled to zero, a Deployment whose pods never pass their
  readiness probe, selectors that match no pod) beside pod-backed ones: reported `no ready endpoints` with the
  not-ready count or the selector, never probed nor waited for, not counted as unreachable; the JSON file; a no-op
  rerun leaves it byte for byte (changed=0).
- A Service whose pod turns ready while the module waits is reported reachable, beside one whose targetPort is
  wrong (refused until the deadline, with the kube-proxy/targetPort hint).
- A LoadBalancer Service with an ingress IP on its status: its http://<ingress IP>:<port> URL is probed and answers;
  nothing is written to it.
"""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from harness.kind import DEMO_HTTPD_INDEX, KindCluster

from .kind_expose_helpers import ANNOTATION, NO_READY_ENDPOINTS, PROBE_SETTLE, ExposeRun, Workloads, http_readiness, run_expose, wait_for

pytestmark = pytest.mark.kind

SCALED_DOWN = [f"scaled-down-{i:02d}" for i in range(10)]  # select a Deployment scaled to 0
STARTING = [f"starting-{i:02d}" for i in range(10)]  # select 2 pods that never pass their readiness probe
ORPHANS = [f"orphan-{i:02d}" for i in range(10)]  # select no pod at all (labels that no pod has)
WITHOUT_ENDPOINTS = SCALED_DOWN + STARTING + ORPHANS
POD_BACKED = ["web-0", "web-1", "web-2"]  # one Deployment behind three Services


@pytest.fixture
def workloads(kind_cluster: KindCluster) -> Iterator[Workloads]:
    w = Workloads(kind_cluster, f"expose-{uuid.uuid4().hex[:6]}")
    w.create_namespace()
    yield w
    w.delete_namespace()


@pytest.fixture(scope="module")
def ordinary(kind_cluster: KindCluster, demo_httpd_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """A namespace as real clusters have them, and the first expose run on it: (workloads, run, summary file)."""
    w = Workloads(kind_cluster, f"expose-ordinary-{uuid.uuid4().hex[:6]}")
    w.create_namespace()
    try:
        web = w.deployment("web", demo_httpd_image)
        scaled_down = w.deployment("scaled-down", demo_httpd_image, replicas=0)
        # Started but never ready: the readiness probe asks a port nothing listens on.
        starting = w.deployment("starting", demo_httpd_image, replicas=2, readiness=http_readiness(port=9999, period=5))
        for name in POD_BACKED:
            w.service(name, web)
        for name in SCALED_DOWN:
            w.service(name, scaled_down)
        for name in STARTING:
            w.service(name, starting)
        for name in ORPHANS:
            w.service(name, {"app": name})
        w.wait_endpoints(POD_BACKED[-1], ready=1, not_ready=0)
        w.wait_endpoints(STARTING[-1], ready=0, not_ready=2)
        summary_file = tmp_path_factory.mktemp("summary") / "expose.json"
        yield w, run_expose([kind_cluster], [w.namespace], summary_file), summary_file
    finally:
        w.delete_namespace()


def test_services_without_ready_endpoints_are_reported_as_such_and_never_waited_for(kind_cluster: KindCluster, ordinary: tuple) -> None:
    w, run, _summary_file = ordinary
    assert run.returncode == 0, run.failures()
    assert run.stats["changed"] >= 1
    module = run.module(kind_cluster)
    assert {s["name"] for s in module["services"]} == set(POD_BACKED + WITHOUT_ENDPOINTS)
    assert all(s["changed"] and s["type_after"] == "NodePort" for s in module["services"])
    probes = run.probes(kind_cluster)

    for name in WITHOUT_ENDPOINTS:
        service = run.service(kind_cluster, w.namespace, name)
        not_ready = 2 if name in STARTING else 0
        assert service["endpoints"] == {"ready": 0, "not_ready": not_ready, "selector": f"app={name.rsplit('-', 1)[0] if name not in ORPHANS else name}"}
        (url,) = service["urls"]
        probe = probes[url]
        # Decided from the EndpointSlices: never connected to (no error, no status), never waited for.
        assert (probe["diagnosis"], probe["reachable"], probe["waited"], probe["error"], probe["status"]) == (NO_READY_ENDPOINTS, False, 0.0, None, None)
        assert probe["endpoints"] == {"ready": 0, "not_ready": not_ready}
        if name in STARTING:
            assert probe["hint"].startswith("2 endpoint(s) not ready: the pods are starting or failing their readiness probe")
        else:
            assert f"no pod matches the selector {service['endpoints']['selector']}" in probe["hint"]

    for name in POD_BACKED:
        (url,) = run.service(kind_cluster, w.namespace, name)["urls"]
        assert (probes[url]["diagnosis"], probes[url]["reachable"], probes[url]["status"]) == ("reachable", True, 200)
    # Nothing ran into the deadline: the pod-backed URLs answered once kube-proxy opened their nodePorts, the 30
    # others were not waited for at all. (A run that waited for them, as before issue 11, took 10 s per URL.)
    assert max(p["waited"] for p in probes.values()) < PROBE_SETTLE

    rows = {service: result for _cluster, service, _url, result in run.rows()}
    for name in SCALED_DOWN:
        assert rows[f"{w.namespace}/{name}"] == "no ready endpoints (no pod matches app=scaled-down)"
    for name in STARTING:
        assert rows[f"{w.namespace}/{name}"] == "no ready endpoints (2 not ready)"
    for name in ORPHANS:
        assert rows[f"{w.namespace}/{name}"] == f"no ready endpoints (no pod matches app={name})"
    for name in POD_BACKED:
        assert rows[f"{w.namespace}/{name}"] == "reachable (HTTP 200)"
    # Reachable rows first, then those without ready endpoints; they do not count as unreachable.
    results = [result for *_rest, result in run.rows()]
    assert results[:3] == ["reachable (HTTP 200)"] * 3
    assert run.count_line == "3 reachable, 30 without ready endpoints, 0 unreachable"


def test_summary_file_holds_every_url_and_a_no_op_rerun_leaves_it_byte_for_byte(kind_cluster: KindCluster, ordinary: tuple) -> None:
    w, run, summary_file = ordinary
    assert run.returncode == 0, run.failures()
    written = summary_file.read_bytes()
    mtime = summary_file.stat().st_mtime_ns
    rows = json.loads(written)

    module_urls = {(s["name"], u) for s in run.module(kind_cluster)["services"] for u in s["urls"]}
    assert {(r["service"], r["url"]) for r in rows} == module_urls
    assert len(rows) == len(POD_BACKED) + len(WITHOUT_ENDPOINTS)  # one node: one URL per Service
    for row in rows:
        assert {"cluster", "namespace", "service", "url", "reachable", "diagnosis"} <= row.keys()
        assert (row["cluster"], row["namespace"]) == (kind_cluster.name, w.namespace)
        node_port = w.read_service(row["service"]).spec.ports[0].node_port
        assert row["url"] == f"http://{kind_cluster.node_ips[kind_cluster.control_plane]}:{node_port}"
        if row["service"] in POD_BACKED:
            assert (row["reachable"], row["diagnosis"], row["status"]) == (True, "reachable", 200)
        else:
            assert (row["reachable"], row["diagnosis"]) == (False, NO_READY_ENDPOINTS)
            assert row["hint"]

    rerun = run_expose([kind_cluster], [w.namespace], summary_file)

    assert rerun.returncode == 0, rerun.failures()
    assert rerun.stats["changed"] == 0
    assert summary_file.read_bytes() == written
    assert summary_file.stat().st_mtime_ns == mtime  # not even rewritten
    assert all(p["waited"] == 0.0 for p in rerun.module(kind_cluster)["probes"])  # nothing changed, nothing waited for
    assert rerun.count_line == "3 reachable, 30 without ready endpoints, 0 unreachable"


def test_a_pod_that_turns_ready_during_the_wait_is_reported_reachable(kind_cluster: KindCluster, demo_httpd_image: str, workloads: Workloads) -> None:
    """kind_nodeport lists the EndpointSlices again every second while a URL of a Service it just changed is still
    waited for. Here that is `wrong-port`: a ready pod, but a targetPort nothing listens on, so its nodePort refuses
    until the deadline. `late`'s pod is running but not ready when the module first lists the EndpointSlices
    (its readiness probe GETs /ready, which the httpd serves only once the file exists); the test creates the file
    as soon as it sees the module's write to `late` (the module lists the EndpointSlices right after its writes),
    so the pod turns ready a moment into the wait, and the module must pick it up, probe it and find it reachable."""
    w = workloads
    web = w.deployment("web", demo_httpd_image)
    late = w.pod("late", demo_httpd_image, readiness=http_readiness(path="/ready"))
    w.service("wrong-port", web, target_port=8081)
    w.service("late", late)
    w.wait_endpoints("wrong-port", ready=1, not_ready=0)
    w.wait_endpoints("late", ready=0, not_ready=1)

    outcome: dict = {}
    expose = threading.Thread(target=lambda: outcome.update(run=run_expose([kind_cluster], [w.namespace])))
    expose.start()
    try:
        wait_for(lambda: w.read_service("late").spec.type == "NodePort" or not expose.is_alive(), 120, "kind_nodeport to switch late to NodePort", 0.1)
        w.kubectl("exec", "late", "--", "/bin/busybox", "touch", "/www/ready")
    finally:
        expose.join()
    run: ExposeRun = outcome["run"]

    assert run.returncode == 0, run.failures()
    probes = run.probes(kind_cluster)
    late_report = run.service(kind_cluster, w.namespace, "late")
    # The first count (from before the wait) said not ready: the module found the pod ready on a later listing.
    assert late_report["endpoints"] == {"ready": 0, "not_ready": 1, "selector": "app=late"}
    (late_url,) = late_report["urls"]
    assert (probes[late_url]["diagnosis"], probes[late_url]["reachable"], probes[late_url]["status"]) == ("reachable", True, 200)

    (wrong_url,) = run.service(kind_cluster, w.namespace, "wrong-port")["urls"]
    wrong = probes[wrong_url]
    assert (wrong["diagnosis"], wrong["reachable"]) == ("refused", False)
    assert wrong["waited"] >= PROBE_SETTLE - 1  # waited for until the one deadline, as a just-opened nodePort may refuse
    assert "kube-proxy has not opened the nodePort" in wrong["hint"]
    assert "the pods refuse on the Service's targetPort" in wrong["hint"]

    rows = {service: result for _cluster, service, _url, result in run.rows()}
    assert rows == {f"{w.namespace}/late": "reachable (HTTP 200)", f"{w.namespace}/wrong-port": "refused"}
    assert run.count_line == "1 reachable, 0 without ready endpoints, 1 unreachable"
    assert any(line.startswith("refused (1): ") and "targetPort" in line for line in run.table)


def test_a_load_balancer_ingress_ip_gets_a_url_that_is_probed_and_nothing_is_written(
    kind_cluster: KindCluster, demo_httpd_image: str, workloads: Workloads
) -> None:
    """A LoadBalancer Service whose status carries an ingress IP, set by the test as a load balancer controller would.

    What is real here: kind runs no load balancer controller, so the test writes the status itself
    (patch_namespaced_service_status). The address it writes is the node container's own IP on kind's network.
    kube-proxy programs every ingress IP of a LoadBalancer Service on every node (iptables mode: a KUBE-SERVICES
    rule `-d <ingress IP> --dport <Service port>` marked "loadbalancer IP", DNAT to the endpoints), so a packet from
    the host to <node IP>:<Service port> is answered by kube-proxy's rule for the ingress IP, not by a nodePort:
    that is the datapath MetalLB's L2 mode uses on kind (MetalLB only makes a node answer ARP for an address of its
    pool; kube-proxy does the rest). Choosing the node's IP spares the test an address of kind's network that no
    container owns. (cloud-provider-kind instead runs an Envoy container of its own as the ingress address; the
    module treats both alike: http://<ingress IP>:<Service port>.) The Service port is 80, where nothing else
    listens on the node, so only kube-proxy's rule can answer it.
    """
    w = workloads
    ip = kind_cluster.node_ips[kind_cluster.control_plane]
    w.service("lb", w.deployment("web", demo_httpd_image), type_="LoadBalancer")
    w.core.patch_namespaced_service_status("lb", w.namespace, {"status": {"loadBalancer": {"ingress": [{"ip": ip}]}}})
    w.wait_endpoints("lb", ready=1, not_ready=0)
    ingress_url = f"http://{ip}:80"

    def answers() -> bool:  # kube-proxy has programmed the ingress IP
        try:
            with urllib.request.urlopen(ingress_url, timeout=2) as response:
                return response.read().decode() == DEMO_HTTPD_INDEX
        except OSError:
            return False

    wait_for(answers, 60, f"kube-proxy to answer {ingress_url}")
    before = w.read_service("lb")

    run = run_expose([kind_cluster], [w.namespace])

    assert run.returncode == 0, run.failures()
    report = run.service(kind_cluster, w.namespace, "lb")
    node_port_url = f"http://{ip}:{before.spec.ports[0].node_port}"
    assert report["urls"] == [node_port_url, ingress_url]
    assert (report["changed"], report["type_before"], report["type_after"]) == (False, "LoadBalancer", "LoadBalancer")
    probes = run.probes(kind_cluster)
    for url in (node_port_url, ingress_url):
        assert (probes[url]["diagnosis"], probes[url]["status"], probes[url]["waited"]) == ("reachable", 200, 0.0)
    assert sorted(url for _cluster, _service, url, _result in run.rows()) == sorted([node_port_url, ingress_url])
    assert run.count_line == "2 reachable, 0 without ready endpoints, 0 unreachable"
    after = w.read_service("lb")
    assert after.metadata.resource_version == before.metadata.resource_version  # nothing was written to it
    assert ANNOTATION not in (after.metadata.annotations or {})
    assert run.stats["changed"] == 0
