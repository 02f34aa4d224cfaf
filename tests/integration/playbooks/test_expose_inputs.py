"""expose.yml takes its settings from the command line as a user types them, checks them with Ansible's own role
argument validation, and refuses scope-widening input before it changes anything (tier 1 apiserver)."""

from __future__ import annotations

import json
import random
import re
import subprocess

import pytest
from ansible_runner import playbook
from harness.tier1 import Tier1

pytestmark = pytest.mark.tier1


def expose(tier1: Tier1, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`ansible-playbook hostreach.kind.expose` in direct mode with only the services step, against tier 1.

    `args` come last on the command line, as a user types them, so an `-e` in them overrides the settings given here.
    """
    settings = {
        "hostreach_kind_mode": "direct",
        "hostreach_kind_steps": ["services"],
        "hostreach_kind_kubeconfig": tier1.kubeconfig,
        "hostreach_kind_context": tier1.context,
    }
    return playbook("hostreach.kind.expose", settings, args=args, env=env)


def types_of(tier1: Tier1, namespace: str) -> dict:
    return {s.metadata.name: s.spec.type for s in tier1.core_v1().list_namespaced_service(namespace).items}


def add_service(tier1: Tier1, namespace: str, name: str = "web") -> None:
    body = {"metadata": {"name": name}, "spec": {"selector": {"app": "x"}, "ports": [{"name": "http", "port": 80}]}}
    tier1.core_v1().create_namespaced_service(namespace, body)


def task_output(stdout: str, task: str) -> str:
    """What the default callback printed for the task whose name ends with `task` (up to the next task header)."""
    found = re.search(rf"^TASK \[[^\]]*{re.escape(task)}\] \**\n(.*?)(?=^TASK |^PLAY RECAP)", stdout, re.M | re.S)
    assert found, f"no task {task!r} in:\n{stdout}"
    return found.group(1)


@pytest.mark.parametrize(
    ("value", "says"), [("", "namespaces[0] is empty"), ("adv,", "namespaces[1] is empty"), ("..", "namespaces[0] '..' is not a DNS-1123 label")]
)
def test_an_empty_or_path_like_namespace_from_the_command_line_changes_no_service(tier1: Tier1, tier1_namespace: str, value: str, says: str) -> None:
    add_service(tier1, tier1_namespace, "bystander")
    done = expose(tier1, "-e", f"hostreach_kind_namespaces={value}")
    assert done.returncode != 0, done.stdout
    assert says in done.stdout
    assert types_of(tier1, tier1_namespace) == {"bystander": "ClusterIP"}


@pytest.mark.parametrize("steps", ["services", "container,services"])
def test_steps_given_as_a_comma_separated_string_run_as_that_list(tier1: Tier1, tier1_namespace: str, steps: str) -> None:
    add_service(tier1, tier1_namespace)
    done = expose(tier1, "-e", f"hostreach_kind_steps={steps}", "-e", f"hostreach_kind_namespaces={tier1_namespace}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"steps {steps.replace(',', ', ')}" in done.stdout  # the mode line lists the steps as a list
    assert types_of(tier1, tier1_namespace) == {"web": "NodePort"}


def test_direct_mode_with_only_the_services_step_asks_no_docker_engine(tier1: Tier1, tier1_namespace: str) -> None:
    add_service(tier1, tier1_namespace)
    done = expose(tier1, "-e", f"hostreach_kind_namespaces={tier1_namespace}", env={"DOCKER_HOST": "unix:///nonexistent"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Docker not asked, no step needs it" in done.stdout
    assert types_of(tier1, tier1_namespace) == {"web": "NodePort"}


def test_an_unreachable_engine_a_step_needs_fails_naming_the_endpoint_before_any_change(tier1: Tier1, tier1_namespace: str) -> None:
    add_service(tier1, tier1_namespace)
    done = expose(
        tier1,
        "-e",
        "hostreach_kind_mode=connector",
        "-e",
        "hostreach_kind_steps=container,services",
        "-e",
        f"hostreach_kind_namespaces={tier1_namespace}",
        env={"DOCKER_HOST": "unix:///nonexistent"},
    )
    assert done.returncode != 0, done.stdout
    assert "No Docker engine answers at unix:///nonexistent (nothing listens at that path), and the container step needs it." in done.stdout
    assert "Error while fetching server API version" not in done.stdout + done.stderr
    assert types_of(tier1, tier1_namespace) == {"web": "ClusterIP"}


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("hostreach_kind_mode=bogus", "value of hostreach_kind_mode must be one of: auto, connector, direct, got: bogus"),
        (
            "hostreach_kind_steps=services,bogus",
            "value of hostreach_kind_steps must be one or more of: connector, container, services. Got no match for: bogus",
        ),
    ],
)
def test_a_setting_outside_its_choices_is_refused_by_the_role_argument_validation(tier1: Tier1, tier1_namespace: str, setting: str, says: str) -> None:
    add_service(tier1, tier1_namespace)
    done = expose(tier1, "-e", setting, "-e", f"hostreach_kind_namespaces={tier1_namespace}")
    assert done.returncode != 0, done.stdout
    assert "Validating arguments against arg spec 'main'" in done.stdout
    assert says in done.stdout
    assert types_of(tier1, tier1_namespace) == {"web": "ClusterIP"}


def test_a_check_run_waits_for_no_nodeport_to_answer(tier1: Tier1, tier1_namespace: str, tier1_node: str) -> None:
    """A fixed nodePort has a URL in check mode (tier 1 runs no kube-proxy, so it never answers): nothing waits for it."""
    add_service(tier1, tier1_namespace)
    node_port = random.randint(*tier1.node_port_range)
    services = [{"name": "web", "namespace": tier1_namespace, "node_ports": {"http": node_port}}]
    done = expose(tier1, "--check", "-v", "-e", json.dumps({"hostreach_kind_services": services}))
    assert done.returncode == 0, done.stdout + done.stderr
    probed = task_output(done.stdout, "Switch the Services to NodePort and probe their URLs (state=present)")
    assert re.findall(r'"waited": ([0-9.]+)', probed) == ["0.0"]  # its one URL, probed once, never waited for
    assert "Wait for the new nodePorts" not in done.stdout  # the role calls the module once; no re-probe loop
    assert f":{node_port}" in task_output(done.stdout, "Summary")
    assert "Unknown error" not in done.stdout
    assert types_of(tier1, tier1_namespace) == {"web": "ClusterIP"}
