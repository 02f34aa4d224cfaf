"""kind_nodeport on the real kind cluster: after the module switches a pod-backed ClusterIP Service to NodePort, an
HTTP GET from this host to each URL it returns answers 200.

The playbook is what a user runs: kind_nodeport, then ansible.builtin.uri on every returned URL. Also: the
nodePort range is read from the real cluster's kube-system/kubeadm-config.
"""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client

from harness.kind import DEMO_HTTPD_INDEX, DEMO_HTTPD_PORT, KindCluster
from tests.ansible_runner import playbook_results, playbook_task

pytestmark = pytest.mark.kind


@pytest.fixture
def namespace(kind_cluster: KindCluster) -> Iterator[str]:
    core = kind_cluster.core_v1()
    name = f"kind-nodeport-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


def pod_backed_service(core: client.CoreV1Api, namespace: str, image: str) -> None:
    """A demo-httpd pod (the image `kind load` put on the node) behind a ClusterIP Service `web` (port http 80)."""
    labels = {"app": "web"}
    container = client.V1Container(
        name="httpd",
        image=image,
        image_pull_policy="Never",
        ports=[client.V1ContainerPort(container_port=DEMO_HTTPD_PORT)],
        readiness_probe=client.V1Probe(http_get=client.V1HTTPGetAction(path="/", port=DEMO_HTTPD_PORT), period_seconds=1),
    )
    core.create_namespaced_pod(namespace, client.V1Pod(metadata=client.V1ObjectMeta(name="web", labels=labels), spec=client.V1PodSpec(containers=[container])))
    port = client.V1ServicePort(name="http", port=80, target_port=DEMO_HTTPD_PORT)
    core.create_namespaced_service(
        namespace, client.V1Service(metadata=client.V1ObjectMeta(name="web"), spec=client.V1ServiceSpec(selector=labels, ports=[port]))
    )
    deadline = time.monotonic() + 120
    while not any(c.type == "Ready" and c.status == "True" for c in core.read_namespaced_pod("web", namespace).status.conditions or []):
        assert time.monotonic() < deadline, "the demo-httpd pod is not Ready after 120s"
        time.sleep(1)


def module_args(kind_cluster: KindCluster, namespace: str, **web) -> dict:
    return {"cluster": kind_cluster.name, "kubeconfig": kind_cluster.kubeconfig, "services": [{"name": "web", "namespace": namespace, **web}]}


def test_every_returned_url_answers_200_from_the_host(kind_cluster: KindCluster, demo_httpd_image: str, namespace: str) -> None:
    core = kind_cluster.core_v1()
    pod_backed_service(core, namespace, demo_httpd_image)

    get = {"url": "{{ item }}", "status_code": 200, "return_content": True}
    results = playbook_results(
        [
            {"name": "expose", "hostreach.kind.kind_nodeport": dict(module_args(kind_cluster, namespace), probe=True), "register": "exposed"},
            # retried while kube-proxy programs the new nodePort
            {
                "name": "get",
                "ansible.builtin.uri": get,
                "loop": "{{ exposed.urls }}",
                "register": "got",
                "retries": 30,
                "delay": 1,
                "until": "got.status == 200",
            },
        ]
    )

    exposed = results["expose"]
    assert exposed["changed"] and not exposed.get("failed"), exposed.get("msg")
    assert exposed["nodes"] == kind_cluster.node_ips  # the node containers' IPs on the kind network
    node_port = core.read_namespaced_service("web", namespace).spec.ports[0].node_port
    assert exposed["urls"] == [f"http://{ip}:{node_port}" for _name, ip in sorted(kind_cluster.node_ips.items())]
    assert [(p["url"], p["reachable"], p["status"]) for p in exposed["probes"]] == [(url, True, 200) for url in exposed["urls"]]  # the module's own probe
    assert not results["get"].get("failed"), results["get"]
    assert [r["status"] for r in results["get"]["results"]] == [200] * len(exposed["urls"])
    for url in exposed["urls"]:
        with urllib.request.urlopen(url, timeout=5) as response:
            assert (response.status, response.read().decode()) == (200, DEMO_HTTPD_INDEX)


def test_node_port_range_comes_from_the_clusters_kubeadm_config(kind_cluster: KindCluster, namespace: str) -> None:
    core = kind_cluster.core_v1()
    port = client.V1ServicePort(name="http", port=80)
    core.create_namespaced_service(namespace, client.V1Service(metadata=client.V1ObjectMeta(name="web"), spec=client.V1ServiceSpec(ports=[port])))

    result = playbook_task("kind_nodeport", module_args(kind_cluster, namespace, node_ports={"http": 29999}))

    assert result["failed"]
    assert result["msg"] == (
        f"nodePort 29999 wanted for {namespace}/web is outside the cluster's nodePort range 30000-32767 "
        "(the Kubernetes default; kube-system/kubeadm-config sets no --service-node-port-range)"
    )
    assert core.read_namespaced_service("web", namespace).spec.type == "ClusterIP"
