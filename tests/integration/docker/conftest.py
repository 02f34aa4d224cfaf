"""Fixtures for docker_bridge_routes against the real Docker engine.

Every network a test creates is named `hrit-...` and removed afterwards; a second `dockerd` on its own
socket is started for the endpoint tests and stopped at the end of the session. `nobody` and `shared_dir` are for
the runs as another user (ansible_runner.adhoc(..., as_user=nobody.as_user, home=nobody.home)).
"""

from __future__ import annotations

import contextlib
import grp
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from .bridge_routes_helpers import Networks, SecondDaemon

NOBODY = 65534


@pytest.fixture(scope="session")
def client() -> docker.APIClient:
    api = docker.APIClient(base_url="unix:///var/run/docker.sock", version="auto")
    api.ping()
    return api


@pytest.fixture
def networks(client: docker.APIClient):
    made = Networks(client)
    yield made
    made.cleanup()


@dataclass(frozen=True)
class OtherUser:
    """uid nobody with group docker only: the engine answers it, and it has no permission root would bypass."""

    uid: int
    gid: int
    home: str  # its own, where Ansible keeps its temp files

    @property
    def as_user(self) -> tuple:
        return (self.uid, self.gid)


@pytest.fixture
def nobody() -> Iterator[OtherUser]:
    home = Path(tempfile.mkdtemp(prefix="hr-nobody-", dir="/tmp"))
    user = OtherUser(NOBODY, grp.getgrnam("docker").gr_gid, str(home))
    os.chown(home, user.uid, user.gid)
    yield user
    shutil.rmtree(home)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A new directory, root's and mode 0755, in /tmp: uid nobody can reach it (pytest's tmp_path is 0700)."""
    directory = Path(tempfile.mkdtemp(prefix="hr-etc-", dir="/tmp"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory)


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    """A not yet existing docker-connector.conf in an existing directory, like $(brew --prefix)/etc."""
    (tmp_path / "etc").mkdir()
    return tmp_path / "etc" / "docker-connector.conf"


@pytest.fixture(scope="session")
def second_daemon():
    """A second dockerd on a non-default socket, its own data/exec roots, no default bridge, no iptables, in a network
    namespace of its own (`unshare --net`: /sys stays the host's, as dockerd needs): with `--bridge=none` dockerd
    deletes any `docker0` it sees (moby's removeDefaultBridgeInterface), which in the host's namespace is the host
    engine's, and the bridges of its networks stay out of the host's routing table."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        pytest.fail("dockerd is not installed (harness/setup-host.sh installs docker.io)")
    root = Path(tempfile.mkdtemp(prefix="hr-dockerd-", dir="/tmp"))
    daemon = SecondDaemon(root)
    cmd = [
        "unshare",
        "--net",
        "--",
        dockerd,
        f"--data-root={root / 'data'}",
        f"--exec-root={root / 'exec'}",
        f"--pidfile={daemon.pidfile}",
        f"-H={daemon.host}",
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
    ]
    with open(daemon.log, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _attempt in range(60):
            with contextlib.suppress(Exception):
                api = docker.APIClient(base_url=daemon.host, version="auto", timeout=5)
                api.ping()
                break
            if proc.poll() is not None:
                pytest.fail(f"second dockerd exited with {proc.returncode}: {daemon.log.read_text()[-2000:]}")
            time.sleep(0.5)
        else:
            pytest.fail(f"second dockerd did not answer on {daemon.host}: {daemon.log.read_text()[-2000:]}")
        daemon.api = api
        yield daemon
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        subprocess.run(["umount", "-R", str(root / "exec")], capture_output=True, check=False)
        subprocess.run(["umount", "-R", str(root / "data")], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
