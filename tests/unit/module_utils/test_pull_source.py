"""Laptops that pull (issue 21, item 3): what a pull run may be given, and the status it leaves for the doctor."""

from __future__ import annotations

import json

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils._pull_source import (
    UNCHANGED,
    failure_detail,
    next_status,
    only_if_changed,
    source_problems,
)

CHECKOUT = "/home/dev/.local/state/hostreach-kind/pull/checkout"


@pytest.mark.parametrize("url", ["https://git.example.test/team/laptops.git", "git@git.example.test:team/laptops.git", "file:///srv/team.git", "/srv/team"])
def test_the_urls_git_takes_are_accepted(url: str) -> None:
    assert source_problems(url, CHECKOUT, "main", "local.yml") == []


@pytest.mark.parametrize(
    ("url", "checkout", "branch", "playbook", "named"),
    [
        # ansible-pull puts the URL into `-a "name=<url> dest=<dir>"`: a space would give the git module more arguments
        ("https://h/r.git executable=/tmp/evil", CHECKOUT, "", "local.yml", "repository URL"),
        ('https://h/r.git"', CHECKOUT, "", "local.yml", "repository URL"),
        ("--upload-pack=/tmp/evil", CHECKOUT, "", "local.yml", "starts with '-'"),
        ("https://h/r.git\n", CHECKOUT, "", "local.yml", "character other than"),
        # ansible-pull's argument string is templated: braces would run Jinja (a lookup of pipe runs a command)
        ("/tmp/repo{{lookup(*dict(pipe=1,id=2))}}", CHECKOUT, "", "local.yml", "repository URL"),
        ("https://h/r.git", CHECKOUT, "main{{lookup(*dict(pipe=1,id=2))}}", "local.yml", "branch"),
        ("https://h/r.git", "/tmp/co{%if 1%}x{%endif%}", "", "local.yml", "checkout folder"),
        ("https://h/r.git{#", CHECKOUT, "#}", "local.yml", "repository URL"),
        ("https://h/r.git\u2028", CHECKOUT, "", "local.yml", "repository URL"),
        ("", CHECKOUT, "", "local.yml", "URL is empty"),
        ("https://h/r.git", "checkout", "", "local.yml", "not an absolute path"),
        ("https://h/r.git", "/home/dev/my checkout", "", "local.yml", "checkout folder"),
        ("https://h/r.git", CHECKOUT, "main version=x", "local.yml", "branch"),
        ("https://h/r.git", CHECKOUT, "-b", "local.yml", "branch"),
        ("https://h/r.git", CHECKOUT, "", "../../etc/evil.yml", "not a path inside the repository"),
        ("https://h/r.git", CHECKOUT, "", "/etc/evil.yml", "not a path inside the repository"),
        (["https://h/r.git"], CHECKOUT, "", "local.yml", "no string"),
    ],
)
def test_what_ansible_pull_would_read_as_more_than_itself_is_refused_naming_it(url, checkout, branch, playbook, named) -> None:
    problems = source_problems(url, checkout, branch, playbook)
    assert problems and any(named in p for p in problems), problems


FAILED_RUN = """PLAY RECAP *****
localhost : ok=3 changed=0 unreachable=0 failed=1
fatal: [localhost]: FAILED! => {"changed": false, "msg": "localhost failed settings: hostreach_kind_reach is sideways, not one of nodeport, routes, both"}
"""


def test_a_failed_run_says_the_failed_tasks_message_and_keeps_the_last_good_commit() -> None:
    before = {"result": "applied", "commit": "a" * 40, "good_commit": "a" * 40, "good_run": 100.0}
    after = next_status(before, 2, FAILED_RUN, "b" * 40, 200.0)
    assert after["result"] == "failed" and after["commit"] == "b" * 40
    assert after["detail"] == "localhost failed settings: hostreach_kind_reach is sideways, not one of nodeport, routes, both"
    assert after["good_commit"] == "a" * 40 and after["good_run"] == 100.0
    assert not only_if_changed(after)  # the next run runs the playbook again


def test_an_unchanged_repository_is_unchanged_and_a_passed_run_is_the_new_good_state() -> None:
    before = {"result": "applied", "good_commit": "a" * 40, "good_run": 100.0}
    unchanged = next_status(before, 0, f"{UNCHANGED}: b'...'\n", "a" * 40, 200.0)
    assert unchanged["result"] == "unchanged" and unchanged["good_run"] == 100.0 and only_if_changed(unchanged)
    applied = next_status(unchanged, 0, "PLAY RECAP\nlocalhost : ok=40 changed=1\n", "c" * 40, 300.0)
    assert applied == {"result": "applied", "last_run": 300.0, "commit": "c" * 40, "detail": "", "good_commit": "c" * 40, "good_run": 300.0}
    assert not only_if_changed({})  # the first run runs the playbook


@pytest.mark.parametrize(
    ("output", "detail"),
    [
        ("[ERROR]: the playbook: local.yml could not be found\n", "the playbook: local.yml could not be found"),
        ("ERROR! Unable to update repository\n", "Unable to update repository"),
        ("fatal: [localhost]: FAILED! => {not json}\nlast words\n", "last words"),
        ("", "ansible-pull said nothing"),
        ("x" * 1000, "x" * 397 + "..."),
    ],
)
def test_why_a_run_failed_is_its_last_error_or_line_kept_short(output: str, detail: str) -> None:
    assert failure_detail(output) == detail


def test_the_status_is_plain_json() -> None:
    assert json.loads(json.dumps(next_status({}, 1, FAILED_RUN, "", 1.0)))["result"] == "failed"
