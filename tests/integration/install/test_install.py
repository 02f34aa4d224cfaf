"""The README's ways to run the main job, on the real kind cluster: `make expose` as a new user with nothing installed
(a fresh HOME, no write access to /var/cache, no venv on PATH), and the collection installed the Ansible way, from the
built tarball into an empty collections path and from a git URL."""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.kind import DEMO_HTTPD_INDEX, KindCluster
from harness.kind_objects import cluster_ip_service, demo_pod, namespace

pytestmark = pytest.mark.kind

REPO = Path(__file__).resolve().parents[3]
TEST_TOOLS = ("pytest", "molecule", "ansible-lint", "ruff", "hypothesis")


class User:
    """A Unix user of its own with a fresh HOME under /tmp: nothing installed, /var/cache not writable."""

    def __init__(self) -> None:
        self.name = f"hrx{uuid.uuid4().hex[:6]}"
        self.home = Path(f"/tmp/{self.name}-home")
        subprocess.run(["useradd", "--create-home", "--home-dir", str(self.home), "--shell", "/bin/bash", self.name], check=True)
        self.uid = pwd.getpwnam(self.name).pw_uid

    def run(self, command: str, timeout: int = 1200) -> subprocess.CompletedProcess:
        """`command` in a login shell of the user, with only a system PATH (no venv, no tool of the test suite)."""
        env = f"env -i HOME={self.home} USER={self.name} PATH=/usr/local/bin:/usr/bin:/bin"
        return subprocess.run(
            ["su", "-", self.name, "-c", f"{env} bash -c {shlex.quote(command)}"], capture_output=True, text=True, timeout=timeout, check=False
        )

    def remove(self) -> None:
        subprocess.run(["userdel", "--remove", self.name], capture_output=True, check=False)
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture(scope="module")
def web(kind_cluster: KindCluster, demo_httpd_image: str) -> Iterator[str]:
    """A namespace with the demo app behind a ClusterIP Service `web`."""
    core = kind_cluster.core_v1()
    with namespace(kind_cluster, "install") as ns:
        demo_pod(core, ns, "web", demo_httpd_image, labels={"app": "web"})
        cluster_ip_service(core, ns, "web", {"app": "web"})
        yield ns


@pytest.fixture
def user(kind_cluster: KindCluster) -> Iterator[User]:
    made = User()
    kubeconfig = made.home / "kubeconfig"
    shutil.copy(kind_cluster.kubeconfig, kubeconfig)
    os.chown(kubeconfig, made.uid, -1)
    try:
        yield made
    finally:
        made.remove()


def rows(output: str) -> dict:
    """The summary table's rows, URL -> RESULT, from the playbook's output."""
    found = {}
    for line in output.splitlines():
        words = line.strip().strip('",').split()
        if len(words) >= 4 and words[2].startswith("http://"):
            found[words[2]] = " ".join(words[3:])
    return found


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def test_make_expose_as_a_new_user_makes_its_runtime_in_the_users_cache_and_opens_every_url(kind_cluster: KindCluster, web: str, user: User) -> None:
    assert user.run("test -w /var/cache").returncode != 0  # the test suite's cache is not the user's
    args = f"-e hostreach_kind_cluster={kind_cluster.name} -e hostreach_kind_kubeconfig={user.home}/kubeconfig -e hostreach_kind_namespaces={web}"
    first = user.run(f"cd {REPO} && make expose EXPOSE_ARGS='{args}'")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    (runtime,) = list((user.home / ".cache" / "hostreach-kind").glob("runtime-*"))
    assert "making the runtime venv" in first.stderr
    urls = rows(first.stdout)
    assert urls and all(result == "reachable (HTTP 200)" for result in urls.values()), urls
    for url in urls:
        assert get(url) == DEMO_HTTPD_INDEX
    made = (runtime / ".complete").stat().st_mtime

    second = user.run(f"cd {REPO} && make expose EXPOSE_ARGS='{args}'")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "making the runtime venv" not in second.stderr and (runtime / ".complete").stat().st_mtime == made
    assert "changed=0" in second.stdout.splitlines()[-2] or " changed=0 " in second.stdout

    installed = json.loads(user.run(f"{runtime}/bin/pip list --format json").stdout)
    names = {package["name"].lower() for package in installed}
    assert {"ansible-core", "docker", "kubernetes"} <= names
    assert not names & set(TEST_TOOLS), names & set(TEST_TOOLS)
    assert sorted(p.name for p in (runtime / "collections" / "ansible_collections").iterdir()) == ["community", "hostreach"]


def only_in(collections: Path) -> dict:
    """This environment without any ANSIBLE_* setting but a collections path of just `collections` (the test session's
    own path links the checkout: galaxy would find hostreach.kind installed there and install nothing)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")} | {"ANSIBLE_COLLECTIONS_PATH": str(collections)}


def run_expose_from(collections: Path, kind_cluster: KindCluster, ns: str) -> subprocess.CompletedProcess:
    """`ansible-playbook hostreach.kind.expose` with hostreach.kind found only in `collections` (the community
    collections come from the test venv's ansible package, as for a user who installed them)."""
    env = only_in(collections) | {"ANSIBLE_NOCOLOR": "1"}
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "hostreach.kind.expose", "-e", "hostreach_kind_mode=direct"]
    command += [
        "-e",
        f"hostreach_kind_cluster={kind_cluster.name}",
        "-e",
        f"hostreach_kind_kubeconfig={kind_cluster.kubeconfig}",
        "-e",
        f"hostreach_kind_namespaces={ns}",
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=600, cwd="/")


@pytest.mark.parametrize("source", ["tarball", "git"])
def test_the_collection_installed_the_ansible_way_runs_expose(kind_cluster: KindCluster, web: str, tmp_path: Path, source: str) -> None:
    galaxy = str(Path(sys.executable).parent / "ansible-galaxy")
    if source == "tarball":
        subprocess.run([galaxy, "collection", "build", "--output-path", str(tmp_path), str(REPO)], check=True, capture_output=True)
        (what,) = [str(p) for p in tmp_path.glob("hostreach-kind-*.tar.gz")]
    else:
        what = f"git+file://{REPO}"
    collections = tmp_path / "collections"
    install = [galaxy, "collection", "install", "--no-deps", "-p", str(collections), what]
    installed = subprocess.run(install, capture_output=True, text=True, check=False, env=only_in(collections))  # an empty path
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (collections / "ansible_collections" / "hostreach" / "kind" / "playbooks" / "expose.yml").is_file()
    done = run_expose_from(collections, kind_cluster, web)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    urls = rows(done.stdout)
    assert urls and all(result == "reachable (HTTP 200)" for result in urls.values()), urls
    assert str(collections) in done.stdout  # the installed copy ran, not the checkout
