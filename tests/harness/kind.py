"""Tier 2 fixtures: a real kind cluster (scripts/kind.sh), from a node image built locally.

`kind_cluster` (session) brings the cluster up (building the binaries and the node image on first
use) and deletes it after the session if this session created it; a cluster someone started by hand
(`make kind-up`) is used and left running. `demo_httpd_image` builds a busybox-static httpd image
locally and loads it into the cluster with `kind load docker-image`.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .versions import REPO_ROOT, cache_dir

KIND_SCRIPT = REPO_ROOT / "scripts" / "kind.sh"
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

    @property
    def context(self) -> str:
        return f"kind-{self.name}"

    def api_client(self):
        from kubernetes import config

        return config.new_client_from_config(config_file=self.kubeconfig, context=self.context)

    def core_v1(self):
        from kubernetes import client

        return client.CoreV1Api(self.api_client())


def kind_sh(action: str, name: str = DEFAULT_CLUSTER, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs scripts/kind.sh; its progress goes to stderr, its result (kubeconfig path) to stdout."""
    return subprocess.run([str(KIND_SCRIPT), action, name], check=check, stdout=subprocess.PIPE, text=True)


def kubeconfig_path(name: str) -> Path:
    return cache_dir() / "run" / f"kind-{name}" / "kubeconfig"


def node_internal_ips(kubeconfig: str, context: str) -> dict[str, str]:
    from kubernetes import client, config

    core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig, context=context))
    return {node.metadata.name: address.address for node in core.list_node().items for address in node.status.addresses if address.type == "InternalIP"}


def cluster_up(name: str = DEFAULT_CLUSTER) -> KindCluster:
    kubeconfig = kind_sh("up", name).stdout.strip().splitlines()[-1]
    return KindCluster(name=name, kubeconfig=kubeconfig, node_ips=node_internal_ips(kubeconfig, f"kind-{name}"))


def cluster_down(name: str = DEFAULT_CLUSTER) -> None:
    kind_sh("down", name)


@pytest.fixture(scope="session")
def kind_cluster() -> Iterator[KindCluster]:
    """A Ready kind cluster; deleted after the session unless it was running before."""
    name = DEFAULT_CLUSTER
    started_here = kind_sh("status", name, check=False).returncode != 0
    try:
        cluster = cluster_up(name)
    except subprocess.CalledProcessError as error:
        if started_here:
            kind_sh("down", name, check=False)
        pytest.fail(f"scripts/kind.sh up {name} failed (exit {error.returncode}); its error output is above")
    try:
        yield cluster
    finally:
        if started_here:
            cluster_down(name)


def _demo_httpd_rootfs() -> bytes:
    """A tarball with busybox-static, /www/index.html, and nothing else."""
    busybox = shutil.which("busybox")
    if busybox is None:
        raise RuntimeError("busybox is not installed; run scripts/setup-host.sh (Debian package busybox-static)")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for directory in ("bin", "www"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
        archive.add(busybox, arcname="bin/busybox")
        index = DEMO_HTTPD_INDEX.encode()
        info = tarfile.TarInfo("www/index.html")
        info.size, info.mode = len(index), 0o644
        archive.addfile(info, io.BytesIO(index))
    return buffer.getvalue()


def build_demo_httpd_image(tag: str = "v1") -> str:
    """Builds hostreach/demo-httpd:<tag> in the local Docker engine (no pull) and returns its name."""
    image = f"{DEMO_HTTPD_REPOSITORY}:{tag}"
    entrypoint = f'ENTRYPOINT ["/bin/busybox", "httpd", "-f", "-p", "{DEMO_HTTPD_PORT}", "-h", "/www"]'
    subprocess.run(["docker", "import", "--change", entrypoint, "-", image], input=_demo_httpd_rootfs(), check=True, stdout=subprocess.DEVNULL)
    return image


def kind_load(cluster: KindCluster, image: str) -> None:
    """`kind load docker-image`: copies a local Docker image into the cluster's nodes."""
    subprocess.run([str(KIND_SCRIPT), "load", cluster.name, image], check=True)


@pytest.fixture(scope="session")
def demo_httpd_image(kind_cluster: KindCluster) -> Iterator[str]:
    """hostreach/demo-httpd:test-<random>, built locally and loaded into the kind cluster; removed from Docker after.

    The tag is this session's own, so sessions running at once never retag or remove each other's image.
    """
    image = build_demo_httpd_image(f"test-{uuid.uuid4().hex[:8]}")
    try:
        kind_load(kind_cluster, image)
        yield image
    finally:
        subprocess.run(["docker", "rmi", image], check=False, stdout=subprocess.DEVNULL)
