"""teardown.yml after `kind delete cluster` (issue 20, item 5), on a real kind cluster of the test's own, direct mode on
this Linux host: expose in reach nodeport, then both (NodePorts and the cluster's ranges routed through its node, proto
119); the cluster deleted with kind itself (its node containers and its context in the kubeconfig go); then teardown in
reach nodeport, routes and both. Each exits 0 and reports every step; the Services step says the cluster is gone; the
routes go by the record expose left (in a state folder of the test's own, $XDG_STATE_HOME), and afterwards this host's
proto 119 routes and the records are as before expose. DNS: this host has no systemd-resolved, so the DNS step reports
that nothing is there to undo (the resolved side is unit-tested, tests/unit/modules/test_absent_after_the_cluster_is_gone.py).

One cluster lifecycle for the three reaches (a kind cluster costs a minute or more here): nodeport's teardown runs first
and leaves the routes (not its step), routes' removes them, both's finds nothing left to do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils._host_routes import parse_ip_json
from kubernetes import client

from harness.kind import KindCluster, session_cluster
from harness.kind_objects import cluster_ip_service
from harness.versions import binary_dirs
from tests.ansible_runner import playbook

pytestmark = pytest.mark.kind

CLUSTER = "hostreach-gone"
# Distinct from kind's defaults (the session's cluster), from test_expose_clusters' second cluster and harness_kind2's.
POD_SUBNET = "10.248.0.0/16"
SERVICE_SUBNET = "10.114.0.0/20"
STEPS = ("Restore the Services", "Undo the resolving of the clusters' Service names", "Remove the routes to the clusters' ranges")


def proto_119() -> set:
    out = subprocess.run(["ip", "-j", "route", "show"], capture_output=True, text=True, check=True).stdout
    return {(str(r.network), r.gateway) for r in parse_ip_json(out) if r.protocol == "119"}


@pytest.fixture(scope="module")
def cluster(kind_cluster: KindCluster) -> Iterator[KindCluster]:
    """Beside the session's cluster; the test deletes it (kind.sh down afterwards removes what the harness keeps)."""
    with session_cluster(CLUSTER, workers=0, pod_subnet=POD_SUBNET, service_subnet=SERVICE_SUBNET) as made:
        yield made


def test_teardown_after_kind_delete_cluster_in_every_reach(cluster: KindCluster, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"  # the user's kubeconfig, which kind delete cluster edits
    shutil.copy(cluster.kubeconfig, kubeconfig)
    state = tmp_path / "state"
    records = state / "hostreach-kind"
    env = {"XDG_STATE_HOME": str(state)}
    before = proto_119()
    settings = {
        "hostreach_kind_mode": "direct",
        "hostreach_kind_steps": ["services"],
        "hostreach_kind_cluster": cluster.name,
        "hostreach_kind_kubeconfig": str(kubeconfig),
        "hostreach_kind_namespaces": ["gone"],
    }

    def run(play: str, reach: str) -> subprocess.CompletedProcess:
        done = playbook(f"hostreach.kind.{play}", {**settings, "hostreach_kind_reach": reach}, env=env)
        assert done.returncode == 0, f"{play} {reach}:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
        return done

    core = cluster.core_v1()  # a namespace of the test's own: the cluster goes with everything in it
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="gone")))
    cluster_ip_service(core, "gone", "web", {"app": "web"})  # no pod: it need not answer to be exposed
    run("expose", "nodeport")
    assert core.read_namespaced_service("web", "gone").spec.type == "NodePort"
    run("expose", "both")
    (node,) = cluster.node_ips.values()
    made = proto_119() - before
    assert made == {(SERVICE_SUBNET, node), (cluster.pod_cidrs[cluster.control_plane], node)}
    assert (records / "routes" / f"{cluster.name}.json").is_file()

    docker_env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    kind = binary_dirs()["kind"] / "kind"
    subprocess.run([str(kind), "delete", "cluster", "--name", cluster.name, "--kubeconfig", str(kubeconfig)], check=True, env=docker_env)
    assert f"kind-{cluster.name}" not in kubeconfig.read_text()

    gone = f"Cluster {cluster.name} is gone"
    torn = run("teardown", "nodeport")
    assert f"{gone} (kubeconfig {kubeconfig} has no context 'kind-{cluster.name}'" in torn.stdout, torn.stdout[-6000:]
    assert "skipped." in torn.stdout and proto_119() - before == made  # the routes are not this reach's step

    torn = run("teardown", "routes")
    for step in STEPS:
        assert f"TASK [{step}]" in torn.stdout, step
    assert f"{gone} (its context is not in the kubeconfig): the routes of the record expose left go: " in torn.stdout
    assert proto_119() == before
    assert not (records / "routes" / f"{cluster.name}.json").exists() and not (records / "dns").exists()

    torn = run("teardown", "both")
    for step in STEPS:
        assert f"TASK [{step}]" in torn.stdout, step
    assert "no route of the record expose left is in place" in torn.stdout
    assert "changed=0" in torn.stdout.split("PLAY RECAP")[-1] and proto_119() == before
    assert "1 host: 1 ok" in torn.stdout, torn.stdout[-3000:]  # the closing summary
