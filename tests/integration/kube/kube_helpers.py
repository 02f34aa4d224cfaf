"""Helpers for kind_nodeport's tests against the real tier 1 apiserver (issue 4); fixtures in conftest.py.

Services are made with the admin client; the module runs as users run it (`ansible-playbook` with the
venv's Ansible and ANSIBLE_COLLECTIONS_PATH=.build/collections), or in-process where a test has to
count the module's HTTP requests or slip a concurrent write in between its read and its write.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.hostreach.kind.plugins.modules import kind_nodeport
from harness.tier1 import Tier1
from kubernetes import client

REPO = Path(__file__).resolve().parents[3]
ANNOTATION = "hostreach.kind/original"


@dataclass
class Kube:
    """The tier 1 cluster as the tests see it: admin client, module arguments, Services as JSON."""

    tier1: Tier1
    core: client.CoreV1Api

    def args(self, **options) -> dict:
        return {"kubeconfig": self.tier1.kubeconfig, "context": self.tier1.context, **options}

    def create(self, namespace: str, name: str, ports=(("http", 80, "TCP"),), labels=None, **spec) -> dict:
        body = {
            "metadata": {"name": name, "labels": labels or {"app": name}},
            "spec": {"selector": {"app": name}, "ports": [{"name": n, "port": p, "protocol": proto} for n, p, proto in ports], **spec},
        }
        self.core.create_namespaced_service(namespace, body)
        return self.read(namespace, name)

    def ready_endpoints(self, namespace: str, name: str, ports: list, ready: bool = True) -> None:
        """An EndpointSlice for the Service, as a controller would write one for a pod (tier 1 runs no pods; the pod
        address is never contacted, only counted): `ports` are (name, port)."""
        body = {
            "metadata": {"name": f"{name}-test", "labels": {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "hostreach-test"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": ready}}],
            "ports": [{"name": n, "port": p, "protocol": "TCP"} for n, p in ports],
        }
        client.DiscoveryV1Api(self.core.api_client).create_namespaced_endpoint_slice(namespace, body)

    def read(self, namespace: str, name: str) -> dict:
        """The Service exactly as the apiserver stores it (JSON, camelCase)."""
        return json.loads(self.core.read_namespaced_service(name, namespace, _preload_content=False).data)

    def rv(self, namespace: str, name: str) -> str:
        return self.read(namespace, name)["metadata"]["resourceVersion"]

    def free_node_port(self) -> int:
        """A nodePort no Service holds now (random, so parallel tests rarely pick the same)."""
        taken = {p.node_port for s in self.core.list_service_for_all_namespaces().items for p in s.spec.ports or [] if p.node_port}
        low, high = self.tier1.node_port_range
        return random.choice([n for n in range(low, high + 1) if n not in taken])


def playbook(args: dict, check: bool = False, diff: bool = False, env: dict | None = None) -> dict:
    """Runs the module in a one-task playbook with ansible-playbook; returns the task's result."""
    tasks = [{"name": "kind_nodeport", "hostreach.kind.kind_nodeport": args, "ignore_errors": True}]
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    environ = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "collections"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        **(env or {}),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as file:
        json.dump(play, file)
        file.flush()
        command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", file.name]
        command += ["--check"] * check + ["--diff"] * diff
        done = subprocess.run(command, env=environ, stdout=subprocess.PIPE, text=True, check=False, timeout=300)
    return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


@dataclass
class InProcess:
    """The module's main() in this process; `requests` lists (method, path) of every API request made
    while it ran (the module's, and a concurrent writer's that a test slips in)."""

    capsys: pytest.CaptureFixture
    requests: list
    running: bool = False

    def __call__(self, args: dict, check_mode: bool = False) -> dict:
        self.requests.clear()
        self.capsys.readouterr()
        self.running = True
        try:
            with patch_module_args({**args, "_ansible_check_mode": check_mode, "_ansible_diff": True}), pytest.raises(SystemExit):
                kind_nodeport.main()
        finally:
            self.running = False
        return json.loads(self.capsys.readouterr().out)
