"""Proof that tier 2's clusters run CoreDNS as kubeadm's addon/coredns phase installs it: the CoreDNS built from
the Go module proxy at the version kubeadm expects, preloaded under the tag kubeadm names, Ready pods behind
kube-system/kube-dns at the service subnet's 10th address, and kubelet pointing pods at it."""

from __future__ import annotations

import pytest

from harness.kind import KindCluster
from harness.kind_objects import cluster_ip_service, demo_pod, kubectl, namespace, nslookup, nth_address, wait_for
from harness.versions import load_versions

pytestmark = pytest.mark.kind

DEFAULT_SERVICE_SUBNET = "10.96.0.0/16"
COREDNS_IMAGE = f"registry.k8s.io/coredns/coredns:{load_versions()['COREDNS_VERSION']}"


def test_coredns_pods_ready_behind_kube_dns(two_node_cluster: KindCluster) -> None:
    core = two_node_cluster.core_v1()
    pods = core.list_namespaced_pod("kube-system", label_selector="k8s-app=kube-dns").items
    assert len(pods) == 2, [pod.metadata.name for pod in pods]
    for pod in pods:
        assert [container.image for container in pod.spec.containers] == [COREDNS_IMAGE]
        assert any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []), f"{pod.metadata.name} is not Ready"
        assert pod.status.pod_ip, f"{pod.metadata.name} has no IP"
    service = core.read_namespaced_service("kube-dns", "kube-system")
    assert service.spec.cluster_ip == nth_address(DEFAULT_SERVICE_SUBNET, 10) == "10.96.0.10"
    assert sorted((port.name, port.protocol, port.port) for port in service.spec.ports) == [
        ("dns", "UDP", 53),
        ("dns-tcp", "TCP", 53),
        ("metrics", "TCP", 9153),
    ]
    # The CoreDNS running is the one built here, stamped with its version and release commit.
    version = kubectl(two_node_cluster, "exec", "-n", "kube-system", pods[0].metadata.name, "--", "/coredns", "-version").stdout
    assert version.startswith(f"CoreDNS-{load_versions()['COREDNS_VERSION'].removeprefix('v')}\n"), version


def test_pods_resolve_cluster_names_through_coredns(two_node_cluster: KindCluster, two_node_image: str) -> None:
    cluster = two_node_cluster
    core = cluster.core_v1()
    (worker,) = cluster.workers
    with namespace(cluster, "kind2-dns") as ns:
        service = cluster_ip_service(core, ns, "web", {"app": "web"})
        # On the worker, so its queries cross to CoreDNS pods on the control plane.
        demo_pod(core, ns, "resolver", two_node_image, node=worker)
        resolv_conf = kubectl(cluster, "exec", "-n", ns, "resolver", "--", "/bin/busybox", "cat", "/etc/resolv.conf").stdout
        assert "nameserver 10.96.0.10" in resolv_conf.splitlines(), resolv_conf
        assert f"search {ns}.svc.cluster.local svc.cluster.local cluster.local" in resolv_conf.splitlines(), resolv_conf

        kubernetes_ip = core.read_namespaced_service("kubernetes", "default").spec.cluster_ip
        assert kubernetes_ip == nth_address(DEFAULT_SERVICE_SUBNET, 1)
        name = "kubernetes.default.svc.cluster.local"
        assert wait_for(lambda: nslookup(cluster, ns, "resolver", name), 30, f"an answer for {name}") == [kubernetes_ip]
        name = f"web.{ns}.svc.cluster.local"
        assert wait_for(lambda: nslookup(cluster, ns, "resolver", name), 30, f"an answer for {name}") == [service.spec.cluster_ip]
        # An unknown name of the cluster's zone is answered NXDOMAIN by CoreDNS itself (never forwarded upstream).
        output = kubectl(cluster, "exec", "-n", ns, "resolver", "--", "/bin/busybox", "nslookup", "-type=a", f"nothing.{ns}.svc.cluster.local", check=False)
        assert "NXDOMAIN" in output.stdout + output.stderr, output
