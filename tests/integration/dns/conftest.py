"""The laptop tests' demo app (tests/conftest.py has the laptop and the kind cluster)."""

from __future__ import annotations

import pytest

from harness.kind import KindCluster
from harness.kind_objects import cluster_ip_service, demo_pod, namespace

from .laptop_dns import DEMO


@pytest.fixture(scope="module")
def demo(kind_cluster: KindCluster, demo_httpd_image: str):
    """demo-httpd (a pod behind a ClusterIP Service) in a namespace of the test's own."""
    core = kind_cluster.core_v1()
    with namespace(kind_cluster, "dns") as ns:
        pod = demo_pod(core, ns, DEMO, demo_httpd_image, labels={"app": DEMO})
        service = cluster_ip_service(core, ns, DEMO, {"app": DEMO})
        yield ns, service, pod
