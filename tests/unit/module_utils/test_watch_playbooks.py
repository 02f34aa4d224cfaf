"""What a narrowed run did, read from its output (module_utils/_watch_playbooks), and the agent's atomic writes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ansible_collections.hostreach.kind.plugins.module_utils._watch_playbooks import Playbooks, outcome_of, published_rows, write_atomically

RECAP_OK = "PLAY RECAP ***\nlocalhost                  : ok=28   changed=2    unreachable=0    failed=0    skipped=26   rescued=0    ignored=0   \n"
FATAL = (
    'fatal: [localhost]: FAILED! => {"changed": false, "msg": "localhost failed at \\"Switch the Services\\": kubeconfig /k has no context \'kind-gone\'"}\n'
)
RECAP_FAILED = "PLAY RECAP ***\nlocalhost                  : ok=27   changed=0    unreachable=0    failed=1    skipped=22   rescued=1    ignored=0\n"


def test_a_run_that_passed_says_how_many_tasks_changed() -> None:
    outcome = outcome_of(0, "TASK [x]\n" + RECAP_OK, 3.5, [{"cluster": "dev"}])
    assert outcome == (True, 2, "", 3.5, [{"cluster": "dev"}])


def test_a_failed_run_carries_exposes_own_message_unescaped() -> None:
    outcome = outcome_of(2, FATAL + RECAP_FAILED, 4.0, None)
    assert not outcome.ok
    assert outcome.detail == "localhost failed at \"Switch the Services\": kubeconfig /k has no context 'kind-gone'"


def test_a_run_that_died_without_a_closing_summary_says_so_with_its_last_lines() -> None:
    outcome = outcome_of(4, "ERROR! the playbook could not be found\n", 0.3, None)
    assert outcome.detail == "ansible-playbook exited 4: ERROR! the playbook could not be found"


def test_the_atomic_write_replaces_the_file_whole_and_skips_an_identical_one(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "summary.json"
    assert write_atomically(str(target), "[1]\n") is True
    inode = target.stat().st_ino
    assert write_atomically(str(target), "[1]\n") is False and target.stat().st_ino == inode
    assert write_atomically(str(target), "[2]\n") is True and target.read_text() == "[2]\n"
    assert target.stat().st_ino != inode  # a new file renamed over the old: a reader sees one or the other
    assert sorted(os.listdir(target.parent)) == ["summary.json"]  # no temporary file left


def test_every_run_of_the_agent_says_it_is_the_agents_after_the_users_arguments(tmp_path: Path) -> None:
    """The user's -e hostreach_kind_watch=true (or a replayed settings file) must not make the agent's own runs install
    or remove the agent's service: its extra vars come last and carry hostreach_kind_watch_run."""
    seen = tmp_path / "argv.json"
    fake = tmp_path / "ansible-playbook"
    fake.write_text(f"#!{sys.executable}\nimport json, sys\njson.dump(sys.argv[1:], open({str(seen)!r}, 'w'))\n")
    fake.chmod(0o755)
    Playbooks(["-e", "hostreach_kind_watch=true"], str(tmp_path), str(fake)).run("teardown", {"hostreach_kind_steps": ["services"]})
    argv = json.loads(seen.read_text())
    assert argv[:3] == ["hostreach.kind.teardown", "-e", "hostreach_kind_watch=true"]
    assert argv[3] == "-e" and json.loads(argv[4])["hostreach_kind_watch_run"] is True and len(argv) == 5


def test_the_rows_of_a_run_come_from_the_outcome_its_closing_play_published() -> None:
    """The default callback prints set_stats's per-run data as one line, tab, RUN: and the JSON (show_custom_stats)."""
    rows = [{"cluster": "dev", "url": "http://172.18.0.2:30080", "reachable": True}, {"cluster": "dev", "url": None}]
    published = {"hostreach_kind_hosts": {"localhost": {"result": "ok", "what": "1 URLs, 1 reachable", "urls": rows}}}
    output = RECAP_OK + "\nCUSTOM STATS: ****\n\tRUN: " + json.dumps(published, indent=1).replace("\n", "") + "\n"
    assert published_rows(output) == rows
    assert published_rows(RECAP_OK) is None  # no services step, or the run ended before its closing play
    assert published_rows(RECAP_OK + "\tRUN: {not json\n") is None
    assert published_rows(RECAP_OK + '\tRUN: {"other": 1}\n') is None


def test_the_agents_runs_share_a_fact_cache_of_its_own_that_starts_empty(tmp_path: Path) -> None:
    stale = tmp_path / "facts" / "localhost"
    stale.parent.mkdir()
    stale.write_text("{}")
    env = Playbooks([], str(tmp_path)).env
    assert not stale.exists()  # an earlier agent's facts are not this one's
    assert env["ANSIBLE_CACHE_PLUGIN"] == "ansible.builtin.jsonfile" and env["ANSIBLE_CACHE_PLUGIN_CONNECTION"] == str(stale.parent)
    assert env["ANSIBLE_SHOW_CUSTOM_STATS"] == "1"
