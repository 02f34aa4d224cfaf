"""The fleet run the way AWX runs it (issue 21, item 2): `ansible-runner run <private data dir> -p expose.yml`, no
process isolation, with the example private data directory examples/runner/ (its project, env/extravars,
env/cmdline `--ask-become-pass` answered from env/passwords, env/settings) and the team's inventory in it.

The laptops are the package's team (team.py: the same fleet and cluster as test_fleet_expose.py, so this costs one
run): `--limit` to one healthy laptop (laptop1), one failing (laptop3, no Docker engine) and one unreachable
(laptop5, its sshd stopped). What is asserted is what ansible-runner leaves in its artifacts for AWX: the per-host
results of the playbook_on_stats event, its artifact_data (the closing summary's rows and each host's URL rows,
published with set_stats by roles/_common/tasks/hosts_summary.yml), the per-host events, rc and status. The artifact
directory is under the pytest tmp dir (its path is printed).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.fleet import FleetHost, ansible_bin
from harness.versions import REPO_ROOT

from .team import Team

pytestmark = [pytest.mark.fleet, pytest.mark.kind]

EXAMPLE = REPO_ROOT / "examples" / "runner"
IDENT = "three-laptops"
JOB_TIMEOUT = 540  # env/settings job_timeout: ansible-runner ends a hung run itself, before the test's timeout
FAIL_TASK = "Fail the hosts that failed"


class Artifacts:
    """artifacts/<ident>/ of a private data directory: rc, status, stdout, command and the job events in order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rc = int((path / "rc").read_text())
        self.status = (path / "status").read_text()
        self.stdout = (path / "stdout").read_text()
        self.command = json.loads((path / "command").read_text())
        files = sorted((path / "job_events").glob("*.json"), key=lambda p: int(p.name.split("-", 1)[0]))
        self.events = [json.loads(f.read_text()) for f in files]

    def of(self, event: str, host: str | None = None) -> list[dict]:
        return [e for e in self.events if e["event"] == event and (host is None or e["event_data"].get("host") == host)]

    @property
    def stats(self) -> dict:
        (stats,) = self.of("playbook_on_stats")
        return stats["event_data"]


def private_data_dir(team: Team, where: Path) -> Path:
    """A copy of examples/runner with the team's inventory, the fleet's sudo password and a shorter job_timeout."""
    pdd = where / "runner"
    shutil.copytree(EXAMPLE, pdd)
    shutil.copy(team.inventory, pdd / "inventory" / "hosts.yml")
    passwords = yaml.safe_load((pdd / "env" / "passwords").read_text())
    (pdd / "env" / "passwords").write_text(yaml.safe_dump(dict.fromkeys(passwords, team.fleet.password)))
    settings = yaml.safe_load((pdd / "env" / "settings").read_text())
    (pdd / "env" / "settings").write_text(yaml.safe_dump({**settings, "job_timeout": JOB_TIMEOUT}))
    return pdd


@pytest.fixture(scope="module")
def three(team: Team) -> list[FleetHost]:
    return [team.healthy[0], team.docker_down, team.unreachable]


@pytest.fixture(scope="module")
def runner_run(team: Team, three: list[FleetHost], laptop_down: FleetHost) -> Artifacts:
    pdd = private_data_dir(team, team.outputs)
    argv = [ansible_bin("ansible-runner"), "run", str(pdd), "-p", "expose.yml", "--ident", IDENT, "--limit", ",".join(h.name for h in three)]
    done = subprocess.run(argv, env=team.fleet.ansible_env(), capture_output=True, text=True, timeout=JOB_TIMEOUT + 60, check=False)
    artifacts = Artifacts(pdd / "artifacts" / IDENT)
    print(f"\nansible-runner exited {done.returncode}; artifacts: {artifacts.path}")
    print(json.dumps(artifacts.stats.get("artifact_data"), indent=1))
    return artifacts


def test_runner_ran_the_project_playbook_as_awx_does(team: Team, three: list[FleetHost], runner_run: Artifacts) -> None:
    command = runner_run.command["command"]
    assert command[0].endswith("ansible-playbook") and command[-1] == "expose.yml", command
    assert "--ask-become-pass" in command, command
    assert command[command.index("--limit") + 1] == ",".join(h.name for h in three), command
    assert team.fleet.password not in runner_run.stdout, "the become password was answered, not echoed"
    # ansible-playbook's exit status: 4, a host was unreachable (it wins over 2, failed hosts); the job failed.
    assert (runner_run.rc, runner_run.status) == (4, "failed"), runner_run.stdout[-3000:]


def test_the_stats_count_each_laptop_as_what_happened_to_it(team: Team, runner_run: Artifacts) -> None:
    stats = runner_run.stats
    healthy, failing, down = team.healthy[0].name, team.docker_down.name, team.unreachable.name
    assert (stats["dark"], stats["failures"], stats["rescued"]) == ({down: 1}, {failing: 1}, {failing: 1}), stats
    assert sorted(stats["processed"]) == sorted([healthy, failing, down]), stats
    assert runner_run.of("runner_on_unreachable", down), "laptop5's UNREACHABLE is an event of its own"
    assert not runner_run.of("runner_on_failed", healthy) and not runner_run.of("runner_on_unreachable", healthy)


def test_the_artifacts_hold_every_laptops_outcome_and_urls(team: Team, three: list[FleetHost], runner_run: Artifacts) -> None:
    hosts = runner_run.stats["artifact_data"]["hostreach_kind_hosts"]
    assert list(hosts) == [h.name for h in three], hosts
    healthy, failing, down = (hosts[h.name] for h in three)
    n = team.urls_per_laptop()
    assert (healthy["result"], healthy["what"]) == ("ok", f"{n} URLs, {n} reachable"), healthy
    core = team.cluster.core_v1()
    node_ip = team.cluster.node_ips[team.cluster.control_plane]
    ns = team.namespaces[three[0].name]
    services = core.list_namespaced_service(ns).items
    assert {row["url"] for row in healthy["urls"]} == {f"http://{node_ip}:{s.spec.ports[0].node_port}" for s in services}, healthy
    assert {(row["namespace"], row["reachable"], row["diagnosis"]) for row in healthy["urls"]} == {(ns, True, "reachable")}, healthy
    assert failing["result"] == "failed" and failing["urls"] == [], failing
    assert f"No Docker engine answers at {team.no_engine}" in failing["what"], failing
    (fail_event,) = [e for e in runner_run.of("runner_on_failed", three[1].name) if e["event_data"]["task"] == FAIL_TASK]
    assert fail_event["event_data"]["res"]["msg"] == f"{three[1].name} failed {failing['what']}", "the fail task says what the artifact says"
    assert (down["result"], down["urls"]) == ("unreachable", []), down


def test_the_closing_table_is_in_the_jobs_stdout(three: list[FleetHost], runner_run: Artifacts) -> None:
    lines = [line.strip().strip("\"',") for line in runner_run.stdout.splitlines()]
    header = next(i for i, line in enumerate(lines) if line.split() == ["HOST", "RESULT", "WHAT"])
    rows = {line.split()[0]: line.split()[1] for line in lines[header + 1 : header + 1 + len(three)]}
    assert rows == {three[0].name: "ok", three[1].name: "failed", three[2].name: "unreachable"}, lines[header : header + 5]
    assert lines[header + 1 + len(three)] == "3 hosts: 1 ok, 1 failed, 1 unreachable"
