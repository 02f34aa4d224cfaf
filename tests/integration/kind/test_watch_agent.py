"""The watch agent on real kind clusters (issue 20, items 1-3): nothing typed after `make watch`.

The agent runs as `make watch` runs it, with `hostreach_kind_clusters: all`, direct mode on this Linux host, the
services step, the Services in `default` that carry the test run's own label (so no other test's Services are
touched: with `all` every cluster needs the namespace, and `default` is in every one), a summary file, and a
kubeconfig list of every harness cluster's file (a cluster's file that does not exist yet is skipped, as kubectl skips
it). In order, on one agent:

- a Service created with ready pods behind it: its URL reaches the summary file and answers HTTP 200 from this host;
- a second kind cluster created: the agent follows it (its node container's events) and exposes its Service; deleted
  with kind: the agent tears it down (teardown.yml, its steps only) and its rows leave the summary; made again under
  the same name: followed and exposed again;
- SIGKILL in the middle of a resync: the summary file is whole (valid JSON, no temporary file beside it), and the next
  start completes and has the Service made while it was down;
- SIGTERM: the agent ends within 5 seconds and leaves the Services as they are (still NodePort).
A bad setting fails the agent at start, with expose's message, before it follows anything.
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes.client.exceptions import ApiException

from harness.kind import KindCluster, cluster_down, kind_load, kubeconfig_path, session_cluster
from harness.kind_objects import wait_for
from harness.watch import WatchAgent

from .kind_expose_helpers import Workloads, running_kind_clusters

pytestmark = pytest.mark.kind

SECOND = "hostreach-watch2"
# Distinct from kind's defaults and from every other harness cluster's subnets (test_expose_clusters, teardown_gone).
SECOND_POD_SUBNET = "10.249.0.0/16"
SECOND_SERVICE_SUBNET = "10.115.0.0/20"
RUN_LABEL = "hostreach-watch-run"
SERVICE_TO_URL = 60  # seconds: a generous ceiling for CI; the figure is printed (benchmarks/ measure it properly)


def summary(path: Path) -> list:
    return json.loads(path.read_text()) if path.exists() else []


def reachable_row(path: Path, cluster: str, name: str) -> dict | None:
    """The summary's row of Service default/<name> in `cluster`, once its URL answered (reachable)."""
    return next((r for r in summary(path) if (r["cluster"], r["namespace"], r["service"]) == (cluster, "default", name) and r.get("reachable")), None)


def http_status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as answer:  # a node of the test's own cluster
        return answer.status


@pytest.fixture(scope="module")
def setup(kind_cluster: KindCluster, demo_httpd_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    foreign = [name for name in running_kind_clusters() if not kubeconfig_path(name).is_file()]
    if foreign:
        pytest.skip(f"hostreach_kind_clusters: all would also expose kind clusters the test harness did not make: {', '.join(foreign)}")
    folder = tmp_path_factory.mktemp("watch")
    run = uuid.uuid4().hex[:6]
    work = Workloads(kind_cluster, "default")
    names = {key: f"watch-{run}-{key}" for key in ("web", "late", "web2")}
    work.deployment(names["web"], demo_httpd_image, labels={"app": names["web"]})
    kubeconfigs = sorted({str(kubeconfig_path(n)) for n in running_kind_clusters()} | {str(kubeconfig_path(SECOND))})
    extra_vars = {
        "hostreach_kind_mode": "direct",
        "hostreach_kind_steps": ["services"],
        "hostreach_kind_clusters": "all",
        "hostreach_kind_namespaces": ["default"],
        "hostreach_kind_label_selector": f"{RUN_LABEL}={run}",
        "hostreach_kind_kubeconfig": ":".join(kubeconfigs),
        "hostreach_kind_summary_file": str(folder / "summary.json"),
    }
    agent = WatchAgent(folder / "state", folder / "agent.log")
    try:
        yield {
            "agent": agent,
            "vars": extra_vars,
            "work": work,
            "summary": folder / "summary.json",
            "image": demo_httpd_image,
            "names": names,
            "labels": {RUN_LABEL: run},
        }
    finally:
        agent.stop()
        print(agent.output())
        work.apps.delete_namespaced_deployment(names["web"], "default")
        for name in ("web", "late"):
            with contextlib.suppress(ApiException):
                work.core.delete_namespaced_service(names[name], "default")


def test_a_bad_setting_fails_the_agent_at_start_with_exposes_message(setup: dict) -> None:
    agent: WatchAgent = setup["agent"]
    agent.start({**setup["vars"], "hostreach_kind_reach": "everywhere"})
    assert agent.process.wait(120) == 2
    assert "expose failed, so the agent does not start" in agent.output()
    assert "hostreach_kind_reach" in agent.output() and "following" not in agent.output()


def test_a_new_service_gets_its_url_into_the_summary_and_answers_200(setup: dict) -> None:
    agent, work, path, names = setup["agent"], setup["work"], setup["summary"], setup["names"]
    agent.start(setup["vars"])
    agent.wait_line(r"^\S+ following ")
    wait_for(lambda: work.apps.read_namespaced_deployment(names["web"], "default").status.ready_replicas == 1, 180, "the web pod ready")
    created = time.monotonic()
    work.service(names["web"], {"app": names["web"]}, labels=setup["labels"])
    row = wait_for(lambda: reachable_row(path, "hostreach-test", names["web"]), SERVICE_TO_URL, "the URL in the summary, reachable")
    print(f"Service created -> its URL in the summary, reachable: {time.monotonic() - created:.1f} s")
    assert http_status(row["url"]) == 200
    assert work.read_service(names["web"]).spec.type == "NodePort"
    agent.wait_line(rf"event: Service default/{names['web']} added in cluster hostreach-test")
    agent.wait_line(r"resync cluster hostreach-test \[services\] after: .* -> ok")


@contextlib.contextmanager
def second_cluster_exposed(setup: dict) -> Iterator[None]:
    """The second cluster made (kind, as `kind create cluster` makes it), the demo image loaded, a Deployment and a
    Service of the run: the agent follows it and its URL answers 200; deleted with kind at the end."""
    with session_cluster(SECOND, workers=0, pod_subnet=SECOND_POD_SUBNET, service_subnet=SECOND_SERVICE_SUBNET) as second:
        kind_load(second, setup["image"])
        work, name = Workloads(second, "default"), setup["names"]["web2"]
        work.deployment(name, setup["image"], labels={"app": name})
        work.service(name, {"app": name}, labels=setup["labels"])
        row = wait_for(lambda: reachable_row(setup["summary"], SECOND, name), 180, "the second cluster's URL, reachable")
        assert http_status(row["url"]) == 200
        setup["agent"].wait_line(rf"resync cluster {SECOND} \[services\] after: .* -> ok")
        yield
        cluster_down(SECOND)
        setup["agent"].wait_line(rf"resync cluster {SECOND} \[gone\] after: .* -> ok", timeout=120)


def test_a_second_cluster_is_followed_and_exposed_then_deleted_and_its_rows_leave(setup: dict) -> None:
    with second_cluster_exposed(setup):
        pass
    assert not [r for r in summary(setup["summary"]) if r["cluster"] == SECOND]
    assert reachable_row(setup["summary"], "hostreach-test", setup["names"]["web"])  # the first cluster's rows stay


def test_a_cluster_deleted_and_made_again_under_its_name_is_exposed_again(setup: dict) -> None:
    with second_cluster_exposed(setup):
        assert reachable_row(setup["summary"], SECOND, setup["names"]["web2"])
    assert not [r for r in summary(setup["summary"]) if r["cluster"] == SECOND]


def test_sigkill_mid_resync_leaves_whole_files_and_the_next_start_completes(setup: dict) -> None:
    agent, work, path, names = setup["agent"], setup["work"], setup["summary"], setup["names"]
    work.service(names["late"], {"app": names["web"]}, labels=setup["labels"])
    agent.wait_line(rf"event: Service default/{names['late']} added")
    time.sleep(1.0)  # the resync (a narrowed expose) has begun
    agent.signal(signal.SIGKILL)
    assert isinstance(summary(path), list)
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(".hostreach-kind-")) == []
    agent.start(setup["vars"])
    agent.wait_line(r"resync engine \[start\] after: the first expose -> ok")
    assert reachable_row(path, "hostreach-test", names["late"])


def test_sigterm_ends_it_within_5_seconds_and_leaves_everything_as_it_is(setup: dict) -> None:
    agent, work, names = setup["agent"], setup["work"], setup["names"]
    agent.wait_line(r"^\S+ following ")
    assert agent.signal(signal.SIGTERM) < 5
    assert agent.process.returncode == 0
    assert agent.output().splitlines()[-1].endswith(" stopped")
    assert {work.read_service(names[n]).spec.type for n in ("web", "late")} == {"NodePort"}
