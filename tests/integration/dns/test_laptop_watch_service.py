"""The watch agent as a systemd user unit on a Linux laptop (issue 20, item 1), on the real thing: the laptop container
with systemd as PID 1 (harness/laptop.py), the user's own systemd manager (libpam-systemd; `loginctl enable-linger`
stands for the desktop login that starts it), ansible-core and this collection installed for the user, as a user has
them. expose.yml runs from this host (the community.docker.docker connection, user dev, sudo for the root steps) with
`hostreach_kind_watch: true`, reach routes and the cluster's names, as test_laptop_resolved.py runs it.

In order, on one laptop:
- expose installs ~/.config/systemd/user/hostreach-kind-watch.service, enabled and running; the agent's first expose
  on the laptop passes (its status.json);
- the agent killed with SIGKILL is started again by systemd (Restart=on-failure), and `systemctl --user restart`
  restarts it;
- the laptop's link toward the nodes recreated (Docker's network disconnect and connect: resolved forgets the link's
  DNS settings and the kernel its routes, as when Docker recreates the kind bridge on a Linux machine): the agent's
  periodic check puts the cluster's DNS server on the new link and the routes back, with no command typed;
- teardown stops the agent and removes the unit (and the link's DNS settings).
The laptop has no Docker engine of its own: the agent's Docker events wait for one, and the periodic check (10 s
here) is what restores the link.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from harness.kind import KindCluster
from harness.kind_objects import wait_for
from harness.laptop import HOME, NETWORK, PYTHON, Laptop

from .laptop_dns import kube_dns, settings

pytestmark = pytest.mark.kind

UNIT = "hostreach-kind-watch.service"
UNIT_FILE = f"{HOME}/.config/systemd/user/{UNIT}"
ROOT = f"{HOME}/.ansible/collections"
STATUS = f"{HOME}/.local/state/hostreach-kind/watch/status.json"
INTERVAL = 10  # seconds: the agent's periodic check


def status(laptop: Laptop) -> dict:
    text = laptop.read(STATUS)
    return json.loads(text) if text else {}


def main_pid(laptop: Laptop) -> int:
    return int(laptop.systemctl_user("show", "-p", "MainPID", "--value", UNIT).stdout.strip() or 0)


def resynced_since(laptop: Laptop, when: float) -> dict | None:
    """The agent's status once a resync passed after `when` (epoch seconds, the laptop's clock is this host's)."""
    found = status(laptop)
    return found if found.get("result") == "ok" and found.get("last_resync", 0) > when else None


def running_again(laptop: Laptop, old_pid: int) -> int | None:
    pid = main_pid(laptop)
    return pid if pid not in (0, old_pid) and laptop.systemctl_user("is-active", UNIT).stdout.strip() == "active" else None


def cluster_dns_on_link(laptop: Laptop, cluster: KindCluster) -> bool:
    try:
        link = laptop.link_toward(cluster.node_ips[cluster.control_plane])
    except subprocess.CalledProcessError:  # the link is not there (yet)
        return False
    return f"({link}): {kube_dns(cluster)}" in laptop.resolvectl("dns")


@pytest.fixture(scope="module")
def installed(laptop: Laptop, kind_cluster: KindCluster, demo, tmp_path_factory: pytest.TempPathFactory):
    """The user's manager running, the collection installed, expose run with hostreach_kind_watch; teardown at the end
    if the last test has not run it."""
    laptop.user_manager()
    laptop.install_collection(ROOT)
    laptop.kubeconfig(kind_cluster)
    directory = tmp_path_factory.mktemp("laptop-watch")
    started = time.time()
    watch = {"hostreach_kind_watch": True, "watch_service_python": PYTHON, "watch_service_collections_root": ROOT, "watch_service_interval": INTERVAL}
    done = laptop.playbook("hostreach.kind.expose", {**settings(demo[0], kind_cluster), **watch}, directory)
    yield done, directory, started
    if laptop.read(UNIT_FILE) is not None:
        laptop.playbook("hostreach.kind.teardown", settings(demo[0], kind_cluster), directory)
    print(laptop.run("journalctl", f"_UID={laptop.run('id', '-u', 'dev').stdout.strip()}", "--no-pager", "-n", "80").stdout)


def test_expose_installs_the_unit_enabled_and_the_agents_first_expose_passes(laptop: Laptop, installed) -> None:
    done, _directory, started = installed
    assert done.returncode == 0, done.stdout + done.stderr
    unit = laptop.read(UNIT_FILE)
    assert f"ExecStart={PYTHON} -m ansible_collections.hostreach.kind.extensions.watch.agent --interval 10" in unit
    assert f"Environment=PYTHONPATH={ROOT}" in unit and "Restart=on-failure" in unit
    assert laptop.systemctl_user("is-enabled", UNIT).stdout.strip() == "enabled"
    found = wait_for(lambda: resynced_since(laptop, started), 240, "the agent's first expose on the laptop, passed")
    assert found["last"] == "engine" and found["pid"] == main_pid(laptop)


def test_killed_it_is_started_again_by_systemd_and_restart_restarts_it(laptop: Laptop, installed) -> None:
    killed = main_pid(laptop)
    laptop.run("kill", "-KILL", str(killed), check=True)
    restarted = wait_for(lambda: running_again(laptop, killed), 30, "systemd starting the killed agent again")
    assert int(laptop.systemctl_user("show", "-p", "NRestarts", "--value", UNIT).stdout) >= 1
    assert laptop.systemctl_user("restart", UNIT).returncode == 0
    wait_for(lambda: running_again(laptop, restarted), 30, "the agent running again after systemctl --user restart")
    since = time.time()
    wait_for(lambda: resynced_since(laptop, since), 240, "the restarted agent's first expose, passed")


def test_the_link_recreated_gets_the_clusters_dns_and_routes_back_with_no_command(laptop: Laptop, kind_cluster: KindCluster, installed) -> None:
    assert cluster_dns_on_link(laptop, kind_cluster)
    subprocess.run(["docker", "network", "disconnect", NETWORK, laptop.name], check=True)
    subprocess.run(["docker", "network", "connect", NETWORK, laptop.name], check=True)
    lost = time.monotonic()
    assert not cluster_dns_on_link(laptop, kind_cluster)  # the new link has no DNS settings of its own
    wait_for(lambda: cluster_dns_on_link(laptop, kind_cluster), INTERVAL + 120, "the cluster's DNS server on the new link")
    print(f"link recreated -> the cluster's DNS server on it again: {time.monotonic() - lost:.1f} s (periodic check every {INTERVAL} s)")
    words = laptop.run("ip", "route", "get", kube_dns(kind_cluster), check=True).stdout.split()
    assert words[words.index("via") + 1] in kind_cluster.node_ips.values()


def test_teardown_stops_the_agent_and_removes_the_unit(laptop: Laptop, kind_cluster: KindCluster, demo, installed) -> None:
    done = laptop.playbook("hostreach.kind.teardown", settings(demo[0], kind_cluster), installed[1])
    assert done.returncode == 0, done.stdout + done.stderr
    assert laptop.read(UNIT_FILE) is None
    assert laptop.systemctl_user("is-active", UNIT).stdout.strip() in ("inactive", "unknown")
    assert laptop.run("pgrep", "-u", "dev", "-f", "extensions.watch.agent").returncode == 1
    assert not cluster_dns_on_link(laptop, kind_cluster)
