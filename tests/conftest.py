"""Fixtures shared by every test directory: the real Kubernetes of the test harness (tests/harness).

Fixtures are registered by importing them here; tests that use one carry its marker.
"""
# pylint: disable=unused-import  # imported fixtures are used by name, which pylint cannot see

# Tier 2, real kind clusters (@pytest.mark.kind): kind_cluster, demo_httpd_image; two_node_cluster, subnets_cluster
# and their images.
from harness.kind import demo_httpd_image, kind_cluster, subnets_cluster, subnets_image, two_node_cluster, two_node_image  # noqa: F401
from harness.laptop import laptop  # noqa: F401

# Tier 1, control plane as local processes (@pytest.mark.tier1): tier1, tier1_namespace, tier1_node.
from harness.tier1 import tier1, tier1_namespace, tier1_node  # noqa: F401
