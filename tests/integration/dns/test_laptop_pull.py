"""A laptop that pulls its settings (issue 21, item 3), on the real thing: the laptop container with systemd as PID 1
and the user's own systemd manager (harness/laptop.py), ansible-core, git and this collection installed for the user,
and a team repository the test makes in the laptop (a local git repository: examples/pull/local.yml and a settings
file). expose.yml runs from this host with `hostreach_kind_pull=<the repository>` and installs the timer; from then on
only the timer acts - the real ansible-pull, run by extensions/pull/run.py every 10 s here.

In order, on one laptop:
- expose installs hostreach-kind-pull.service and .timer, the timer enabled and active; the timer's first run clones
  the repository and exposes with its settings (the Service a NodePort, its URL in the team's summary file,
  reachable), and its own expose leaves the timer as it is (hostreach_kind_pull_run), though the team's settings name
  another interval;
- a change pushed to the repository (the summary file moved) is applied by the next run, with no command typed;
- a bad commit (an invalid setting) fails that run: status.json and the doctor's Pull line say why, the last good
  commit is kept, and nothing that commit set up is changed (the Service is still a NodePort, the summary still there);
- teardown stops the timer and removes both units.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from harness.kind import KindCluster
from harness.kind_objects import wait_for
from harness.laptop import HOME, PYTHON, Laptop

from .laptop_dns import DEMO

pytestmark = pytest.mark.kind

ROOT = f"{HOME}/.ansible/collections"
REPO = f"{HOME}/team"
STATE = f"{HOME}/.local/state/hostreach-kind/pull"
UNITS = f"{HOME}/.config/systemd/user"
EVERY = 10  # seconds between two pull runs
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "pull" / "local.yml"


def team_settings(ns: str, cluster: KindCluster, summary: str, **more: object) -> dict:
    """The team's settings file: this cluster's Services of `ns` by nodePort, the summary at `summary`; it names the
    timer too, with another interval, which the pull's own runs must leave as expose installed it."""
    return {
        "hostreach_kind_mode": "direct",
        "hostreach_kind_steps": ["services"],
        "hostreach_kind_reach": "nodeport",
        "hostreach_kind_clusters": [cluster.name],
        "hostreach_kind_namespaces": [ns],
        "hostreach_kind_summary_file": summary,
        "hostreach_kind_pull": f"file://{REPO}",
        "pull_interval": 3600,
        **more,
    }


def push(laptop: Laptop, settings: dict, message: str) -> str:
    """A commit of the team's settings file to the repository in the laptop; its id."""
    laptop.write(f"{REPO}/hostreach-kind.yml", json.dumps(settings, indent=2), mode="0644")
    git = ["git", "-C", REPO, "-c", "user.name=team", "-c", "user.email=team@localhost"]
    laptop.run(*git, "add", "-A", user="dev", check=True)
    laptop.run(*git, "commit", "-q", "-m", message, user="dev", check=True)
    return laptop.run("git", "-C", REPO, "rev-parse", "HEAD", user="dev", check=True).stdout.strip()


def status(laptop: Laptop) -> dict:
    text = laptop.read(f"{STATE}/status.json")
    return json.loads(text) if text else {}


def run_of(laptop: Laptop, commit: str, result: str) -> dict | None:
    found = status(laptop)
    return found if found.get("commit") == commit and found.get("result") == result else None


def summary_rows(laptop: Laptop, path: str) -> list:
    text = laptop.read(path)
    return json.loads(text) if text else []


@pytest.fixture(scope="module")
def team(laptop: Laptop, kind_cluster: KindCluster, demo, tmp_path_factory: pytest.TempPathFactory):
    """The user's manager, the collection, the kubeconfig, the team repository with its first commit; expose with
    hostreach_kind_pull from this host. Teardown at the end if the last test has not run it."""
    laptop.user_manager()
    laptop.install_collection(ROOT)
    laptop.kubeconfig(kind_cluster)
    laptop.run("git", "init", "-q", "-b", "main", REPO, user="dev", check=True)
    laptop.write(f"{REPO}/local.yml", EXAMPLE.read_text(), mode="0644")
    settings = team_settings(demo[0], kind_cluster, f"{HOME}/urls.json")
    first = push(laptop, settings, "the team's first settings")
    directory = tmp_path_factory.mktemp("laptop-pull")
    installed = {"pull_interval": EVERY, "pull_python": PYTHON, "pull_collections_root": ROOT}
    done = laptop.playbook("hostreach.kind.expose", {**settings, **installed}, directory)
    yield {"done": done, "first": first, "settings": settings, "directory": directory, "installed": time.time()}
    if laptop.read(f"{UNITS}/hostreach-kind-pull.timer") is not None:
        laptop.playbook("hostreach.kind.teardown", settings, directory)
    print(laptop.read(f"{STATE}/pull.log"))


def test_expose_installs_the_timer_and_its_first_run_applies_the_repository(laptop: Laptop, kind_cluster: KindCluster, demo, team) -> None:
    assert team["done"].returncode == 0, team["done"].stdout + team["done"].stderr
    timer = laptop.read(f"{UNITS}/hostreach-kind-pull.timer")
    assert f"OnUnitActiveSec={EVERY}s" in timer and "WantedBy=timers.target" in timer
    service = laptop.read(f"{UNITS}/hostreach-kind-pull.service")
    assert "Type=oneshot" in service and f"--url file://{REPO}" in service and "Restart=" not in service
    assert laptop.systemctl_user("is-enabled", "hostreach-kind-pull.timer").stdout.strip() == "enabled"
    assert laptop.systemctl_user("is-active", "hostreach-kind-pull.timer").stdout.strip() == "active"
    applied = wait_for(lambda: run_of(laptop, team["first"], "applied"), 180, "the timer's first pull run, applied", interval=2)
    assert applied["good_commit"] == team["first"] and applied["last_run"] > team["installed"]
    rows = summary_rows(laptop, f"{HOME}/urls.json")
    assert [(r["service"], r["reachable"]) for r in rows] == [(DEMO, True)], rows
    assert demo[1].metadata.name == DEMO and kind_cluster.core_v1().read_namespaced_service(DEMO, demo[0]).spec.type == "NodePort"
    # The run's own expose left the timer as this host's expose wrote it, although the team's file names another interval.
    assert laptop.read(f"{UNITS}/hostreach-kind-pull.service") == service and laptop.read(f"{UNITS}/hostreach-kind-pull.timer") == timer


def test_a_change_pushed_is_applied_on_the_next_run(laptop: Laptop, kind_cluster: KindCluster, demo, team) -> None:
    unchanged = wait_for(lambda: run_of(laptop, team["first"], "unchanged"), 60, "a pull run finding the repository unchanged", interval=1)
    assert unchanged["good_commit"] == team["first"]
    moved = {**team["settings"], "hostreach_kind_summary_file": f"{HOME}/urls-moved.json"}
    second = push(laptop, moved, "move the URL table")
    pushed = time.monotonic()
    wait_for(lambda: run_of(laptop, second, "applied"), 120, "the next pull run applying the change", interval=1)
    print(f"pushed -> applied: {time.monotonic() - pushed:.1f} s (a run every {EVERY} s)")
    assert [(r["service"], r["reachable"]) for r in summary_rows(laptop, f"{HOME}/urls-moved.json")] == [(DEMO, True)]
    team["second"] = second


def test_a_bad_commit_fails_its_run_keeps_the_last_good_state_and_is_reported(laptop: Laptop, kind_cluster: KindCluster, demo, team) -> None:
    before = laptop.read(f"{HOME}/urls-moved.json")
    bad = push(laptop, {**team["settings"], "hostreach_kind_reach": "sideways"}, "a typo")
    failed = wait_for(lambda: run_of(laptop, bad, "failed"), 120, "the pull run of the bad commit, failed", interval=1)
    assert "hostreach_kind_reach" in failed["detail"] and "sideways" in failed["detail"], failed
    assert failed["good_commit"] == team["second"]
    assert laptop.read(f"{HOME}/urls-moved.json") == before
    assert kind_cluster.core_v1().read_namespaced_service(DEMO, demo[0]).spec.type == "NodePort"
    assert not laptop.read(f"{STATE}/pull.log").rstrip().rsplit("=== exit ", 1)[1].startswith("0 ")
    doctor = laptop.playbook("hostreach.kind.doctor", {**team["settings"], "doctor_fail_on_broken": False}, team["directory"])
    line = next((x for x in doctor.stdout.splitlines() if "BROKEN" in x and " Pull " in x), "")
    print(f"the doctor's line: {line}")
    assert f"failed (checkout {bad[:12]})" in line and "commit " + team["second"][:12] + " applied" in line and "sideways" in line, doctor.stdout


def test_teardown_stops_the_timer_and_removes_the_units(laptop: Laptop, team) -> None:
    done = laptop.playbook("hostreach.kind.teardown", team["settings"], team["directory"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert laptop.read(f"{UNITS}/hostreach-kind-pull.timer") is None and laptop.read(f"{UNITS}/hostreach-kind-pull.service") is None
    assert laptop.systemctl_user("is-active", "hostreach-kind-pull.timer").stdout.strip() in ("inactive", "unknown")
    ran = status(laptop).get("last_run")
    time.sleep(EVERY + 2)
    assert status(laptop).get("last_run") == ran  # no run since
