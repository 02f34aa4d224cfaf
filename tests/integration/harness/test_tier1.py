"""Proof that tier 1 (control plane as local processes, harness/tier1.sh) is a real Kubernetes API."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from kubernetes import client

from harness.tier1 import TIER1_SCRIPT, Tier1

pytestmark = pytest.mark.tier1


def wait_until(check, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


def test_apiserver_allocates_node_port_in_range_when_a_service_becomes_nodeport(tier1: Tier1, tier1_namespace: str) -> None:
    core = tier1.core_v1()
    service = client.V1Service(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1ServiceSpec(selector={"app": "web"}, ports=[client.V1ServicePort(name="http", port=80, target_port=8080)]),
    )
    created = core.create_namespaced_service(tier1_namespace, service)
    assert created.spec.type == "ClusterIP"
    assert created.spec.ports[0].node_port is None

    core.patch_namespaced_service("web", tier1_namespace, {"spec": {"type": "NodePort"}})

    current = core.read_namespaced_service("web", tier1_namespace)
    low, high = tier1.node_port_range
    assert current.spec.type == "NodePort"
    assert low <= current.spec.ports[0].node_port <= high
    assert current.spec.cluster_ip == created.spec.cluster_ip


def test_deleted_namespace_is_finalized_by_the_controller_manager(tier1: Tier1) -> None:
    core = tier1.core_v1()
    name = f"gone-{os.getpid()}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    core.create_namespaced_config_map(name, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="content"), data={"k": "v"}))

    core.delete_namespace(name)

    def gone() -> bool:
        try:
            core.read_namespace(name)
        except client.ApiException as error:
            return error.status == 404
        return False

    assert wait_until(gone), f"namespace {name} still exists 60s after deletion"


def test_controller_manager_creates_the_default_service_account(tier1: Tier1, tier1_namespace: str) -> None:
    core = tier1.core_v1()

    def has_default() -> bool:
        return any(sa.metadata.name == "default" for sa in core.list_namespaced_service_account(tier1_namespace).items)

    assert wait_until(has_default, timeout=30)


def test_viewer_context_reads_but_is_forbidden_to_write(tier1: Tier1, tier1_namespace: str) -> None:
    viewer = tier1.core_v1(tier1.viewer_context)
    assert viewer.list_namespaced_service(tier1_namespace).items == []

    with pytest.raises(client.ApiException) as forbidden:
        viewer.create_namespaced_config_map(tier1_namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="nope")))
    assert forbidden.value.status == 403


def test_tier1_node_is_an_api_object_with_internal_ip(tier1: Tier1, tier1_node: str) -> None:
    node = tier1.core_v1().read_node(tier1_node)
    assert {(address.type, address.address) for address in node.status.addresses} >= {("InternalIP", "127.0.0.1")}


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_second_control_plane_starts_and_stops_leaving_nothing(tmp_path) -> None:
    """The up/down cycle on other ports and another state dir, beside the session's control plane."""
    ports = {"HOSTREACH_TIER1_ETCD_PORT": 23870, "HOSTREACH_TIER1_ETCD_PEER_PORT": 23880, "HOSTREACH_TIER1_API_PORT": 16470}
    run_dir = tmp_path / "tier1"
    env = {**os.environ, "HOSTREACH_TIER1_DIR": str(run_dir), **{key: str(port) for key, port in ports.items()}}
    up = subprocess.run([TIER1_SCRIPT, "up"], env=env, check=True, stdout=subprocess.PIPE, text=True)
    try:
        assert up.stdout.strip() == str(run_dir / "kubeconfig")
        assert {Path(os.readlink(f"/proc/{pid}/exe")).name for pid in processes_using(run_dir)} == {"etcd", "kube-apiserver", "kube-controller-manager"}
        assert all(listening(port) for port in ports.values())
        namespaces = Tier1(kubeconfig=up.stdout.strip()).core_v1().list_namespace().items
        assert "kube-system" in {ns.metadata.name for ns in namespaces}
    finally:
        subprocess.run([TIER1_SCRIPT, "down"], env=env, check=True)

    assert not run_dir.exists()
    assert not any(listening(port) for port in ports.values())
    assert processes_using(run_dir) == []


def processes_using(run_dir: Path) -> list[int]:
    """Live processes with the state directory on their command line (zombies have an empty one)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if f"{run_dir}/".encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found
