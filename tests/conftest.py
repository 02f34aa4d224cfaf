"""Fixtures shared by every test directory: the real Kubernetes of the test harness (harness/).

Fixtures are registered by importing them here; tests that use one carry its marker.

The two extra kind clusters (two_node_cluster, subnets_cluster: four nodes) serve a few modules only. Those modules
run first, in their usual order, and the clusters go down after the last test that uses them, so their idle nodes
do not slow the rest of the session (on 2 cores they did, up to failing tests under load).
"""

from __future__ import annotations

import pytest

# pylint: disable=unused-import  # imported fixtures are used by name, which pylint cannot see
# Tier 2, real kind clusters (@pytest.mark.kind): kind_cluster, demo_httpd_image; two_node_cluster, subnets_cluster
# and their images.
from harness.kind import EARLY_RELEASED, demo_httpd_image, kind_cluster, release_early, subnets_cluster, subnets_image, two_node_cluster, two_node_image  # noqa: F401
from harness.laptop import laptop  # noqa: F401

# Tier 1, control plane as local processes (@pytest.mark.tier1): tier1, tier1_namespace, tier1_node.
from harness.tier1 import tier1, tier1_namespace, tier1_node  # noqa: F401


def _uses_early_released(item: pytest.Item) -> bool:
    return any(name in getattr(item, "fixturenames", ()) for name in EARLY_RELEASED)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules that use an early-released cluster first, every module's tests in their own order."""
    modules = {item.path for item in items if _uses_early_released(item)}
    items[:] = [item for item in items if item.path in modules] + [item for item in items if item.path not in modules]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item):
    """After the test's own teardown (its module's fixtures included): the early-released clusters go when no later test
    of the session uses them."""
    result = yield
    if _uses_early_released(item):
        later = item.session.items[item.session.items.index(item) + 1 :]
        if not any(_uses_early_released(other) for other in later):
            for fixture in EARLY_RELEASED:
                release_early(fixture)
    return result
