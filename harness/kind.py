"""Tier 2 fixtures: a real kind cluster (harness/kind.sh), from a node image built locally.

`kind_cluster` (session) brings the cluster up (building the binaries and the node image on first
use) and deletes it after the session if this session created it; a cluster someone started by hand
(`make kind-up`) is used and left running. `demo_httpd_image` builds a busybox-static httpd image
locally and loads it into the cluster with `kind load docker-image`.

`cluster_up(name, workers=..., pod_subnet=..., service_subnet=...)` makes other shapes: worker nodes
beside the control plane (each node gets its own /24 of the pod subnet, routed to by the other nodes)
and a pod and service subnet of the cluster's own. Every cluster runs CoreDNS (kube-system/kube-dns at
the service subnet's 10th address).
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .versions import HARNESS_DIR, cache_dir

KIND_SCRIPT = HARNESS_DIR / "kind.sh"
DEFAULT_CLUSTER = "hostreach-test"
DEMO_HTTPD_REPOSITORY = "hostreach/demo-httpd"
DEMO_HTTPD_PORT = 8080
DEMO_HTTPD_INDEX = "hello from hostreach demo-httpd\n"


@dataclass(frozen=True)
class KindCluster:
    """How to reach a kind cluster: its kubeconfig, context and nodes' InternalIPs."""

    name: str
    kubeconfig: str
    node_ips: dict[str, str] = field(default_factory=dict)
    # Node name -> spec.podCIDR: the node's own range of the pod subnet.
    pod_cidrs: dict[str, str] = field(default_factory=dict)

    @property
    def context(self) -> str:
        return f"kind-{self.name}"

    def api_client(self):
        from kubernetes import config

        return config.new_client_from_config(config_file=self.kubeconfig, context=self.context)

    def core_v1(self):
        from kubernetes import client

        return client.CoreV1Api(self.api_client())

    @property
    def control_plane(self) -> str:
        """The control-plane node's name, which is also its Docker container's name."""
        return f"{self.name}-control-plane"

    @property
    def workers(self) -> list[str]:
        """The worker nodes' names (= their containers' names), in kind's order: NAME-worker, NAME-worker2, ..."""
        return sorted((node for node in self.node_ips if node != self.control_plane), key=lambda node: (len(node), node))


def kind_sh(action: str, name: str = DEFAULT_CLUSTER, *options: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs harness/kind.sh; its progress goes to stderr, its result (kubeconfig path) to stdout."""
    return subprocess.run([str(KIND_SCRIPT), action, name, *options], check=check, stdout=subprocess.PIPE, text=True)


def kubeconfig_path(name: str) -> Path:
    return cache_dir() / "run" / f"kind-{name}" / "kubeconfig"


def _nodes(kubeconfig: str, context: str) -> list:
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig, context=context)).list_node().items


def _internal_ips(nodes: list) -> dict[str, str]:
    return {node.metadata.name: address.address for node in nodes for address in node.status.addresses if address.type == "InternalIP"}


def node_internal_ips(kubeconfig: str, context: str) -> dict[str, str]:
    return _internal_ips(_nodes(kubeconfig, context))


def cluster_up(name: str = DEFAULT_CLUSTER, workers: int | None = None, pod_subnet: str | None = None, service_subnet: str | None = None) -> KindCluster:
    """`harness/kind.sh up`: a Ready cluster (every node Ready, CoreDNS available); an existing one is reused.

    workers: `role: worker` nodes beside the control plane (None: $HOSTREACH_KIND_WORKERS, else 0).
    pod_subnet / service_subnet: networking.podSubnet / serviceSubnet (None: $HOSTREACH_KIND_POD_SUBNET /
    $HOSTREACH_KIND_SERVICE_SUBNET, else kind's 10.244.0.0/16 / 10.96.0.0/16). A running cluster of another
    shape is an error (harness/kind.sh down it first).
    """
    options: list[str] = []
    for option, value in (("--workers", workers), ("--pod-subnet", pod_subnet), ("--service-subnet", service_subnet)):
        if value is not None:
            options += [option, str(value)]
    kubeconfig = kind_sh("up", name, *options).stdout.strip().splitlines()[-1]
    nodes = _nodes(kubeconfig, f"kind-{name}")
    return KindCluster(
        name=name,
        kubeconfig=kubeconfig,
        node_ips=_internal_ips(nodes),
        pod_cidrs={node.metadata.name: node.spec.pod_cidr for node in nodes if node.spec.pod_cidr},
    )


def cluster_down(name: str = DEFAULT_CLUSTER) -> None:
    kind_sh("down", name)


@contextlib.contextmanager
def session_cluster(name: str = DEFAULT_CLUSTER, **shape) -> Iterator[KindCluster]:
    """cluster_up(name, **shape) for a fixture: deleted at the end unless it was running before; a failed `up`
    fails the test (kind.sh's error output is above) after removing what it left."""
    started_here = kind_sh("status", name, check=False).returncode != 0
    try:
        cluster = cluster_up(name, **shape)
    except subprocess.CalledProcessError as error:
        if started_here:
            kind_sh("down", name, check=False)
        pytest.fail(f"harness/kind.sh up {name} failed (exit {error.returncode}); its error output is above")
    try:
        yield cluster
    finally:
        if started_here:
            cluster_down(name)


@pytest.fixture(scope="session")
def kind_cluster() -> Iterator[KindCluster]:
    """A Ready kind cluster; deleted after the session unless it was running before."""
    with session_cluster(DEFAULT_CLUSTER) as cluster:
        yield cluster


def busybox_rootfs(files: dict[str, tuple[bytes, int]], links: dict[str, str] | None = None) -> bytes:
    """A tarball with busybox-static as /bin/busybox, `files` (path -> (content, mode)), `links` (path -> target of a
    symlink), the folders they need, and nothing else: a root filesystem for `docker import`, with no registry."""
    busybox = shutil.which("busybox")
    if busybox is None:
        raise RuntimeError("busybox is not installed; run harness/setup-host.sh (Debian package busybox-static)")
    paths = ["bin/busybox", *files, *(links or {})]
    folders = sorted({str(parent) for path in paths for parent in Path(path).parents if str(parent) != "."})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
        archive.add(busybox, arcname="bin/busybox")
        for path, target in (links or {}).items():
            info = tarfile.TarInfo(path)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
        for path, (content, mode) in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(content), mode
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _demo_httpd_rootfs() -> bytes:
    """A tarball with busybox-static, /www/index.html, and nothing else."""
    return busybox_rootfs({"www/index.html": (DEMO_HTTPD_INDEX.encode(), 0o644)})


def build_demo_httpd_image(tag: str = "v1") -> str:
    """Builds hostreach/demo-httpd:<tag> in the local Docker engine (no pull) and returns its name."""
    image = f"{DEMO_HTTPD_REPOSITORY}:{tag}"
    entrypoint = f'ENTRYPOINT ["/bin/busybox", "httpd", "-f", "-p", "{DEMO_HTTPD_PORT}", "-h", "/www"]'
    subprocess.run(["docker", "import", "--change", entrypoint, "-", image], input=_demo_httpd_rootfs(), check=True, stdout=subprocess.DEVNULL)
    return image


def kind_load(cluster: KindCluster, image: str) -> None:
    """`kind load docker-image`: copies a local Docker image into the cluster's nodes."""
    subprocess.run([str(KIND_SCRIPT), "load", cluster.name, image], check=True)


@contextlib.contextmanager
def loaded_demo_httpd_image(*clusters: KindCluster) -> Iterator[str]:
    """hostreach/demo-httpd:test-<random>, built locally and loaded into the clusters' nodes; removed from Docker after.

    The tag is the caller's own, so sessions running at once never retag or remove each other's image.
    """
    image = build_demo_httpd_image(f"test-{uuid.uuid4().hex[:8]}")
    try:
        for cluster in clusters:
            kind_load(cluster, image)
        yield image
    finally:
        subprocess.run(["docker", "rmi", image], check=False, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def demo_httpd_image(kind_cluster: KindCluster) -> Iterator[str]:
    """hostreach/demo-httpd:test-<random>, built locally and loaded into the kind cluster; removed from Docker after."""
    with loaded_demo_httpd_image(kind_cluster) as image:
        yield image


# Two more session clusters, shared by every test directory that needs them (tests/conftest.py registers them): a
# control plane and one worker with kind's default subnets, and one with subnets of its own, run beside the first.
TWO_NODE_CLUSTER = "hostreach-kind2"
SUBNETS_CLUSTER = "hostreach-kind2-cidrs"
# Distinct from kind's defaults (10.244.0.0/16, 10.96.0.0/16); the service range is a /20, whose 10th address
# (kube-dns) is 10.112.16.10.
SUBNETS_POD_SUBNET = "10.246.0.0/16"
SUBNETS_SERVICE_SUBNET = "10.112.16.0/20"


# Clusters that tests/conftest.py takes down as soon as no later test of the session uses them (their fixture name ->
# what takes them down): their idle nodes would slow every later test on a small machine.
_RELEASES: dict[str, contextlib.ExitStack] = {}
EARLY_RELEASED = ("subnets_cluster", "two_node_cluster")  # in the order they go (subnets_cluster depends on the other)


@contextlib.contextmanager
def _releasable(fixture: str, cluster_manager: contextlib.AbstractContextManager) -> Iterator[KindCluster]:
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(cluster_manager)
        _RELEASES[fixture] = stack
        try:
            yield cluster
        finally:
            _RELEASES.pop(fixture, None)


def release_early(fixture: str) -> None:
    """Takes a cluster of EARLY_RELEASED down now, as its fixture's teardown would at the end of the session (which then
    has nothing left to do)."""
    stack = _RELEASES.pop(fixture, None)
    if stack is not None:
        stack.close()


@pytest.fixture(scope="session")
def two_node_cluster() -> Iterator[KindCluster]:
    with _releasable("two_node_cluster", session_cluster(TWO_NODE_CLUSTER, workers=1)) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def two_node_image(two_node_cluster: KindCluster) -> Iterator[str]:
    with loaded_demo_httpd_image(two_node_cluster) as image:
        yield image


@pytest.fixture(scope="session")
def subnets_cluster(two_node_cluster: KindCluster) -> Iterator[KindCluster]:
    """Depends on two_node_cluster so that the two run at once: distinct subnets side by side."""
    shape = {"workers": 1, "pod_subnet": SUBNETS_POD_SUBNET, "service_subnet": SUBNETS_SERVICE_SUBNET}
    with _releasable("subnets_cluster", session_cluster(SUBNETS_CLUSTER, **shape)) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def subnets_image(subnets_cluster: KindCluster) -> Iterator[str]:
    with loaded_demo_httpd_image(subnets_cluster) as image:
        yield image
