"""The SSH fleet (harness/fleet.py) and an inventory of it, for @pytest.mark.fleet tests."""

from __future__ import annotations

from pathlib import Path

import pytest

# pylint: disable=unused-import  # imported fixtures are used by name, which pylint cannot see
from harness.fleet import Fleet, fleet  # noqa: F401

# The team of five laptops in front of the kind cluster, shared by test_fleet_expose.py and test_fleet_runner.py.
from .team import laptop_down, laptop_namespaces, team  # noqa: F401


@pytest.fixture(scope="module")
def inventory(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811  # the fixture, by name
    """An inventory like examples/inventory.yml listing every host of the fleet in group team_laptops."""
    return fleet.write_inventory(tmp_path_factory.mktemp("fleet") / "inventory.yml")


@pytest.fixture(scope="module")
def ansible_env(fleet: Fleet) -> dict[str, str]:  # noqa: F811
    return fleet.ansible_env()
