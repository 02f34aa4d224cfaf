"""Tier 1 fixtures: a Kubernetes control plane as local processes (harness/tier1.sh), no nodes.

`tier1` (session) starts etcd, kube-apiserver and kube-controller-manager on 127.0.0.1 and stops
them when the last pytest process using them ends (pytest-xdist workers share one control plane);
a control plane someone started by hand (`make tier1-up`) is used and left running.
`tier1_namespace` gives each test its own namespace; `tier1_node` registers a Node API object.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from .versions import HARNESS_DIR, cache_dir

TIER1_SCRIPT = HARNESS_DIR / "tier1.sh"
TEST_LABEL = "hostreach.kind/test"


@dataclass(frozen=True)
class Tier1:
    """How to reach the tier 1 control plane."""

    kubeconfig: str
    context: str = "tier1"
    viewer_context: str = "tier1-viewer"  # bound to the built-in `view` ClusterRole: writes are forbidden
    node_port_range: tuple[int, int] = (30000, 32767)

    def api_client(self, context: str | None = None):
        """A `kubernetes` ApiClient for a context of the tier 1 kubeconfig (admin by default)."""
        from kubernetes import config

        return config.new_client_from_config(config_file=self.kubeconfig, context=context or self.context)

    def core_v1(self, context: str | None = None):
        from kubernetes import client

        return client.CoreV1Api(self.api_client(context))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def _users() -> Iterator[Path]:
    """The registry of pytest processes using this tier 1, locked while held; stale entries are dropped."""
    run_dir = Path(os.environ.get("HOSTREACH_TIER1_DIR", cache_dir() / "run" / "tier1"))
    users = run_dir.with_name(f"{run_dir.name}.pytest-users")
    users.mkdir(parents=True, exist_ok=True)
    with users.with_name(f"{users.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for entry in users.glob("[0-9]*"):
            if not _pid_alive(int(entry.name)):
                entry.unlink()
        yield users


def _tier1_sh(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TIER1_SCRIPT), command], check=False, stdout=subprocess.PIPE, text=True)


@pytest.fixture(scope="session")
def tier1() -> Iterator[Tier1]:
    """Brings tier 1 up (building its binaries on first use) and down after the last user is done."""
    with _users() as users:
        owned = users / "started-by-pytest"
        if not any(users.glob("[0-9]*")):
            # The first user decides: a control plane already running was started by hand and stays.
            owned.unlink(missing_ok=True)
            if _tier1_sh("status").returncode != 0:
                owned.touch()
        up = _tier1_sh("up")
        if up.returncode != 0:
            pytest.fail(f"harness/tier1.sh up failed (exit {up.returncode}); its error output is above")
        (users / str(os.getpid())).touch()
    try:
        yield Tier1(kubeconfig=up.stdout.strip().splitlines()[-1])
    finally:
        with _users() as users:
            (users / str(os.getpid())).unlink(missing_ok=True)
            if not any(users.glob("[0-9]*")) and (users / "started-by-pytest").exists():
                subprocess.run([str(TIER1_SCRIPT), "down"], check=True)
                (users / "started-by-pytest").unlink()


@pytest.fixture
def tier1_namespace(tier1: Tier1, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace named after the test, deleted after it (the namespace controller finalizes it)."""
    from kubernetes import client

    core = tier1.core_v1()
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].rstrip("-")
    name = f"{stem}-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={TEST_LABEL: "true"})))
    try:
        yield name
    finally:
        try:
            core.delete_namespace(name)
        except client.ApiException as error:
            if error.status != 404:
                raise


@pytest.fixture
def tier1_node(tier1: Tier1) -> Iterator[str]:
    """A Node API object with InternalIP 127.0.0.1 and NO kubelet behind it (tier 1 runs no nodes).

    Enough for code that reads node addresses; nothing is scheduled or served on it. Deleted after the test.
    """
    from kubernetes import client

    core = tier1.core_v1()
    name = f"apiobject-no-kubelet-{uuid.uuid4().hex[:6]}"
    core.create_node(client.V1Node(metadata=client.V1ObjectMeta(name=name, labels={TEST_LABEL: "true"})))
    try:
        core.patch_node_status(name, {"status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": name}]}})
        yield name
    finally:
        core.delete_node(name)
