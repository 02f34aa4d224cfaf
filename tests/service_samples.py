"""Service objects as the apiserver returns them, and a small RFC 6902 applier, for the pure planners' tests.

Where the apiserver would act on a write (allocate a nodePort, default externalTrafficPolicy), a stand-in
for that step runs, named as such; the real apiserver runs the same patches in tests/integration/kube.
"""

from __future__ import annotations

import copy

from ansible_collections.hostreach.kind.plugins.module_utils import _nodeport_plan


def service(name="web", namespace="default", ports=None, rv="100", **spec):
    return {
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": rv, "labels": {"app": name}},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "10.96.0.10",
            "selector": {"app": name},
            "ports": ports or [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
            **spec,
        },
    }


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def apply_json_patch(document: dict, patch: list) -> dict:
    """RFC 6902 add/replace/remove on objects: all the planner emits."""
    document = copy.deepcopy(document)
    for op in patch:
        *parents, last = [_unescape(t) for t in op["path"].split("/")[1:]]
        target = document
        for token in parents:
            target = target[token]
        if op["op"] == "remove":
            del target[last]
        elif op["op"] == "replace":
            assert last in target, f"replace of missing {op['path']}"
            target[last] = copy.deepcopy(op["value"])
        else:
            assert op["op"] == "add"
            target[last] = copy.deepcopy(op["value"])
    return document


def apiserver_stand_in(svc: dict, first_free: int = 30000) -> dict:
    """Stand-in for the apiserver's side of a write (not the real thing): allocate missing nodePorts,
    default externalTrafficPolicy, bump the resourceVersion."""
    svc = copy.deepcopy(svc)
    spec = svc["spec"]
    if spec["type"] in ("NodePort", "LoadBalancer"):
        used = {p.get("nodePort") for p in spec["ports"]}
        free = (n for n in range(first_free, 32768) if n not in used)
        for port in spec["ports"]:
            port.setdefault("nodePort", next(free))
        spec.setdefault("externalTrafficPolicy", "Cluster")
    svc["metadata"]["resourceVersion"] = str(int(svc["metadata"]["resourceVersion"]) + 1)
    return svc


def write(svc: dict, plan: _nodeport_plan.Plan) -> dict:
    return apiserver_stand_in(apply_json_patch(svc, plan.patch)) if plan.patch else svc
