"""kind_cluster_routes on real kind clusters (Linux host routes): ClusterIPs and Pod IPs open from this host with every
Service left exactly as it is.

Before any packet goes to a ClusterIP or a Pod IP, `routed_through` checks that this host's route to it goes through a
node of the test's own cluster: without the route, such an address would leave the machine by its default route.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils._host_routes import covering, parse_ip_json

from harness.kind import DEMO_HTTPD_INDEX, DEMO_HTTPD_PORT, KindCluster
from harness.kind_objects import cluster_ip_service, demo_pod, http_get_when_served, namespace
from tests.ansible_runner import adhoc, playbook

from .kind_expose_helpers import run_playbook

pytestmark = pytest.mark.kind

PROTO = "119"


def host_routes() -> list:
    return parse_ip_json(subprocess.run(["ip", "-j", "route", "show"], capture_output=True, text=True, check=True).stdout)


def ours(cluster: KindCluster) -> set:
    """This module's routes (proto 119) through the cluster's nodes."""
    ips = set(cluster.node_ips.values())
    return {(str(r.network), r.gateway) for r in host_routes() if r.protocol == PROTO and r.gateway in ips}


def routed_through(cluster: KindCluster, address: str) -> None:
    route = covering(host_routes(), address)
    assert route is not None and route.gateway in cluster.node_ips.values(), f"{address} is not routed through a node of {cluster.name}: {route}"


def routes(cluster: KindCluster, check: bool = False, **options) -> dict:
    return adhoc("kind_cluster_routes", {"cluster": cluster.name, "kubeconfig": cluster.kubeconfig, **options}, check=check, diff=True)


@pytest.fixture(scope="module")
def web(two_node_cluster: KindCluster, two_node_image: str):
    """A ClusterIP Service `web` backed by one demo pod on each node of the two-node cluster."""
    cluster = two_node_cluster
    core = cluster.core_v1()
    with namespace(cluster, "routes") as ns:
        labels = {"app": "web"}
        pods = [demo_pod(core, ns, f"web-{i}", two_node_image, node=name, labels=labels) for i, name in enumerate([cluster.control_plane, *cluster.workers])]
        service = cluster_ip_service(core, ns, "web", labels)
        yield ns, service, pods
    routes(cluster, state="absent")


def test_check_mode_plans_the_routes_and_changes_nothing(two_node_cluster: KindCluster, web) -> None:
    cluster = two_node_cluster
    before = host_routes()
    result = routes(cluster, check=True)
    assert result["changed"] is True and not result.get("failed"), result.get("msg")
    (worker,) = cluster.workers
    assert sorted(result["added"]) == sorted(
        [f"10.96.0.0/16 via {cluster.node_ips[cluster.control_plane]}"]
        + [f"{cluster.pod_cidrs[n]} via {cluster.node_ips[n]}" for n in (cluster.control_plane, worker)]
    )
    assert result["service_cidrs"] == ["10.96.0.0/16"] and result["service_cidrs_source"] == "the ServiceCIDR objects"
    assert host_routes() == before


def test_a_clusterip_service_left_as_it_is_answers_at_its_clusterip_and_each_pod_at_its_ip(two_node_cluster: KindCluster, web) -> None:
    cluster = two_node_cluster
    ns, service, pods = web
    rv = cluster.core_v1().read_namespaced_service("web", ns).metadata.resource_version
    result = routes(cluster)
    assert result["changed"] is True and not result.get("failed"), result.get("msg")
    assert "https://10.96.0.1:443" in result["urls"]  # the ClusterIP URLs of namespace default: the apiserver's own Service
    routed_through(cluster, service.spec.cluster_ip)
    assert http_get_when_served(f"http://{service.spec.cluster_ip}:80/") == DEMO_HTTPD_INDEX
    for pod in pods:  # one on the control plane, one on the worker: each range through its own node
        route = covering(host_routes(), pod.status.pod_ip)
        assert route.gateway == cluster.node_ips[pod.spec.node_name], (pod.spec.node_name, route)
        routed_through(cluster, pod.status.pod_ip)
        assert http_get_when_served(f"http://{pod.status.pod_ip}:{DEMO_HTTPD_PORT}/") == DEMO_HTTPD_INDEX
    assert cluster.core_v1().read_namespaced_service("web", ns).metadata.resource_version == rv
    assert routes(cluster)["changed"] is False


def test_a_range_that_overlaps_a_route_of_the_host_is_refused_before_any_change(two_node_cluster: KindCluster, web) -> None:
    cluster = two_node_cluster
    routes(cluster, state="absent")
    (worker,) = cluster.workers
    half = str(list(ipaddress.ip_network(cluster.pod_cidrs[worker]).subnets())[1])
    subprocess.run(["ip", "route", "add", "unreachable", half], check=True)  # stands for a VPN's route; nothing can be sent on it
    try:
        result = routes(cluster)
        assert result["failed"] is True
        assert f"the pod range {cluster.pod_cidrs[worker]} of cluster {cluster.name} overlaps the route {half}" in result["msg"]
        assert result["msg"].endswith("nothing was changed") and ours(cluster) == set()
    finally:
        subprocess.run(["ip", "route", "del", "unreachable", half], check=True)


def test_absent_removes_exactly_the_routes_it_added(two_node_cluster: KindCluster, web) -> None:
    cluster = two_node_cluster
    routes(cluster)
    mine = ("10.250.9.0/24", cluster.node_ips[cluster.control_plane])  # a route the test adds itself, through a node
    subprocess.run(["ip", "route", "add", mine[0], "via", mine[1]], check=True)
    try:
        removed = routes(cluster, state="absent")
        assert removed["changed"] is True and len(removed["removed"]) == 3
        assert ours(cluster) == set()
        assert (mine[0], mine[1]) in {(str(r.network), r.gateway) for r in host_routes()}
        assert routes(cluster, state="absent")["changed"] is False
    finally:
        subprocess.run(["ip", "route", "del", mine[0], "via", mine[1]], check=True)


def test_a_second_cluster_with_the_same_default_ranges_is_refused_one_with_its_own_works_beside(
    two_node_cluster: KindCluster, kind_cluster: KindCluster, subnets_cluster: KindCluster, subnets_image: str, web
) -> None:
    routes(two_node_cluster)
    refused = routes(kind_cluster)  # kind's defaults again: 10.244.0.0/16, 10.96.0.0/16
    assert refused["failed"] is True
    assert f"of cluster {kind_cluster.name} overlaps 10.96.0.0/16, routed via {two_node_cluster.node_ips[two_node_cluster.control_plane]}" in refused["msg"]
    assert f"for cluster {two_node_cluster.name}" in refused["msg"] and "networking.podSubnet and networking.serviceSubnet" in refused["msg"]
    assert ours(kind_cluster) == set()
    beside = routes(subnets_cluster)
    try:
        assert beside["changed"] is True and not beside.get("failed"), beside.get("msg")
        core = subnets_cluster.core_v1()
        with namespace(subnets_cluster, "routes-beside") as ns:
            demo_pod(core, ns, "web", subnets_image, labels={"app": "web"})
            service = cluster_ip_service(core, ns, "web", {"app": "web"})
            routed_through(subnets_cluster, service.spec.cluster_ip)
            assert http_get_when_served(f"http://{service.spec.cluster_ip}:80/") == DEMO_HTTPD_INDEX
    finally:
        routes(subnets_cluster, state="absent")


def test_expose_with_reach_routes_patches_nothing_and_probes_the_clusterip(two_node_cluster: KindCluster, web, tmp_path) -> None:
    cluster = two_node_cluster
    ns, service, _pods = web
    rv = cluster.core_v1().read_namespaced_service("web", ns).metadata.resource_version
    settings = {
        "hostreach_kind_mode": "direct",
        "hostreach_kind_steps": ["services"],
        "hostreach_kind_reach": "routes",
        "hostreach_kind_cluster": cluster.name,
        "hostreach_kind_kubeconfig": cluster.kubeconfig,
        "hostreach_kind_namespaces": [ns],
        "hostreach_kind_summary_file": str(tmp_path / "summary.json"),
    }
    done = playbook("hostreach.kind.expose", settings)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = json.loads((tmp_path / "summary.json").read_text())
    assert [(r["service"], r["url"], r["diagnosis"], r["status"]) for r in rows] == [("web", f"http://{service.spec.cluster_ip}:80", "reachable", 200)]
    assert cluster.core_v1().read_namespaced_service("web", ns).metadata.resource_version == rv
    assert len(ours(cluster)) == 3
    # The doctor with every kind cluster (all): of this two-node cluster, only the control plane answers on 6443 and
    # only it is looked at, never the worker (all finds clusters by every node container's label).
    doctor = run_playbook("doctor", {**settings, "hostreach_kind_cluster": "kind", "hostreach_kind_clusters": "all", "doctor_fail_on_broken": False})
    nodes = [f["link"] for f in doctor.findings if f["link"].startswith("kind node ")]
    assert f"kind node {cluster.name}-control-plane" in nodes, doctor.findings
    assert all(link.endswith("-control-plane") for link in nodes), doctor.findings
    torn = playbook("hostreach.kind.teardown", settings)
    assert torn.returncode == 0, torn.stdout + torn.stderr
    assert ours(cluster) == set()
    assert cluster.core_v1().read_namespaced_service("web", ns).metadata.resource_version == rv
