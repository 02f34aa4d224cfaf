"""Benchmark variant (d), the floor: the kubernetes client, one LIST of the namespace's Services and
one PATCH per Service that is not NodePort yet. Nothing else: no validation, no dry run, no report.

Usage: python benchmarks/floor.py KUBECONFIG CONTEXT NAMESPACE
Prints one JSON line: how many Services were patched and the seconds spent on API requests only
(without the interpreter's start and the SDK import), so the driver can show both.
"""

from __future__ import annotations

import json
import sys
import time

from kubernetes import client, config

WANTED_TYPES = ("NodePort", "LoadBalancer")
MERGE_PATCH = "application/merge-patch+json"


def main(kubeconfig: str, context: str, namespace: str) -> None:
    core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig, context=context))
    start = time.perf_counter()
    services = core.list_namespaced_service(namespace).items
    todo = [s.metadata.name for s in services if s.spec.type not in WANTED_TYPES and s.spec.cluster_ip != "None" and s.spec.type != "ExternalName"]
    for name in todo:
        core.patch_namespaced_service(name, namespace, {"spec": {"type": "NodePort"}}, _content_type=MERGE_PATCH)
    print(json.dumps({"services": len(services), "patched": len(todo), "api_seconds": round(time.perf_counter() - start, 4)}))


if __name__ == "__main__":
    main(*sys.argv[1:])
