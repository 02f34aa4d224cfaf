"""Fixtures for the proofs of tier 2's multi-node clusters, CoreDNS and per-cluster subnets (helpers in kind2_helpers.py).

Two clusters of their own, so the session's single-node `kind_cluster` is untouched:
- `two_node_cluster`: a control plane and one worker, kind's default subnets (10.244.0.0/16, 10.96.0.0/16);
- `subnets_cluster`: a control plane and one worker with a pod and service subnet of its own, run beside the first.
Each is deleted after the session unless it was running before.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness.kind import KindCluster, loaded_demo_httpd_image, session_cluster
from kind2_helpers import SUBNETS_CLUSTER, SUBNETS_POD_SUBNET, SUBNETS_SERVICE_SUBNET, TWO_NODE_CLUSTER


@pytest.fixture(scope="session")
def two_node_cluster() -> Iterator[KindCluster]:
    with session_cluster(TWO_NODE_CLUSTER, workers=1) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def two_node_image(two_node_cluster: KindCluster) -> Iterator[str]:
    with loaded_demo_httpd_image(two_node_cluster) as image:
        yield image


@pytest.fixture(scope="session")
def subnets_cluster(two_node_cluster: KindCluster) -> Iterator[KindCluster]:
    """Depends on two_node_cluster so that the two run at once: distinct subnets side by side."""
    with session_cluster(SUBNETS_CLUSTER, workers=1, pod_subnet=SUBNETS_POD_SUBNET, service_subnet=SUBNETS_SERVICE_SUBNET) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def subnets_image(subnets_cluster: KindCluster) -> Iterator[str]:
    with loaded_demo_httpd_image(subnets_cluster) as image:
        yield image
