"""The pull run (extensions/pull/run.py) with the real ansible-pull of this venv and real git, on a repository the test
makes: the first run applies its commit, a rerun finds it unchanged and runs nothing, a commit whose playbook fails is
reported with why while the last good commit is kept, the next good commit is applied; a run that finds the lock held
ends at once and runs nothing."""

from __future__ import annotations

import fcntl
import json
import subprocess
import time
from pathlib import Path

import pytest
from ansible_collections.hostreach.kind.extensions.pull import run
from ansible_collections.hostreach.kind.extensions.pull.run import main

PLAY = """- name: The team's play
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Say what was pulled
      ansible.builtin.assert:
        that: {that}
        fail_msg: the team's setting is bad
"""


def commit(repo: Path, that: str) -> str:
    (repo / "local.yml").write_text(PLAY.format(that=that))
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run([*git, "add", "local.yml"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", that], check=True)
    return subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def team(tmp_path: Path) -> tuple[Path, list[str]]:
    repo = tmp_path / "team"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    args = ["--url", f"file://{repo}", "--checkout", str(tmp_path / "checkout"), "--state-dir", str(tmp_path / "state")]
    return repo, args


def status(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "state" / "status.json").read_text())


def test_applied_unchanged_failed_and_applied_again(tmp_path: Path, team) -> None:
    repo, args = team
    good = commit(repo, "true")
    assert main(args) == 0
    first = status(tmp_path)
    assert first == {"result": "applied", "last_run": first["last_run"], "commit": good, "detail": "", "good_commit": good, "good_run": first["last_run"]}
    assert main(args) == 0 and status(tmp_path)["result"] == "unchanged"
    bad = commit(repo, "false")
    assert main(args) != 0
    found = status(tmp_path)
    assert found["result"] == "failed" and found["commit"] == bad and found["good_commit"] == good
    assert "the team's setting is bad" in found["detail"]
    assert main(args) != 0 and status(tmp_path)["result"] == "failed"  # unchanged, but after a failure the playbook runs again
    fixed = commit(repo, "1 == 1")
    assert main(args) == 0 and status(tmp_path)["good_commit"] == fixed
    log = (tmp_path / "state" / "pull.log").read_text()
    assert log.count("=== exit ") == 5 and "--only-if-changed" in log


def test_a_run_that_finds_the_lock_held_ends_and_runs_nothing(tmp_path: Path, team, capsys: pytest.CaptureFixture) -> None:
    repo, args = team
    commit(repo, "true")
    (tmp_path / "state").mkdir()
    with (tmp_path / "state" / "lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert main(args) == 0
    assert "another run holds" in capsys.readouterr().out
    assert not (tmp_path / "state" / "status.json").exists() and not (tmp_path / "checkout").exists()


def test_a_url_that_would_be_an_option_is_refused_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["--url", "--upload-pack=touch /tmp/x", "--checkout", str(tmp_path / "c"), "--state-dir", str(tmp_path / "s")])
    assert ended.value.code == 2 and not (tmp_path / "s").exists()


def test_a_run_past_the_timeout_is_ended_with_what_it_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run, "RUN_TIMEOUT", 1)
    mark = tmp_path / "left-behind"
    returncode, output = run.run_pull(["sh", "-c", f"(sleep 2; touch {mark}) & printf 'started \\377\\n'; sleep 100"])
    time.sleep(2.5)
    assert returncode == 124 and "took longer than 1 s" in output
    assert "started \ufffd" in output  # a byte that is no UTF-8 is replaced, not fatal
    assert not mark.exists()  # the child it started went with it
