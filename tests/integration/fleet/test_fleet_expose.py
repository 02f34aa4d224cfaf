"""A team's fleet (issue 10): `ansible-playbook -i <inventory> hostreach.kind.expose -e target=team_laptops
--ask-become-pass` provisions five laptops over real SSH from one inventory like examples/inventory.yml, the sudo
password typed at a pty.

The laptops are the SSH fleet of harness/fleet.py (a network namespace, sshd and user each), all in front of
the shared kind cluster of harness/kind.py, each with its own namespace of it:

- laptop1 and laptop2, healthy: direct mode, steps [services], reach nodeport. They reach the cluster through
  `Fleet.route_to(<kind network>)` only (a route via their veth, a DOCKER-USER ACCEPT for the fleet's /24), and
  their ~/.kube/config is the kind kubeconfig with the server https://<control-plane node IP>:6443 (kubeadm's
  certificate names the node IP; the preflight connects with TLS verification from inside each laptop).
- laptop3, Docker down: `hostreach_kind_clusters: all` asks Docker for the clusters, at an endpoint under the
  fleet's run directory where no engine listens.
- laptop4, a kubeconfig with only other contexts.
- laptop5, unreachable: its sshd stopped for the two expose runs.

The healthy laptops finish and a rerun changes nothing on them; each failed laptop fails with its own message; the
closing summary names every laptop and what became of it; teardown.yml for the healthy laptops puts their Services
back. The laptops only ever reach the kind node and the namespaces the test made.

Interpreter, both ways the role offers (harness/fleet_venv.py; the SDKs at the pins of tests/requirements.txt):
laptop1 has hostreach_kind_venv as examples/inventory.yml has it, so the role makes that venv on the laptop over SSH.
The namespaces have no way to PyPI, and the role passes pip no extra arguments, so laptop1's own
~/.config/pip/pip.conf says `no-index` and `find-links` to a wheelhouse fetched once in the root namespace, as on
a machine behind a wheel mirror. The other laptops have hostreach_kind_python: one venv of the system python3,
made once in the root namespace and readable by every user, which costs no install per laptop (the fleet users
cannot run the test venv's own python, a pyenv build under /root).

The outputs of every run are saved under the pytest tmp dir (its path is printed), and the first run's closing
summary is printed (pytest -s or -rP shows it).
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils._service_view import ANNOTATION

from harness.fleet import FleetHost, ansible_bin
from harness.fleet_kind import check_api_from
from harness.fleet_venv import sdk_pins
from harness.kind import DEMO_HTTPD_INDEX
from harness.pty_run import BECOME_PROMPT, PtyResult, run_ansible_with_become_pass
from harness.versions import REPO_ROOT

from .expose_output import fatals, hosts_summary, recap, statuses, unreachable_messages
from .team import FLEET_SIZE, OTHER_CONTEXTS, OWN_VENV, SERVICES, Team

pytestmark = [pytest.mark.fleet, pytest.mark.kind]

RUN_TIMEOUT = 600.0
FAIL_TASK = "Fail the hosts that failed"
VENV_TASK = "Give the modules their SDKs in a venv on the target"
# The team (laptops, namespaces, inventory) and laptop5's stopped sshd are the package's fixtures: team.py.


def run_playbook(team: Team, playbook: str, name: str, *args: str) -> PtyResult:
    """`ansible-playbook -i <inventory> <playbook> -e target=team_laptops --ask-become-pass <args>`, typed at a pty;
    its output saved as <name>.txt."""
    argv = [ansible_bin("ansible-playbook"), "-i", str(team.inventory), playbook, "-e", "target=team_laptops", "--ask-become-pass", *args]
    result = run_ansible_with_become_pass(argv, team.fleet.password, env=team.fleet.ansible_env(), cwd=REPO_ROOT, timeout=RUN_TIMEOUT)
    (team.outputs / f"{name}.txt").write_text(str(result))
    return result


def node_ports(team: Team, ns: str) -> dict[str, int]:
    core = team.cluster.core_v1()
    return {name: core.read_namespaced_service(name, ns).spec.ports[0].node_port for name in SERVICES}


@pytest.fixture(scope="module")
def first_run(team: Team, laptop_down: FleetHost) -> PtyResult:
    result = run_playbook(team, "hostreach.kind.expose", "expose-1")
    team.node_ports = {team.namespaces[h.name]: node_ports(team, team.namespaces[h.name]) for h in team.healthy}
    print(f"\nclosing summary of the first run (ansible-playbook exited {result.returncode}):\n{hosts_summary(result.output)}")
    return result


@pytest.fixture(scope="module")
def rerun(team: Team, first_run: PtyResult, laptop_down: FleetHost) -> PtyResult:
    return run_playbook(team, "hostreach.kind.expose", "expose-2")


@pytest.fixture(scope="module")
def teardown_run(team: Team, rerun: PtyResult) -> PtyResult:
    """teardown.yml through the same inventory, for the healthy laptops (--limit)."""
    return run_playbook(team, "hostreach.kind.teardown", "teardown", "--limit", ",".join(h.name for h in team.healthy))


def tasks_where(output: str, status: str, host: str) -> list[str]:
    """The TASK lines under which `<status>: [<host>]` was printed, in order."""
    task, found = "", []
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line
        elif line.startswith(f"{status}: [{host}]"):
            found.append(task)
    return found


# -- the first run ------------------------------------------------------------------------------------------------


def test_the_recap_counts_each_laptop_as_what_happened_to_it(team: Team, first_run: PtyResult) -> None:
    assert first_run.answered == {BECOME_PROMPT: 1}, str(first_run)
    assert team.fleet.password not in first_run.output, "getpass turned echo off"
    # ansible-playbook's exit status: 4 when a host was unreachable (it wins over 2, failed hosts).
    assert first_run.returncode == 4, str(first_run)
    counts = recap(first_run.output)
    assert list(counts) == [h.name for h in team.fleet.hosts], str(first_run)
    for host in team.healthy:
        assert (counts[host.name]["failed"], counts[host.name]["unreachable"], counts[host.name]["rescued"]) == (0, 0, 0), str(first_run)
    for host in (team.docker_down, team.no_context):
        assert (counts[host.name]["failed"], counts[host.name]["unreachable"], counts[host.name]["rescued"]) == (1, 0, 1), str(first_run)
    assert counts[team.unreachable.name]["unreachable"] == 1, str(first_run)
    # Nothing ran on it: its oks are the settings' validation and the include of _common's resolve phase, both on the
    # controller before any connection (the recap counts an include as ok; its line says "included").
    assert [task.split(" - ")[0] for task in tasks_where(first_run.output, "ok", team.unreachable.name)] == [
        "TASK [hostreach.kind._common : Validating arguments against arg spec 'main'"
    ], str(first_run)
    included = [line.split(" for ", 1) for line in first_run.output.splitlines() if line.startswith("included: ")]
    assert [path.rsplit("/", 1)[-1] for path, hosts in included if team.unreachable.name in hosts.split(", ")] == ["resolve.yml"], str(first_run)
    assert counts[team.unreachable.name]["ok"] == 2, str(first_run)


def test_each_failed_laptop_fails_with_its_own_message(team: Team, first_run: PtyResult) -> None:
    failed = fatals(first_run.output, FAIL_TASK)
    assert set(failed) == {team.docker_down.name, team.no_context.name}, str(first_run)
    docker_down = failed[team.docker_down.name]["msg"]
    assert f"No Docker engine answers at {team.no_engine} (nothing listens at that path)" in docker_down, docker_down
    assert "hostreach_kind_clusters: all needs it" in docker_down, docker_down
    no_context = failed[team.no_context.name]["msg"]
    kubeconfig = team.no_context.path(".kube/config")
    assert f"kubeconfig {kubeconfig} has no context 'kind-{team.cluster.name}'" in no_context, no_context
    assert f"Its contexts: {', '.join(sorted(OTHER_CONTEXTS))}" in no_context, no_context
    # Each message is that laptop's own.
    assert team.no_engine not in no_context, no_context
    assert "context" not in docker_down, docker_down
    assert "Connection refused" in unreachable_messages(first_run.output)[team.unreachable.name], str(first_run)


def test_the_closing_summary_lists_every_laptop_and_what_happened(team: Team, first_run: PtyResult) -> None:
    summary = hosts_summary(first_run.output)
    assert list(summary.rows) == [h.name for h in team.fleet.hosts], str(summary)
    n = team.urls_per_laptop()
    for host in team.healthy:
        assert summary.rows[host.name] == ("ok", f"{n} URLs, {n} reachable"), str(summary)
    failed = fatals(first_run.output, FAIL_TASK)
    for host in (team.docker_down, team.no_context):
        result, what = summary.rows[host.name]
        assert result == "failed", str(summary)
        assert f"{host.name} failed {what}" == failed[host.name]["msg"], str(summary)  # the fail task says what the row says
    assert summary.rows[team.unreachable.name][0] == "unreachable", str(summary)
    assert summary.total == FLEET_SIZE, str(summary)
    assert summary.counts == dict(Counter(result for result, _what in summary.rows.values())), str(summary)


def test_the_healthy_laptops_reach_their_services_and_nothing_else_changed(team: Team, first_run: PtyResult) -> None:
    core = team.cluster.core_v1()
    node_ip = team.cluster.node_ips[team.cluster.control_plane]
    for host in team.fleet.hosts:
        ns = team.namespaces[host.name]
        services = {name: core.read_namespaced_service(name, ns) for name in SERVICES}
        if host not in team.healthy:  # the failed and unreachable laptops' Services are as the test made them
            assert {name: (s.spec.type, ANNOTATION in (s.metadata.annotations or {})) for name, s in services.items()} == dict.fromkeys(
                SERVICES, ("ClusterIP", False)
            )
            assert not team.summary_file(host).exists()
            continue
        assert {name: s.spec.type for name, s in services.items()} == dict.fromkeys(SERVICES, "NodePort")
        urls = {f"http://{node_ip}:{s.spec.ports[0].node_port}" for s in services.values()}
        rows = json.loads(team.summary_file(host).read_text())
        assert {row["url"] for row in rows} == urls, rows
        assert all(row["reachable"] for row in rows), rows
        for url in sorted(urls):  # and from inside the laptop, as its user, without the collection
            assert http_get(host, url) == DEMO_HTTPD_INDEX, f"{host.name} GET {url}"


def test_laptop1_made_its_own_venv_offline_and_the_others_used_the_shared_one(team: Team, first_run: PtyResult) -> None:
    own = team.healthy[0]
    went = statuses(first_run.output, VENV_TASK)
    assert went == {own.name: "changed", **{h.name: "skipping" for h in team.fleet.hosts[1:4]}}, str(first_run)
    python = own.path(OWN_VENV) / "bin" / "python"
    assert (own.path(OWN_VENV) / "pyvenv.cfg").stat().st_uid == own.uid, "made by laptop1's user"
    freeze = own.run([str(python), "-m", "pip", "freeze"]).stdout.lower().splitlines()
    assert set(pin.lower() for pin in sdk_pins()) <= set(freeze), freeze
    assert check_api_from(own, python), "the venv the role made talks to the cluster from laptop1"


def http_get(host: FleetHost, url: str) -> str:
    code = f"import urllib.request; print(urllib.request.urlopen({url!r}, timeout=10).read().decode(), end='')"
    return host.run(["/usr/bin/python3", "-c", code]).stdout


# -- the rerun and the teardown -----------------------------------------------------------------------------------


def test_a_rerun_changes_nothing_on_the_healthy_laptops(team: Team, first_run: PtyResult, rerun: PtyResult) -> None:
    assert rerun.returncode == first_run.returncode, str(rerun)
    counts = recap(rerun.output)
    for host in team.healthy:
        assert (counts[host.name]["changed"], counts[host.name]["failed"], counts[host.name]["unreachable"]) == (0, 0, 0), str(rerun)
    for host in (team.docker_down, team.no_context):
        assert counts[host.name]["failed"] == 1, str(rerun)
    assert hosts_summary(rerun.output).rows == hosts_summary(first_run.output).rows
    assert statuses(rerun.output, VENV_TASK)[team.healthy[0].name] == "ok", "laptop1's venv is as the first run left it"
    for host in team.healthy:
        ns = team.namespaces[host.name]
        assert node_ports(team, ns) == team.node_ports[ns], "the nodePorts stay as the first run made them"


def test_teardown_puts_back_the_healthy_laptops_services(team: Team, teardown_run: PtyResult) -> None:
    assert teardown_run.returncode == 0, str(teardown_run)
    assert teardown_run.answered == {BECOME_PROMPT: 1}, str(teardown_run)
    counts = recap(teardown_run.output)
    assert set(counts) == {h.name for h in team.healthy}, str(teardown_run)
    assert all(c["failed"] == 0 and c["unreachable"] == 0 and c["changed"] >= 1 for c in counts.values()), str(teardown_run)
    summary = hosts_summary(teardown_run.output)
    assert list(summary.rows) == [h.name for h in team.healthy], str(summary)
    assert {result for result, _what in summary.rows.values()} == {"ok"}, str(summary)
    core = team.cluster.core_v1()
    for host in team.fleet.hosts:
        for name in SERVICES:
            service = core.read_namespaced_service(name, team.namespaces[host.name])
            assert (service.spec.type, ANNOTATION in (service.metadata.annotations or {})) == ("ClusterIP", False), f"{host.name} {name}"
