"""Proof that tier 2 (harness/kind.sh) is a real kind cluster: a pod from a locally built image serves
HTTP through a NodePort on the node container's IP, and `down` leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from harness.kind import DEMO_HTTPD_INDEX, DEMO_HTTPD_PORT, KIND_SCRIPT, KindCluster, cluster_down, cluster_up, kubeconfig_path
from harness.kind_objects import wait_for

pytestmark = pytest.mark.kind


def http_get(url: str) -> tuple[int, str] | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, response.read().decode()
    except OSError:
        return None


@pytest.fixture
def kind_namespace(kind_cluster: KindCluster) -> Iterator[str]:
    core = kind_cluster.core_v1()
    name = f"test-kind-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    # Pods are admitted only once the controller manager has made the namespace's default service account.
    wait_for(lambda: core.list_namespaced_service_account(name, field_selector="metadata.name=default").items, 60, f"serviceaccount {name}/default")
    yield name
    core.delete_namespace(name)


def test_nodeport_on_node_ip_serves_pod_from_locally_built_image(kind_cluster: KindCluster, demo_httpd_image: str, kind_namespace: str) -> None:
    core = kind_cluster.core_v1()
    labels = {"app": "demo-httpd"}
    container = client.V1Container(
        name="httpd",
        image=demo_httpd_image,
        image_pull_policy="Never",  # only the copy `kind load` put on the node can run
        ports=[client.V1ContainerPort(container_port=DEMO_HTTPD_PORT)],
        readiness_probe=client.V1Probe(http_get=client.V1HTTPGetAction(path="/", port=DEMO_HTTPD_PORT), period_seconds=1),
    )
    core.create_namespaced_pod(
        kind_namespace, client.V1Pod(metadata=client.V1ObjectMeta(name="demo-httpd", labels=labels), spec=client.V1PodSpec(containers=[container]))
    )
    service = core.create_namespaced_service(
        kind_namespace,
        client.V1Service(
            metadata=client.V1ObjectMeta(name="demo-httpd"),
            spec=client.V1ServiceSpec(type="NodePort", selector=labels, ports=[client.V1ServicePort(port=80, target_port=DEMO_HTTPD_PORT)]),
        ),
    )
    node_port = service.spec.ports[0].node_port
    assert 30000 <= node_port <= 32767

    def pod_ready():
        pod = core.read_namespaced_pod("demo-httpd", kind_namespace)
        return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])

    wait_for(pod_ready, 120, "the demo-httpd pod to be Ready")
    assert kind_cluster.node_ips, "the cluster reports no node InternalIP"
    for node, ip in kind_cluster.node_ips.items():
        url = f"http://{ip}:{node_port}/"
        status, body = wait_for(lambda url=url: http_get(url), 60, f"{url} (node {node}) to answer")
        assert status == 200
        assert body == DEMO_HTTPD_INDEX


def docker_lines(*args: str) -> list[str]:
    return subprocess.run(["docker", *args], check=True, stdout=subprocess.PIPE, text=True).stdout.split()


def freeze_a_pod_container(node_id: str) -> None:
    """On a cgroup v1 host, leaves one pod container of the node FROZEN, as runc does while it sets device
    rules: a node killed at that moment cannot exit until the cgroup is thawed (seen here in practice)."""
    freezer = Path("/sys/fs/cgroup/freezer")
    if not freezer.is_dir():
        return
    (full_id,) = docker_lines("inspect", "-f", "{{.Id}}", node_id)
    states = sorted(freezer.glob(f"docker/{full_id}/**/cri-containerd-*.scope/freezer.state"))
    assert states, "no pod container cgroups found in the node"
    states[0].write_text("FROZEN")


def test_down_removes_containers_volumes_network_and_run_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    # A cluster of its own, on a docker network of its own, so the session's cluster is untouched.
    name = f"hostreach-down-{uuid.uuid4().hex[:4]}"
    monkeypatch.setenv("KIND_EXPERIMENTAL_DOCKER_NETWORK", name)
    try:
        cluster = cluster_up(name)
        node_ids = docker_lines("ps", "-q", "--filter", f"label=io.x-k8s.kind.cluster={name}")
        assert node_ids, "kind.sh up made no node container"
        volumes = docker_lines("inspect", "-f", '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', *node_ids)
        assert volumes, "the node containers have no volume (kind gives each one for /var)"
        assert name in docker_lines("network", "ls", "--format", "{{.Name}}")
        assert os.path.exists(cluster.kubeconfig)
        freeze_a_pod_container(node_ids[0])
    finally:
        cluster_down(name)

    assert docker_lines("ps", "-aq", "--filter", f"label=io.x-k8s.kind.cluster={name}") == []
    assert name not in docker_lines("network", "ls", "--format", "{{.Name}}")
    assert set(volumes).isdisjoint(docker_lines("volume", "ls", "-q"))
    assert not kubeconfig_path(name).parent.exists()
    with open("/proc/self/mounts") as mounts:
        assert not [line for line in mounts if any(node_id in line for node_id in node_ids)]
    processes = subprocess.run(["ps", "-eo", "args"], check=True, stdout=subprocess.PIPE, text=True).stdout
    assert not [line for line in processes.splitlines() if any(node_id in line for node_id in node_ids)]
    status = subprocess.run([str(KIND_SCRIPT), "status", name], check=False, stdout=subprocess.PIPE, text=True)
    assert status.returncode == 3
