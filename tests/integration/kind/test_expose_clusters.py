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
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.kind import KindCluster, kind_load, kubeconfig_path, session_cluster
from kind_expose_helpers import Workloads, run_expose, running_kind_clusters

pytestmark = pytest.mark.kind

SECOND_CLUSTER = "hostreach-expose2"
# Distinct from kind's defaults (the session's cluster) and from tests/integration/harness_kind2's clusters.
SECOND_POD_SUBNET = "10.247.0.0/16"
SECOND_SERVICE_SUBNET = "10.113.0.0/20"
RUN_LABEL = "hostreach-test-run"


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
