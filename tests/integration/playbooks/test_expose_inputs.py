"""expose.yml refuses scope-widening input from the command line before it changes anything (tier 1 apiserver)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from harness.tier1 import Tier1

pytestmark = pytest.mark.tier1

REPO = Path(__file__).resolve().parents[3]


def expose(tier1: Tier1, *extra: str) -> subprocess.CompletedProcess:
    """`ansible-playbook hostreach.kind.expose` in direct mode with only the services step, against tier 1."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0")
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "hostreach.kind.expose", "-e", "hostreach_kind_mode=direct"]
    command += [
        "-e",
        '{"hostreach_kind_steps": ["services"]}',
        "-e",
        f"hostreach_kind_kubeconfig={tier1.kubeconfig}",
        "-e",
        f"hostreach_kind_context={tier1.context}",
    ]
    return subprocess.run([*command, *extra], env=env, capture_output=True, text=True, check=False, timeout=300)


def types_of(tier1: Tier1, namespace: str) -> dict:
    return {s.metadata.name: s.spec.type for s in tier1.core_v1().list_namespaced_service(namespace).items}


@pytest.mark.parametrize(
    ("value", "says"), [("", "namespaces[0] is empty"), ("adv,", "namespaces[1] is empty"), ("..", "namespaces[0] '..' is not a DNS-1123 label")]
)
def test_an_empty_or_path_like_namespace_from_the_command_line_changes_no_service(tier1: Tier1, tier1_namespace: str, value: str, says: str) -> None:
    body = {"metadata": {"name": "bystander"}, "spec": {"selector": {"app": "x"}, "ports": [{"name": "http", "port": 80}]}}
    tier1.core_v1().create_namespaced_service(tier1_namespace, body)
    done = expose(tier1, "-e", f"hostreach_kind_namespaces={value}")
    assert done.returncode != 0, done.stdout
    assert says in done.stdout
    assert types_of(tier1, tier1_namespace) == {"bystander": "ClusterIP"}
