"""What the laptop tests share: the demo app's names, the settings a user on the laptop runs expose with, the
cluster's DNS Service (the `demo` fixture is in conftest.py)."""

from __future__ import annotations

from harness.kind import KindCluster
from harness.laptop import HOME

DEMO = "demo-httpd"
DOMAIN = "cluster.local"
SUMMARY = f"{HOME}/hostreach-summary.json"


def settings(ns: str, *clusters: KindCluster) -> dict:
    """As a user on that laptop runs it: no kubeconfig given (~/.kube/config), routes, DNS by default."""
    return {
        "hostreach_kind_mode": "direct",
        "hostreach_kind_steps": ["services"],
        "hostreach_kind_reach": "routes",
        "hostreach_kind_clusters": [c.name for c in clusters],
        "hostreach_kind_namespaces": [ns],
        "hostreach_kind_summary_file": SUMMARY,
    }


def kube_dns(cluster: KindCluster) -> str:
    return cluster.core_v1().read_namespaced_service("kube-dns", "kube-system").spec.cluster_ip
