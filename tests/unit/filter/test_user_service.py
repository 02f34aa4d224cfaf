"""A program of the collection as the user's service (roles/_user_service): the collection's folder, how systemd reads
the ExecStart= written, and the LaunchAgent of a program that runs all the time (the watch agent) or every N seconds
(the pull run)."""

from __future__ import annotations

import plistlib
import shlex

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.hostreach.kind.plugins.filter.user_service import collections_root, service_exec, service_plist

ROLE = "/home/dev/.cache/hostreach-kind/runtime-abc/collections/ansible_collections/hostreach/kind/roles/watch"
ROOT = "/home/dev/.cache/hostreach-kind/runtime-abc/collections"
COMMAND = {"argv": ["/venv/bin/python", "-m", "ansible_collections.hostreach.kind.extensions.pull.run"], "environment": {"PYTHONPATH": ROOT}}
LOG = "/Users/dev/Library/Logs/w.log"


def test_the_collections_root_is_the_folder_above_ansible_collections() -> None:
    assert collections_root(ROLE) == ROOT
    assert collections_root(ROLE + "/") == ROOT


@pytest.mark.parametrize("path", ["/work/main/roles/watch", "roles/watch", "/x/ansible_collections/hostreach/kind/plugins/watch", ""])
def test_a_path_that_is_no_installed_role_is_refused_naming_it(path: str) -> None:
    with pytest.raises(AnsibleFilterError, match="is not a role of an installed collection"):
        collections_root(path)


def systemd_split(line: str) -> list:
    """How systemd.service(5) splits ExecStart= for these words: double quotes with backslash escapes, %% and $$."""
    return [w.replace("%%", "%").replace("$$", "$") for w in shlex.split(line, posix=True)]


@pytest.mark.parametrize("words", [COMMAND["argv"], ["/home/a b/python", 'say "hi"', "back\\slash", "100%", "$HOME", "@file", ""]])
def test_the_exec_line_gives_systemd_exactly_the_words(words: list) -> None:
    assert systemd_split(service_exec(words)) == words


def test_an_environment_line_keeps_dollars_systemd_expands_no_variables_there() -> None:
    assert service_exec(["PYTHONPATH=/opt/$x/100%"], environment=True) == '"PYTHONPATH=/opt/$x/100%%"'
    assert service_exec(["/opt/$x"]) == '"/opt/$$x"'


def test_a_word_with_a_newline_is_refused_it_would_end_the_setting() -> None:
    with pytest.raises(AnsibleFilterError, match="control character"):
        service_exec(["/p", "x\nExecStartPre=/bin/sh"])
    with pytest.raises(AnsibleFilterError, match="no list of strings"):
        service_exec("/p")


def test_a_program_that_runs_all_the_time_is_started_at_login_and_again_when_it_fails() -> None:
    found = plistlib.loads(service_plist(COMMAND, "hostreach.kind.watch", LOG).encode())
    assert found["Label"] == "hostreach.kind.watch"
    assert found["ProgramArguments"] == COMMAND["argv"] and found["EnvironmentVariables"] == COMMAND["environment"]
    assert found["RunAtLoad"] is True and found["KeepAlive"] == {"SuccessfulExit": False} and "StartInterval" not in found
    assert found["StandardOutPath"] == found["StandardErrorPath"] == LOG


def test_a_program_started_every_n_seconds_has_a_start_interval_and_no_keep_alive() -> None:
    found = plistlib.loads(service_plist(COMMAND, "hostreach.kind.pull", LOG, 1800).encode())
    assert found["StartInterval"] == 1800 and found["RunAtLoad"] is True and "KeepAlive" not in found


@pytest.mark.parametrize("every", [-5, "soon", None])
def test_a_bad_interval_or_command_is_refused(every: object) -> None:
    with pytest.raises(AnsibleFilterError, match="no whole number of seconds"):
        service_plist(COMMAND, "l", LOG, every)
    with pytest.raises(AnsibleFilterError, match="no command"):
        service_plist({"argv": "python"}, "l", LOG)
