"""Helpers for the tests of `ansible-playbook hostreach.kind.expose` on the real kind cluster (issue 11).

Workloads as users have them: Deployments of the demo-httpd image (`kind load`ed, never pulled) with a readiness
probe, and ClusterIP Services in front of them or of nothing. The playbook runs as a user runs it
(`ansible-playbook hostreach.kind.expose`, direct mode, steps [services]) with the ansible.posix.json callback, so
a test reads what the user saw (the summary table: the debug task's lines) and what the module returned (its
`services` and `probes`, `waited` included) from one run.

Every address the tests reach is a node container of a cluster the harness made for them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client

from harness.kind import DEMO_HTTPD_PORT, KindCluster
from harness.kind_objects import wait_for
from harness.versions import binary_dirs
from tests.ansible_runner import BIN, TIMEOUT, ansible_env

KUBECTL = binary_dirs()["k8s"] / "kubectl"
ANNOTATION = "hostreach.kind/original"
NO_READY_ENDPOINTS = "no ready endpoints"
COUNT_LINE = re.compile(r"\d+ reachable, \d+ without ready endpoints, \d+ unreachable")
PROBE_SETTLE = 10.0  # kind_nodeport's one deadline for the URLs of the Services it changed


def http_readiness(path: str = "/", port: int = DEMO_HTTPD_PORT, period: int = 1) -> client.V1Probe:
    return client.V1Probe(http_get=client.V1HTTPGetAction(path=path, port=port), period_seconds=period)


def httpd_pod_spec(image: str, readiness: client.V1Probe | None = None) -> client.V1PodSpec:
    """demo-httpd serving /www on DEMO_HTTPD_PORT; ready when GET / answers, unless `readiness` says otherwise."""
    container = client.V1Container(
        name="httpd",
        image=image,
        image_pull_policy="Never",
        ports=[client.V1ContainerPort(container_port=DEMO_HTTPD_PORT, name="http")],
        readiness_probe=readiness or http_readiness(),
    )
    return client.V1PodSpec(containers=[container], termination_grace_period_seconds=0)


@dataclass
class Workloads:
    """One namespace of one cluster: what the test creates there, with the admin client."""

    cluster: KindCluster
    namespace: str

    def __post_init__(self) -> None:
        api = self.cluster.api_client()
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.discovery = client.DiscoveryV1Api(api)

    def create_namespace(self) -> None:
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=self.namespace)))

    def delete_namespace(self) -> None:
        self.core.delete_namespace(self.namespace)

    def deployment(self, name: str, image: str, replicas: int = 1, readiness: client.V1Probe | None = None, labels: dict | None = None) -> dict:
        """A Deployment of demo-httpd; its pods carry `labels` (default app=<name>). Returns the pod labels."""
        labels = labels or {"app": name}
        template = client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=labels), spec=httpd_pod_spec(image, readiness))
        spec = client.V1DeploymentSpec(replicas=replicas, selector=client.V1LabelSelector(match_labels=labels), template=template)
        self.apps.create_namespaced_deployment(self.namespace, client.V1Deployment(metadata=client.V1ObjectMeta(name=name, labels=labels), spec=spec))
        return labels

    def pod(self, name: str, image: str, readiness: client.V1Probe | None = None, labels: dict | None = None) -> dict:
        labels = labels or {"app": name}
        body = client.V1Pod(metadata=client.V1ObjectMeta(name=name, labels=labels), spec=httpd_pod_spec(image, readiness))
        self.core.create_namespaced_pod(self.namespace, body)
        return labels

    def service(
        self, name: str, selector: dict, target_port: int | str = DEMO_HTTPD_PORT, port: int = 80, type_: str = "ClusterIP", labels: dict | None = None
    ) -> None:
        """A Service with one TCP port named http (an evidently HTTP port: the module gives it an http:// URL)."""
        ports = [client.V1ServicePort(name="http", port=port, target_port=target_port)]
        body = client.V1Service(metadata=client.V1ObjectMeta(name=name, labels=labels), spec=client.V1ServiceSpec(type=type_, selector=selector, ports=ports))
        self.core.create_namespaced_service(self.namespace, body)

    def endpoints(self, service: str) -> tuple:
        """(ready, not ready) endpoints of the Service, over its EndpointSlices, as the EndpointSlice controller has them now."""
        slices = self.discovery.list_namespaced_endpoint_slice(self.namespace, label_selector=f"kubernetes.io/service-name={service}").items
        endpoints = [e for s in slices for e in s.endpoints or []]
        ready = sum(1 for e in endpoints if e.conditions is None or e.conditions.ready is not False)
        return ready, len(endpoints) - ready

    def wait_endpoints(self, service: str, ready: int, not_ready: int, timeout: float = 180) -> None:
        what = f"{self.namespace}/{service} to have {ready} ready and {not_ready} not ready endpoints"
        wait_for(lambda: self.endpoints(service) == (ready, not_ready), timeout, what)

    def read_service(self, name: str) -> client.V1Service:
        return self.core.read_namespaced_service(name, self.namespace)

    def kubectl(self, *args: str) -> str:
        command = [str(KUBECTL), "--kubeconfig", self.cluster.kubeconfig, "--context", self.cluster.context, "-n", self.namespace, *args]
        return subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, timeout=60).stdout


@dataclass
class ExposeRun:
    """One `ansible-playbook hostreach.kind.expose`: its exit status and the ansible.posix.json report."""

    returncode: int
    report: dict
    stderr: str

    def _results(self) -> list:
        return [task["hosts"]["localhost"] for play in self.report["plays"] for task in play["tasks"] if "localhost" in task["hosts"]]

    @property
    def stats(self) -> dict:
        return self.report["stats"]["localhost"]

    @property
    def module_results(self) -> dict:
        """Cluster name -> kind_nodeport's result for it (the role's task loops over the clusters)."""
        for result in self._results():
            items = result.get("results") or []
            if items and all("services" in item and "nodes" in item for item in items):
                return {item["item"]: item for item in items}
        raise AssertionError(f"no kind_nodeport result in the report; failures: {self.failures()}")

    def module(self, cluster: KindCluster) -> dict:
        return self.module_results[cluster.name]

    def probes(self, cluster: KindCluster) -> dict:
        """URL -> the module's probe result."""
        return {probe["url"]: probe for probe in self.module(cluster)["probes"]}

    def service(self, cluster: KindCluster, namespace: str, name: str) -> dict:
        (report,) = [s for s in self.module(cluster)["services"] if (s["namespace"], s["name"]) == (namespace, name)]
        return report

    @property
    def table(self) -> list:
        """The summary as printed: the lines of the debug task whose first line is the table header."""
        for result in self._results():
            msg = result.get("msg")
            if isinstance(msg, list) and msg and msg[0].startswith("CLUSTER"):
                return msg
        raise AssertionError(f"no summary table in the report; failures: {self.failures()}")

    def rows(self) -> list:
        """The table's rows as [cluster, namespace/service, url, result] (split on runs of two or more spaces)."""
        header, *rest = self.table
        columns = [header.index(name) for name in ("CLUSTER", "SERVICE", "URL", "RESULT")]
        rows = []
        for line in rest:
            if COUNT_LINE.match(line):
                break  # the hints follow the count line
            rows.append([line[a:b].strip() for a, b in zip(columns, [*columns[1:], None], strict=True)])
        return rows

    @property
    def count_line(self) -> str:
        (line,) = [line for line in self.table if COUNT_LINE.match(line)]
        return line

    def failures(self) -> list:
        return [r.get("msg") for r in self._results() if r.get("failed")] + [self.stderr[-2000:]]

    @property
    def findings(self) -> list:
        """The doctor's findings ({link, status, detail, fix}) as its last set_fact left them."""
        noted = [r["ansible_facts"]["doctor_findings"] for r in self._results() if "doctor_findings" in r.get("ansible_facts", {})]
        assert noted, f"no doctor findings in the report; failures: {self.failures()}"
        return noted[-1]


def run_expose(kind_clusters: list, namespaces: list, summary_file: Path | None = None, **extra) -> ExposeRun:
    """`ansible-playbook hostreach.kind.expose` as a user on Linux runs it (direct mode, only the services step) for
    these clusters: one cluster by name, several as hostreach_kind_clusters with a kubeconfig list that merges
    theirs. `extra` are more hostreach_kind_* variables (hostreach_kind_clusters: all, a label selector)."""
    extra_vars = {
        "hostreach_kind_mode": "direct",
        "hostreach_kind_steps": ["services"],
        "hostreach_kind_namespaces": namespaces,
        "hostreach_kind_kubeconfig": ":".join(c.kubeconfig for c in kind_clusters),
    }
    if len(kind_clusters) == 1:
        extra_vars["hostreach_kind_cluster"] = kind_clusters[0].name
    else:
        extra_vars["hostreach_kind_clusters"] = [c.name for c in kind_clusters]
    if summary_file is not None:
        extra_vars["hostreach_kind_summary_file"] = str(summary_file)
    extra_vars.update({f"hostreach_kind_{name}": value for name, value in extra.items()})
    return run_playbook("expose", extra_vars)


def run_playbook(name: str, extra_vars: dict) -> ExposeRun:
    """`ansible-playbook hostreach.kind.<name> -e <extra_vars>` with the JSON callback."""
    command = [str(BIN / "ansible-playbook"), f"hostreach.kind.{name}", "-e", json.dumps(extra_vars)]
    done = subprocess.run(command, env=ansible_env(), capture_output=True, text=True, check=False, timeout=TIMEOUT)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        pytest.fail(f"ansible-playbook printed no JSON (rc={done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return ExposeRun(done.returncode, report, done.stderr)


def running_kind_clusters() -> list:
    """The kind clusters with a running node container on the Docker engine, as hostreach_kind_clusters: all finds them."""
    out = subprocess.run(
        ["docker", "ps", "--filter", "label=io.x-k8s.kind.cluster", "--format", '{{.Label "io.x-k8s.kind.cluster"}}'],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "DOCKER_HOST"},  # the engine the playbook asks (ansible_env)
    ).stdout
    return sorted(set(out.split()))
