"""kind_nodeport's entry point without a cluster: argument checks and the errors raised before any
request (issue 4, behaviour 9). Runs the module the way Ansible does, through the `ansible` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
SYSTEM_PYTHON = "/usr/bin/python3"


def ansible_adhoc(args: dict, python: str = sys.executable, env: dict | None = None) -> dict:
    """Run the module on localhost with the given interpreter; the task's result."""
    environ = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "collections"),
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        **(env or {}),
    }
    ansible = str(Path(sys.executable).parent / "ansible")
    command = [ansible, "localhost", "-e", f"ansible_python_interpreter={python}", "-m", "hostreach.kind.kind_nodeport", "-a", json.dumps(args)]
    out = subprocess.run(command, env=environ, stdout=subprocess.PIPE, text=True, check=False, timeout=120).stdout
    return json.loads(out)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_services_or_namespaces_is_required() -> None:
    result = ansible_adhoc({"cluster": "kind"})
    assert result["failed"]
    assert result["msg"] == "one of the following is required: services, namespaces"


def test_label_selector_needs_namespaces() -> None:
    result = ansible_adhoc({"services": [{"name": "web"}], "label_selector": "app=web"})
    assert result["failed"]
    assert "label_selector" in result["msg"] and "namespaces" in result["msg"]


def test_no_kubeconfig_fails_saying_where_it_looked(tmp_path: Path) -> None:
    result = ansible_adhoc({"services": [{"name": "web"}]}, env={"HOME": str(tmp_path), "KUBECONFIG": "", "K8S_AUTH_KUBECONFIG": ""})
    assert result["failed"]
    assert result["msg"].startswith(f"no kubeconfig found: looked at {tmp_path}/.kube/config (the default location)")


@pytest.mark.skipif(
    subprocess.run([SYSTEM_PYTHON, "-c", "import kubernetes"], capture_output=True, check=False).returncode == 0, reason="needs an interpreter without the SDK"
)
def test_missing_sdk_names_the_target_interpreter() -> None:
    result = ansible_adhoc({"services": [{"name": "web"}]}, python=SYSTEM_PYTHON)
    assert result["failed"]
    assert "Failed to import the required Python library (kubernetes)" in result["msg"]
    assert SYSTEM_PYTHON in result["msg"]


def documented_tasks() -> list:
    """The kind_nodeport tasks of the module's EXAMPLES and of README.md's `## kind_nodeport` section."""
    from ansible_collections.hostreach.kind.plugins.modules import kind_nodeport

    section = (REPO / "README.md").read_text().split("## kind_nodeport", 1)[1].split("\n## ", 1)[0]
    indented = "\n".join(line[4:] for line in section.splitlines() if line.startswith("    "))
    tasks = yaml.safe_load(kind_nodeport.EXAMPLES) + yaml.safe_load(indented)
    return [task for task in tasks if "hostreach.kind.kind_nodeport" in task]


@pytest.mark.parametrize("task", documented_tasks(), ids=lambda task: task.get("name", "?")[:50])
def test_documented_examples_are_valid_arguments(task: dict) -> None:
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible_collections.hostreach.kind.plugins.modules import kind_nodeport

    spec = kind_nodeport.argument_spec()
    rules = {k: v for k, v in spec.items() if k in ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")}
    result = ArgumentSpecValidator(spec["argument_spec"], **rules).validate(task["hostreach.kind.kind_nodeport"])
    assert result.error_messages == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ({"namespaces": [""]}, "namespaces[0] is empty"),
        ({"namespaces": [".."]}, "namespaces[0] '..' is not a DNS-1123 label"),
        ({"namespaces": ["adv", ""]}, "namespaces[1] is empty"),
        ({"namespaces": "adv,"}, "namespaces[1] is empty"),  # a trailing comma, as from -e hostreach_kind_namespaces=adv,
        ({"services": [{"name": "x", "namespace": ".."}]}, "services[0].namespace '..' is not a DNS-1123 label"),
        ({"services": [{"name": "", "namespace": "default"}]}, "services[0].name is empty"),
        ({"services": [{"name": "../secrets/x"}]}, "services[0].name '../secrets/x' is not a DNS-1123 label"),
    ],
)
def test_a_name_that_would_widen_or_move_the_request_is_refused_before_any_request(args: dict, says: str, tmp_path: Path) -> None:
    # No kubeconfig exists under this HOME: had the module got as far as connecting, it would say so instead.
    result = ansible_adhoc(args, env={"HOME": str(tmp_path), "KUBECONFIG": "", "K8S_AUTH_KUBECONFIG": ""})
    assert result["failed"]
    assert says in result["msg"]
    assert result["msg"].endswith("nothing was asked of the cluster")
