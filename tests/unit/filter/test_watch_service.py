"""The watch agent as a service (issue 20, item 1): the command the unit and the plist run, the settings it replays,
and the doctor's line (how systemd and launchd read what is written: test_user_service.py)."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.hostreach.kind.plugins.filter.watch_service import (
    AGENT_MODULE,
    watch_agent_command,
    watch_expose_settings,
    watch_finding,
)

ROOT = "/home/dev/.cache/hostreach-kind/runtime-abc/collections"
STATE = "/home/dev/.local/state/hostreach-kind/watch"


def command() -> dict:
    return watch_agent_command("/venv/bin/python", ROOT, STATE, f"{STATE}/expose-settings.json", 60)


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
    unreadable = watch_finding(True, True, "{not json", "systemd", "x")
    assert unreadable["status"] == "broken" and "status.json is not JSON: " in unreadable["detail"]
