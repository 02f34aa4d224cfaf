"""Proof that a tier 2 cluster takes a pod and service subnet of its own (harness/kind.sh up --pod-subnet
--service-subnet) and runs beside a cluster with kind's defaults: node pod ranges, pod IPs, Service
ClusterIPs, kube-dns and the pods' nameserver all come from its own subnets."""

from __future__ import annotations

import subprocess

import pytest

from harness.kind import DEMO_HTTPD_INDEX, DEMO_HTTPD_PORT, KIND_SCRIPT, SUBNETS_POD_SUBNET, SUBNETS_SERVICE_SUBNET, KindCluster
from harness.kind_objects import (
    cluster_ip_service,
    demo_pod,
    http_get_in_pod,
    inside,
    kubectl,
    namespace,
    node_exec,
    nslookup,
    nth_address,
    wait_for,
)

pytestmark = pytest.mark.kind


def test_nodes_and_services_use_the_clusters_own_subnets(subnets_cluster: KindCluster, two_node_cluster: KindCluster) -> None:
    core = subnets_cluster.core_v1()
    nodes = core.list_node().items
    assert len(nodes) == 2
    cidrs = [node.spec.pod_cidr for node in nodes]
    assert len(set(cidrs)) == 2 and all(inside(cidr, SUBNETS_POD_SUBNET) for cidr in cidrs), cidrs
    assert core.read_namespaced_service("kubernetes", "default").spec.cluster_ip == nth_address(SUBNETS_SERVICE_SUBNET, 1)
    assert core.read_namespaced_service("kube-dns", "kube-system").spec.cluster_ip == nth_address(SUBNETS_SERVICE_SUBNET, 10)
    # kubeadm's view, which every component was configured from.
    kubeadm_config = core.read_namespaced_config_map("kubeadm-config", "kube-system").data["ClusterConfiguration"]
    assert f"podSubnet: {SUBNETS_POD_SUBNET}" in kubeadm_config
    assert f"serviceSubnet: {SUBNETS_SERVICE_SUBNET}" in kubeadm_config
    # The cluster with kind's defaults runs beside it, untouched.
    default_cidrs = two_node_cluster.core_v1().list_node().items
    assert all(inside(node.spec.pod_cidr, "10.244.0.0/16") for node in default_cidrs)
    assert two_node_cluster.core_v1().read_namespaced_service("kubernetes", "default").spec.cluster_ip == "10.96.0.1"


def test_pods_and_dns_in_the_clusters_own_subnets(subnets_cluster: KindCluster, subnets_image: str) -> None:
    cluster = subnets_cluster
    core = cluster.core_v1()
    (worker,) = cluster.workers
    with namespace(cluster, "kind2-cidrs") as ns:
        web = demo_pod(core, ns, "web", subnets_image, node=worker)
        assert inside(web.status.pod_ip, cluster.pod_cidrs[worker])
        url = f"http://{web.status.pod_ip}:{DEMO_HTTPD_PORT}/"
        fetched = wait_for(lambda: node_exec(cluster.control_plane, "curl", "-fsS", "-m", "5", url).stdout or None, 30, f"{url} from {cluster.control_plane}")
        assert fetched == DEMO_HTTPD_INDEX

        service = cluster_ip_service(core, ns, "web", {"app": "web"})
        assert inside(service.spec.cluster_ip, SUBNETS_SERVICE_SUBNET)
        resolver = demo_pod(core, ns, "resolver", subnets_image, node=cluster.control_plane)
        assert inside(resolver.status.pod_ip, cluster.pod_cidrs[cluster.control_plane])
        resolv_conf = kubectl(cluster, "exec", "-n", ns, "resolver", "--", "/bin/busybox", "cat", "/etc/resolv.conf").stdout
        assert f"nameserver {nth_address(SUBNETS_SERVICE_SUBNET, 10)}" in resolv_conf.splitlines(), resolv_conf
        name = f"web.{ns}.svc.cluster.local"
        assert wait_for(lambda: nslookup(cluster, ns, "resolver", name), 30, f"an answer for {name}") == [service.spec.cluster_ip]
        response = wait_for(lambda: http_get_in_pod(cluster, ns, "resolver", service.spec.cluster_ip, 80) or None, 30, "Service web")
        assert response.endswith(DEMO_HTTPD_INDEX), response


def test_up_refuses_a_running_cluster_of_another_shape(subnets_cluster: KindCluster) -> None:
    result = subprocess.run([str(KIND_SCRIPT), "up", subnets_cluster.name, "--workers", "0"], check=False, capture_output=True, text=True)
    assert result.returncode != 0
    assert f"kind cluster {subnets_cluster.name} runs with" in result.stderr and "down" in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--workers", "x"], "the worker count must be a number"),
        (["--pod-subnet", "10.244.0.0"], "is not an IPv4 CIDR"),
        (["--pod-subnet", "10.244.1.0/16"], "has host bits set"),
        (["--pod-subnet", "10.244.0.0/24", "--workers", "1"], "has no room for 2 node /24s"),
        (["--service-subnet", "10.0.0.0/8"], "must be a /12 to /28"),
        (["--pod-subnet", "10.96.0.0/12", "--service-subnet", "10.96.0.0/16"], "overlap"),
        (["--bogus"], "unknown option"),
    ],
)
def test_up_rejects_a_bad_shape_before_doing_anything(options: list[str], message: str) -> None:
    name = "hostreach-kind2-never"
    result = subprocess.run([str(KIND_SCRIPT), "up", name, *options], check=False, capture_output=True, text=True)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert subprocess.run([str(KIND_SCRIPT), "status", name], check=False, capture_output=True).returncode == 3
