"""Proof that tier 2 makes real multi-node kind clusters (harness/kind.sh up --workers 1): every node has its own
pod range (Node spec.podCIDR, a /24 of the pod subnet), and the node image's hostreach-cni service routes each
range to its node, as kindnet does in stock kind."""

from __future__ import annotations

import json
import uuid

import pytest
from kubernetes import client

from harness.kind import DEMO_HTTPD_INDEX, DEMO_HTTPD_PORT, KindCluster
from harness.kind_objects import cluster_ip_service, demo_pod, http_get_in_pod, inside, kubectl, namespace, node_exec, node_routes, wait_for

pytestmark = pytest.mark.kind

DEFAULT_POD_SUBNET = "10.244.0.0/16"


def test_both_nodes_ready_each_with_its_own_pod_range(two_node_cluster: KindCluster) -> None:
    cluster = two_node_cluster
    nodes = {node.metadata.name: node for node in cluster.core_v1().list_node().items}
    assert sorted(nodes) == [cluster.control_plane, f"{cluster.name}-worker"]
    for name, node in nodes.items():
        assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions), f"node {name} is not Ready"
    cidrs = {name: node.spec.pod_cidr for name, node in nodes.items()}
    assert all(cidrs.values()), f"a node has no podCIDR: {cidrs}"
    assert len(set(cidrs.values())) == 2, f"the nodes share a pod range: {cidrs}"
    for name, cidr in cidrs.items():
        assert cidr.endswith("/24") and inside(cidr, DEFAULT_POD_SUBNET), f"{name}: {cidr} is not a /24 of {DEFAULT_POD_SUBNET}"
        # hostreach-cni wrote the node's bridge CNI config for exactly its own range.
        conflist = json.loads(node_exec(name, "cat", "/etc/cni/net.d/10-hostreach-bridge.conflist").stdout)
        assert conflist["plugins"][0]["ipam"]["ranges"] == [[{"subnet": cidr}]], conflist
    assert cluster.pod_cidrs == cidrs


def test_pod_on_worker_gets_worker_range_and_answers_across_nodes(two_node_cluster: KindCluster, two_node_image: str) -> None:
    cluster = two_node_cluster
    core = cluster.core_v1()
    (worker,) = cluster.workers
    with namespace(cluster, "kind2-pods") as ns:
        labels = {"app": "web"}
        web = demo_pod(core, ns, "web-worker", two_node_image, node=worker, labels=labels)
        assert web.spec.node_name == worker
        assert inside(web.status.pod_ip, cluster.pod_cidrs[worker]), f"{web.status.pod_ip} is outside {worker}'s range {cluster.pod_cidrs[worker]}"

        # From the control-plane node container: routed to the worker by hostreach-cni's route.
        url = f"http://{web.status.pod_ip}:{DEMO_HTTPD_PORT}/"
        fetched = wait_for(lambda: node_exec(cluster.control_plane, "curl", "-fsS", "-m", "5", url).stdout or None, 30, f"{url} from {cluster.control_plane}")
        assert fetched == DEMO_HTTPD_INDEX

        # Pod to pod across nodes keeps the client pod's address (only traffic leaving the pod subnet is masqueraded).
        client_pod = demo_pod(core, ns, "client-cp", two_node_image, node=cluster.control_plane)
        assert inside(client_pod.status.pod_ip, cluster.pod_cidrs[cluster.control_plane])
        response = http_get_in_pod(cluster, ns, "client-cp", web.status.pod_ip, DEMO_HTTPD_PORT)
        assert response.startswith("HTTP/1.") and " 200 " in response.splitlines()[0], response
        assert response.endswith(DEMO_HTTPD_INDEX)
        log = kubectl(cluster, "logs", "-n", ns, "web-worker").stdout
        assert f"{client_pod.status.pod_ip}]:" in log or f"{client_pod.status.pod_ip}:" in log, log

        # A ClusterIP Service with an endpoint on each node (kube-proxy's random pick, the iptables `statistic` match).
        demo_pod(core, ns, "web-cp", two_node_image, node=cluster.control_plane, labels=labels)
        service = cluster_ip_service(core, ns, "web", labels)
        wait_for(lambda: len(endpoint_ips(cluster, ns, "web")) == 2, 60, "two ready endpoints of Service web")
        for _attempt in range(6):
            response = wait_for(lambda: http_get_in_pod(cluster, ns, "client-cp", service.spec.cluster_ip, 80) or None, 30, "Service web")
            assert response.endswith(DEMO_HTTPD_INDEX), response


def endpoint_ips(cluster: KindCluster, ns: str, service: str) -> set[str]:
    slices = client.DiscoveryV1Api(cluster.api_client()).list_namespaced_endpoint_slice(ns, label_selector=f"kubernetes.io/service-name={service}")
    return {address for item in slices.items for endpoint in item.endpoints or [] if endpoint.conditions.ready for address in endpoint.addresses}


def test_routes_follow_the_nodes(two_node_cluster: KindCluster) -> None:
    cluster = two_node_cluster
    (worker,) = cluster.workers
    cp_ip, worker_ip = cluster.node_ips[cluster.control_plane], cluster.node_ips[worker]
    # Each node routes the other's pod range via the other's address, and only that.
    assert node_routes(cluster.control_plane) == {cluster.pod_cidrs[worker]: worker_ip}
    assert node_routes(worker) == {cluster.pod_cidrs[cluster.control_plane]: cp_ip}

    # A stand-in Node object (no kubelet behind it) whose address is the control plane's: kube-controller-manager
    # gives it a pod range, the worker routes that range via the control plane, the control plane (its own
    # address) does not; once the Node goes, so does the route.
    core = cluster.core_v1()
    name = f"hostreach-standin-{uuid.uuid4().hex[:6]}"
    node = client.V1Node(
        metadata=client.V1ObjectMeta(name=name, labels={"hostreach.kind/stand-in": "true"}),
        spec=client.V1NodeSpec(taints=[client.V1Taint(key="hostreach.kind/stand-in", effect="NoExecute")]),
        status=client.V1NodeStatus(addresses=[client.V1NodeAddress(type="InternalIP", address=cp_ip)]),
    )
    core.create_node(node)
    try:
        cidr = wait_for(lambda: core.read_node(name).spec.pod_cidr, 60, f"a podCIDR for Node {name}")
        assert inside(cidr, DEFAULT_POD_SUBNET) and cidr not in cluster.pod_cidrs.values()
        wait_for(lambda: node_routes(worker).get(cidr) == cp_ip, 30, f"the route {cidr} via {cp_ip} on {worker}")
        assert cidr not in node_routes(cluster.control_plane)
    finally:
        core.delete_node(name)
    wait_for(lambda: cidr not in node_routes(worker), 30, f"the route {cidr} to go from {worker}")
    assert node_routes(worker) == {cluster.pod_cidrs[cluster.control_plane]: cp_ip}
