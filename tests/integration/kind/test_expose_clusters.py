"""`ansible-playbook hostreach.kind.expose` for two kind clusters at once: one summary (issue 11, item 4).

The second cluster has a pod and a service subnet of its own; both clusters' node containers are on kind's one
Docker network, which the host routes to (direct mode, Linux). The kubeconfig is the list of both clusters'
files (`a:b`, as $KUBECONFIG takes it), each with its context kind-<name>. In each cluster the test makes, in
namespace `default`, a pod-backed Service and one without ready endpoints, labelled with the test run's own label;
the play selects only those (hostreach_kind_label_selector), so the Services of any other cluster are not touched.

- hostreach_kind_clusters as a list of the two names: one module call per cluster, rows of both in the CLUSTER
  column of one table, one count line, and both in the JSON summary file.
- hostreach_kind_clusters: all: the clusters are found from the node containers' io.x-k8s.kind.cluster label on the
  Docker engine; every running one is exposed (for any other harness cluster of the session that is LISTs and
  nothing selected), and the summary has the rows of both of the test's clusters.
- The second cluster as an unrelated one (issue 18, item 5): with its node paused and silent, as a cluster that is
  stopping, the doctor and expose's node check for the first cluster look at the first cluster's node only, and pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.kind import KindCluster, kind_load, kubeconfig_path, session_cluster
from harness.vm_kind import connector_standin_image

from .kind_expose_helpers import Workloads, run_expose, run_playbook, running_kind_clusters

pytestmark = pytest.mark.kind

SECOND_CLUSTER = "hostreach-expose2"
# Distinct from kind's defaults (the session's cluster) and from tests/integration/harness_kind2's clusters.
SECOND_POD_SUBNET = "10.247.0.0/16"
SECOND_SERVICE_SUBNET = "10.113.0.0/20"
RUN_LABEL = "hostreach-test-run"
STANDIN_IMAGE = "hostreach/connector-standin:kind"
STANDIN_CONTAINER = "hostreach-kind-test-connector"
NODE_CHECK = "Connect to each node's apiserver port"  # the node check connector_container runs (_common check_nodes.yml)


@pytest.fixture(scope="module")
def second_cluster(kind_cluster: KindCluster) -> Iterator[KindCluster]:
    """Beside the session's cluster (so the two run at once); deleted after this module unless it ran before."""
    with session_cluster(SECOND_CLUSTER, workers=0, pod_subnet=SECOND_POD_SUBNET, service_subnet=SECOND_SERVICE_SUBNET) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def two_clusters(kind_cluster: KindCluster, second_cluster: KindCluster, demo_httpd_image: str) -> Iterator[tuple]:
    """(the clusters, the run's label selector, the Service names): in each cluster's `default`, `web` backed by a
    ready pod and `idle` whose selector matches no pod."""
    kind_load(second_cluster, demo_httpd_image)
    run = uuid.uuid4().hex[:6]
    names = {"web": f"expose2-{run}-web", "idle": f"expose2-{run}-idle"}
    labels = {RUN_LABEL: run}
    clusters = [kind_cluster, second_cluster]
    made = [Workloads(cluster, "default") for cluster in clusters]
    try:
        for w in made:
            pods = w.deployment(names["web"], demo_httpd_image, labels={"app": names["web"], **labels})
            w.service(names["web"], pods, labels=labels)
            w.service(names["idle"], {"app": names["idle"]}, labels=labels)
        for w in made:
            w.wait_endpoints(names["web"], ready=1, not_ready=0)
        yield clusters, f"{RUN_LABEL}={run}", names
    finally:
        for w in made:
            w.apps.delete_namespaced_deployment(names["web"], "default")
            for name in names.values():
                w.core.delete_namespaced_service(name, "default")


def expected_rows(clusters: list, names: dict) -> dict:
    """(cluster, namespace/service) -> RESULT, as the table must show it."""
    return {
        **{(c.name, f"default/{names['web']}"): "reachable (HTTP 200)" for c in clusters},
        **{(c.name, f"default/{names['idle']}"): f"no ready endpoints (no pod matches app={names['idle']})" for c in clusters},
    }


def test_two_clusters_listed_by_name_in_one_summary_and_one_json_file(two_clusters: tuple, tmp_path: Path) -> None:
    clusters, selector, names = two_clusters
    summary_file = tmp_path / "summary.json"

    run = run_expose(clusters, ["default"], summary_file, label_selector=selector)

    assert run.returncode == 0, run.failures()
    assert set(run.module_results) == {c.name for c in clusters}  # one module call per cluster
    rows = run.rows()
    assert {(cluster, service): result for cluster, service, _url, result in rows} == expected_rows(clusters, names)
    for cluster in clusters:  # each cluster's URLs are its own node's
        (ip,) = cluster.node_ips.values()
        assert all(url.startswith(f"http://{ip}:") for c, _service, url, _result in rows if c == cluster.name)
    assert clusters[0].node_ips != clusters[1].node_ips
    assert [result for *_rest, result in rows][:2] == ["reachable (HTTP 200)"] * 2  # reachable rows first
    assert run.count_line == "2 reachable, 2 without ready endpoints, 0 unreachable"

    document = json.loads(summary_file.read_text())
    assert {(r["cluster"], r["namespace"], r["service"], r["reachable"], r["diagnosis"]) for r in document} == {
        *((c.name, "default", names["web"], True, "reachable") for c in clusters),
        *((c.name, "default", names["idle"], False, "no ready endpoints") for c in clusters),
    }
    assert {(r["cluster"], r["url"]) for r in document} == {(cluster, url) for cluster, _service, url, _result in rows}


def test_all_clusters_found_on_the_docker_engine_in_one_summary(two_clusters: tuple, tmp_path: Path) -> None:
    clusters, selector, names = two_clusters
    running = running_kind_clusters()
    assert {c.name for c in clusters} <= set(running)
    # `all` exposes every kind cluster on the engine: each needs its context in the kubeconfig. The harness's own
    # clusters have theirs in a file of the harness; a cluster made otherwise is not this test's to touch.
    foreign = [name for name in running if not kubeconfig_path(name).is_file()]
    if foreign:
        pytest.skip(f"hostreach_kind_clusters: all would also expose kind clusters the test harness did not make: {', '.join(foreign)}")
    summary_file = tmp_path / "summary.json"

    run = run_expose(
        clusters,
        ["default"],
        summary_file,
        label_selector=selector,
        clusters="all",
        kubeconfig=":".join(str(kubeconfig_path(name)) for name in running),
    )

    assert run.returncode == 0, run.failures()
    assert sorted(run.module_results) == running  # every running kind cluster, found from its node containers
    rows = run.rows()
    assert {(cluster, service): result for cluster, service, _url, result in rows} == expected_rows(clusters, names)
    assert run.count_line == "2 reachable, 2 without ready endpoints, 0 unreachable"
    assert {r["cluster"] for r in json.loads(summary_file.read_text())} == {c.name for c in clusters}


class _HostEngine:
    """This machine's engine, as harness.vm_kind's image makers take an engine (the docker CLI, without the caller's
    DOCKER_HOST: the engine the playbook asks)."""

    @staticmethod
    def docker(*args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
        return subprocess.run(["docker", *args], input=input, check=check, capture_output=True, env=env)


@contextlib.contextmanager
def stopping(cluster: KindCluster) -> Iterator[None]:
    """The cluster as one that is stopping: its control-plane node container paused, and its apiserver port silent to
    this host (a DROP rule in OUTPUT: a paused container's kernel still completes TCP handshakes, so the pause alone
    leaves the port answering). Both undone afterwards."""
    rule = ["OUTPUT", "-d", cluster.node_ips[cluster.control_plane], "-p", "tcp", "--dport", "6443", "-m", "comment"]
    rule += ["--comment", "hostreach-test-stopping-node", "-j", "DROP"]
    _HostEngine.docker("pause", cluster.control_plane)
    try:
        subprocess.run(["iptables", "-I", *rule], check=True)
        try:
            yield
        finally:
            subprocess.run(["iptables", "-D", *rule], check=True)
    finally:
        _HostEngine.docker("unpause", cluster.control_plane)


def test_doctor_and_expose_check_only_the_runs_cluster_while_another_cluster_is_stopping(two_clusters: tuple) -> None:
    (cluster, other), selector, _names = two_clusters
    settings = {
        "hostreach_kind_cluster": cluster.name,
        "hostreach_kind_kubeconfig": cluster.kubeconfig,
        "hostreach_kind_namespaces": ["default"],
        "hostreach_kind_label_selector": selector,
    }
    # expose's node check runs in connector mode: the connector container (a stand-in that carries nothing; this
    # host routes to the kind network itself) and the check, without the host side and the VM's firewall.
    connector = {
        "hostreach_kind_mode": "connector",
        "hostreach_kind_steps": ["container"],
        "hostreach_kind_vm_firewall": False,
        "connector_container_name": STANDIN_CONTAINER,
        "connector_container_image": connector_standin_image(_HostEngine, STANDIN_IMAGE),
        "connector_container_pull": "never",
    }
    try:
        with stopping(other):
            doctor = run_playbook("doctor", {**settings, "hostreach_kind_mode": "direct", "hostreach_kind_steps": ["services"]})
            expose = run_playbook("expose", {**settings, **connector})
    finally:
        _HostEngine.docker("rm", "-f", STANDIN_CONTAINER, check=False)

    assert doctor.returncode == 0, doctor.findings
    nodes = [(f["link"], f["status"]) for f in doctor.findings if f["link"].startswith("kind node")]
    assert nodes == [(f"kind node {cluster.control_plane}", "ok")], doctor.findings
    assert not [f for f in doctor.findings if f["status"] == "broken"], doctor.findings
    assert expose.returncode == 0, expose.failures()
    (check,) = [task["hosts"]["localhost"] for play in expose.report["plays"] for task in play["tasks"] if task["task"]["name"].endswith(NODE_CHECK)]
    assert [item["item"]["name"] for item in check["results"] if not item.get("skipped")] == [cluster.control_plane], check
