"""The watch agent as a service (issue 20, item 1): the command the unit and the plist run, the settings it replays,
how systemd and launchd read what is written, and the doctor's line."""

from __future__ import annotations

import json
import plistlib
import shlex

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.hostreach.kind.plugins.filter.watch_service import (
    AGENT_MODULE,
    watch_agent_command,
    watch_collections_root,
    watch_expose_settings,
    watch_finding,
    watch_launchd_plist,
    watch_systemd_exec,
)

ROLE = "/home/dev/.cache/hostreach-kind/runtime-abc/collections/ansible_collections/hostreach/kind/roles/watch"
ROOT = "/home/dev/.cache/hostreach-kind/runtime-abc/collections"
STATE = "/home/dev/.local/state/hostreach-kind/watch"


def command() -> dict:
    return watch_agent_command("/venv/bin/python", ROOT, STATE, f"{STATE}/expose-settings.json", 60)


def test_the_collections_root_is_the_folder_above_ansible_collections() -> None:
    assert watch_collections_root(ROLE) == ROOT
    assert watch_collections_root(ROLE + "/") == ROOT


@pytest.mark.parametrize("path", ["/work/main/roles/watch", "roles/watch", "/x/ansible_collections/hostreach/kind/plugins/watch", ""])
def test_a_path_that_is_no_installed_role_is_refused_naming_it(path: str) -> None:
    with pytest.raises(AnsibleFilterError, match="is not a role of an installed collection"):
        watch_collections_root(path)


def test_the_agent_runs_as_a_module_of_the_collection_and_replays_the_settings_file() -> None:
    found = command()
    assert found["argv"] == [
        "/venv/bin/python",
        "-m",
        AGENT_MODULE,
        "--interval",
        "60",
        "--state-dir",
        STATE,
        "--retry-start",
        "--",
        "-e",
        f"@{STATE}/expose-settings.json",
    ]
    assert found["environment"]["ANSIBLE_COLLECTIONS_PATH"] == ROOT and found["environment"]["PYTHONPATH"] == ROOT


@pytest.mark.parametrize(
    ("python", "interval", "message"),
    [("python3", 60, "python 'python3' is not an absolute path"), ("/p", 1, "interval 1 is not"), ("/p", "soon", "interval 'soon'")],
)
def test_a_relative_path_or_a_bad_interval_is_refused_naming_it(python: str, interval: object, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        watch_agent_command(python, ROOT, STATE, "/s.json", interval)


def test_the_agents_own_settings_are_not_replayed_and_the_rest_is_kept() -> None:
    values = {
        "hostreach_kind_watch": True,
        "hostreach_kind_watch_run": True,
        "hostreach_kind_reach": "both",
        "hostreach_kind_namespaces": ["a", "b"],
        "hostreach_kind_context": "",
    }
    assert watch_expose_settings(values) == {"hostreach_kind_context": "", "hostreach_kind_namespaces": ["a", "b"], "hostreach_kind_reach": "both"}


def test_an_empty_kubeconfig_or_docker_host_takes_the_environment_this_run_took_them_from() -> None:
    values = {"hostreach_kind_kubeconfig": "", "hostreach_kind_docker_host": "", "hostreach_kind_reach": "nodeport"}
    env = {"KUBECONFIG": "/home/dev/kind.yaml", "K8S_AUTH_KUBECONFIG": "", "DOCKER_HOST": "unix:///home/dev/.colima/docker.sock"}
    found = watch_expose_settings(values, env)
    assert found["hostreach_kind_kubeconfig"] == "/home/dev/kind.yaml" and found["hostreach_kind_docker_host"] == env["DOCKER_HOST"]
    assert watch_expose_settings({**values, "hostreach_kind_kubeconfig": "/set.yaml"}, env)["hostreach_kind_kubeconfig"] == "/set.yaml"
    assert watch_expose_settings(values, {"K8S_AUTH_KUBECONFIG": "/a", "KUBECONFIG": "/b"})["hostreach_kind_kubeconfig"] == "/a"
    assert watch_expose_settings(values, None) == values


def test_a_value_that_is_no_plain_data_is_refused_naming_it() -> None:
    with pytest.raises(AnsibleFilterError, match="hostreach_kind_reach is set"):
        watch_expose_settings({"hostreach_kind_reach": {"both"}})
    with pytest.raises(AnsibleFilterError, match="no mapping"):
        watch_expose_settings(["hostreach_kind_reach"])


def systemd_split(line: str) -> list:
    """How systemd.service(5) splits ExecStart= for these words: double quotes with backslash escapes, %% and $$."""
    return [w.replace("%%", "%").replace("$$", "$") for w in shlex.split(line, posix=True)]


@pytest.mark.parametrize("words", [["/venv/bin/python", "-m", AGENT_MODULE], ["/home/a b/python", 'say "hi"', "back\\slash", "100%", "$HOME", "@file", ""]])
def test_the_exec_line_gives_systemd_exactly_the_words(words: list) -> None:
    assert systemd_split(watch_systemd_exec(words)) == words


def test_a_word_with_a_newline_is_refused_it_would_end_the_setting() -> None:
    with pytest.raises(AnsibleFilterError, match="control character"):
        watch_systemd_exec(["/p", "x\nExecStartPre=/bin/sh"])
    with pytest.raises(AnsibleFilterError, match="no list of strings"):
        watch_systemd_exec("/p")


def test_the_plist_runs_the_command_at_login_again_when_it_fails_with_its_environment() -> None:
    found = plistlib.loads(watch_launchd_plist(command(), "hostreach.kind.watch", "/Users/dev/Library/Logs/w.log").encode())
    assert found["Label"] == "hostreach.kind.watch"
    assert found["ProgramArguments"] == command()["argv"]
    assert found["EnvironmentVariables"] == command()["environment"]
    assert found["RunAtLoad"] is True and found["KeepAlive"] == {"SuccessfulExit": False}
    assert found["StandardOutPath"] == found["StandardErrorPath"] == "/Users/dev/Library/Logs/w.log"


def status(**values: object) -> str:
    return json.dumps({"pid": 7, "last_resync": 1000.0, "last": "cluster kind", "result": "ok", "detail": "", **values})


def test_no_service_is_na_and_says_how_to_install_it() -> None:
    found = watch_finding(False, False, "", "systemd", "start it")
    assert found["status"] == "n/a" and "hostreach_kind_watch=true" in found["detail"] and "not resynced yet" in found["detail"]


def test_installed_but_not_running_is_broken_with_the_fix() -> None:
    found = watch_finding(True, False, status(), "launchd", "launchctl kickstart -k gui/501/hostreach.kind.watch", now=1030)
    assert found["status"] == "broken" and found["fix"].startswith("launchctl kickstart") and "last resync 30 s ago" in found["detail"]


def test_a_failed_last_resync_is_broken_with_the_agents_message() -> None:
    found = watch_finding(True, True, status(result="FAILED", detail="the kind cluster is gone"), "systemd", "start it", now=1002)
    assert found["status"] == "broken" and "the kind cluster is gone" in found["detail"]


def test_running_and_resynced_is_ok_with_when() -> None:
    found = watch_finding(True, True, status(), "systemd", "start it", now=1005)
    assert found == {"link": "Watch agent", "status": "ok", "detail": "the systemd service runs; last resync 5 s ago (cluster kind: ok)", "fix": ""}
    assert watch_finding(True, True, "{not json", "systemd", "x")["detail"].endswith("it has not resynced yet")
