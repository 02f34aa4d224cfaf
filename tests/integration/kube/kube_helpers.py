"""Helpers for kind_nodeport's tests against the real tier 1 apiserver; fixtures in conftest.py.

Services are made with the admin client; the module runs as users run it (ansible_runner.playbook_task, a task of
`ansible-playbook`), or in-process (the `in_process` fixture) where a test has to count the module's HTTP requests
or slip a concurrent write in between its read and its write.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from kubernetes import client

from harness.tier1 import Tier1

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


class Hello(BaseHTTPRequestHandler):
    """What answers 200 on a URL a test serves itself (tier 1 runs no kube-proxy and no pods)."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass
