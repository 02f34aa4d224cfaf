"""What every module test needs: the module runs as on a managed node, whatever else the test process imported."""

from __future__ import annotations

import pytest
from ansible.module_utils import _internal


@pytest.fixture(autouse=True)
def managed_node_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once any controller code is imported (a filter test imports ansible.errors), ansible-core sends module warnings
    to the controller's display instead of the module's result: a module under test runs as on a managed node."""
    monkeypatch.setattr(_internal, "is_controller", False)


@pytest.fixture(autouse=True)
def records(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The records kind_cluster_routes and kind_cluster_dns keep (module_utils/_records) go to a folder of the test's own,
    never to the home of whoever runs the tests; returned, as $XDG_STATE_HOME."""
    state = str(tmp_path_factory.mktemp("state"))
    monkeypatch.setenv("XDG_STATE_HOME", state)
    return state
