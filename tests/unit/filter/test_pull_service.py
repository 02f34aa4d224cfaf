"""Laptops that pull (issue 21, item 3): the pull run's command for its timer, and the doctor's line."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.hostreach.kind.plugins.filter.pull_service import RUN_MODULE, pull_command, pull_finding

ROOT = "/home/dev/.ansible/collections"
STATE = "/home/dev/.local/state/hostreach-kind/pull"
URL = "file:///srv/team.git"
FIX = "systemctl --user restart hostreach-kind-pull.timer"


def test_the_pull_run_is_a_module_of_the_collection_on_the_repository() -> None:
    found = pull_command(URL, "/venv/bin/python", ROOT, STATE, f"{STATE}/checkout", "laptops", "team/local.yml")
    assert found["argv"] == [
        "/venv/bin/python", "-m", RUN_MODULE, "--url", URL, "--checkout", f"{STATE}/checkout", "--state-dir", STATE,
        "--playbook", "team/local.yml", "--branch", "laptops",
    ]  # fmt: skip
    assert found["environment"] == {"ANSIBLE_COLLECTIONS_PATH": ROOT, "PYTHONPATH": ROOT, "PYTHONUNBUFFERED": "1"}
    assert "--branch" not in pull_command(URL, "/venv/bin/python", ROOT, STATE, f"{STATE}/checkout")["argv"]


@pytest.mark.parametrize(
    ("url", "python", "message"),
    [
        ("https://h/r.git executable=/tmp/evil", "/venv/bin/python", "character other than"),
        ("", "/venv/bin/python", "URL is empty"),
        (URL, "python3", "python 'python3' is not an absolute path"),
    ],
)
def test_a_url_ansible_pull_would_read_as_more_or_a_relative_python_is_refused(url: str, python: str, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        pull_command(url, python, ROOT, STATE, f"{STATE}/checkout")


def status(**values: object) -> str:
    base = {"result": "applied", "last_run": 1000.0, "commit": "a" * 40, "detail": "", "good_commit": "a" * 40, "good_run": 1000.0}
    return json.dumps(base | values)


def test_no_timer_is_na_and_says_how_to_install_it() -> None:
    found = pull_finding(False, False, "", "systemd", FIX, f"{STATE}/pull.log")
    assert found["status"] == "n/a" and "hostreach_kind_pull=" in found["detail"] and "not run yet" in found["detail"]


def test_a_timer_not_active_is_broken_with_the_fix() -> None:
    found = pull_finding(True, False, status(), "systemd", FIX, f"{STATE}/pull.log", now=1060)
    assert found["status"] == "broken" and found["fix"] == FIX and "last run 60 s ago: applied (checkout aaaaaaaaaaaa)" in found["detail"]


def test_a_failed_run_is_broken_with_why_and_the_commit_still_applied() -> None:
    text = status(result="failed", last_run=2000.0, commit="b" * 40, detail="localhost failed settings: bad reach")
    found = pull_finding(True, True, text, "launchd", FIX, f"{STATE}/pull.log", now=2010)
    assert found["status"] == "broken"
    assert found["detail"] == (
        "the launchd timer is active; last run 10 s ago: failed (checkout bbbbbbbbbbbb); commit aaaaaaaaaaaa applied 1010 s ago: "
        "localhost failed settings: bad reach"
    )
    assert f"{STATE}/pull.log" in found["fix"]


def test_an_active_timer_whose_last_run_passed_is_ok() -> None:
    found = pull_finding(True, True, status(result="unchanged", last_run=1500.0), "systemd", FIX, f"{STATE}/pull.log", now=1510)
    assert found == {
        "link": "Pull",
        "status": "ok",
        "detail": "the systemd timer is active; last run 10 s ago: unchanged (checkout aaaaaaaaaaaa); commit aaaaaaaaaaaa applied 510 s ago",
        "fix": "",
    }
    # a status.json that is no JSON object says nothing good: broken, naming why (the run writes it atomically)
    for text, why in (("{broken json", "status.json is not JSON: "), ("[1]", "status.json holds a list, not an object")):
        found = pull_finding(True, True, text, "systemd", FIX, "l")
        assert found["status"] == "broken" and why in found["detail"] and "the next run writes it anew" in found["detail"]
    # a hand-edited time that is no finite number reads as never, and breaks nothing
    assert "last run never" in pull_finding(True, True, status(last_run=float("inf"), good_run=float("nan")), "systemd", FIX, "l")["detail"]
