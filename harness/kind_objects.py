"""Objects in the kind clusters of tier 2 for tests: namespaces, demo pods, Services, commands in nodes and pods.

Every address these tests reach belongs to a node container the harness made for them, or to a pod or
Service inside such a cluster.
"""

from __future__ import annotations

import contextlib
import ipaddress
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client

from .kind import DEMO_HTTPD_PORT, KindCluster
from .versions import binary_dirs

KUBECTL = binary_dirs()["k8s"] / "kubectl"
# hostreach-cni marks the routes it keeps with this protocol number (harness/kind-node/hostreach-cni).
ROUTE_PROTO = "164"


def wait_for(check, timeout: float, what: str, interval: float = 1.0):
    """check()'s first truthy value; the test fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def kubectl(cluster: KindCluster, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(KUBECTL), "--kubeconfig", cluster.kubeconfig, "--context", cluster.context, *args], check=check, capture_output=True, text=True)


def node_exec(container: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A command inside a node container (`docker exec`)."""
    return subprocess.run(["docker", "exec", container, *args], check=False, capture_output=True, text=True)


def node_routes(container: str) -> dict[str, str]:
    """The routes hostreach-cni keeps in a node: destination CIDR -> gateway."""
    lines = node_exec(container, "ip", "-4", "route", "show", "proto", ROUTE_PROTO).stdout.splitlines()
    return {fields[0]: fields[2] for fields in (line.split() for line in lines) if len(fields) >= 3 and fields[1] == "via"}


@contextlib.contextmanager
def namespace(cluster: KindCluster, prefix: str) -> Iterator[str]:
    core = cluster.core_v1()
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    # Pods are admitted only once the controller manager has made the namespace's default service account.
    wait_for(lambda: core.list_namespaced_service_account(name, field_selector="metadata.name=default").items, 60, f"serviceaccount {name}/default")
    try:
        yield name
    finally:
        core.delete_namespace(name)


def demo_pod(core: client.CoreV1Api, ns: str, name: str, image: str, node: str | None = None, labels: dict[str, str] | None = None) -> client.V1Pod:
    """A demo-httpd pod (the image `kind load` put on the nodes), on `node` when given (nodeSelector, through the
    scheduler); Ready."""
    container = client.V1Container(
        name="httpd",
        image=image,
        image_pull_policy="Never",
        # -v: one log line per request, with the client's address.
        args=["-v"],
        ports=[client.V1ContainerPort(container_port=DEMO_HTTPD_PORT)],
        readiness_probe=client.V1Probe(http_get=client.V1HTTPGetAction(path="/", port=DEMO_HTTPD_PORT), period_seconds=1),
    )
    spec = client.V1PodSpec(
        containers=[container],
        node_selector={"kubernetes.io/hostname": node} if node else None,
        # A cluster with workers keeps its control plane tainted (kind lifts the taint only on a single node).
        tolerations=[client.V1Toleration(key="node-role.kubernetes.io/control-plane", operator="Exists", effect="NoSchedule")],
    )
    core.create_namespaced_pod(ns, client.V1Pod(metadata=client.V1ObjectMeta(name=name, labels=labels or {"app": name}), spec=spec))

    def ready():
        pod = core.read_namespaced_pod(name, ns)
        return pod if any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []) else None

    return wait_for(ready, 120, f"pod {ns}/{name} to be Ready")


def cluster_ip_service(core: client.CoreV1Api, ns: str, name: str, selector: dict[str, str]) -> client.V1Service:
    port = client.V1ServicePort(name="http", port=80, target_port=DEMO_HTTPD_PORT)
    return core.create_namespaced_service(
        ns, client.V1Service(metadata=client.V1ObjectMeta(name=name), spec=client.V1ServiceSpec(selector=selector, ports=[port]))
    )


def http_get_when_served(url: str, timeout: float = 30.0) -> str:
    """The body of an HTTP GET of `url` (a ClusterIP or Pod IP URL); a refused connection is retried until `timeout`.

    A Service created a moment ago is refused at its ClusterIP until kube-proxy has its ready endpoints (it REJECTs a
    Service without them); that is the cluster catching up, not the route. Any other error fails at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.read().decode()
        except urllib.error.URLError as error:
            if not isinstance(error.reason, ConnectionRefusedError) or time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def http_get_in_pod(cluster: KindCluster, ns: str, pod: str, host: str, port: int) -> str:
    """An HTTP/1.0 GET from inside a pod (busybox nc; the static busybox's wget cannot run there); the raw response."""
    request = r"printf 'GET / HTTP/1.0\r\nHost: x\r\n\r\n' | /bin/busybox nc -w 5 " + f"{host} {port}"
    return kubectl(cluster, "exec", "-n", ns, pod, "--", "/bin/busybox", "sh", "-c", request, check=False).stdout


def nslookup(cluster: KindCluster, ns: str, pod: str, name: str) -> list[str]:
    """busybox nslookup in a pod (its /etc/resolv.conf, so the cluster DNS kubelet wrote there): the IPv4 answers for `name`."""
    output = kubectl(cluster, "exec", "-n", ns, pod, "--", "/bin/busybox", "nslookup", "-type=a", name, check=False).stdout
    addresses, answering = [], False
    for line in output.splitlines():
        if line.startswith("Name:"):
            answering = line.split(None, 1)[1].strip().rstrip(".") == name.rstrip(".")
        elif answering and line.startswith("Address:"):
            addresses.append(line.split(None, 1)[1].strip())
    return addresses


def nth_address(cidr: str, n: int) -> str:
    return str(ipaddress.ip_network(cidr)[n])


def inside(address_or_cidr: str, cidr: str) -> bool:
    network = ipaddress.ip_network(cidr)
    if "/" in address_or_cidr:
        return ipaddress.ip_network(address_or_cidr).subnet_of(network)
    return ipaddress.ip_address(address_or_cidr) in network
