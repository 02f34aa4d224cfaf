"""The Mac + Docker VM model (harness/vm.py) for @pytest.mark.vm tests; helpers are in vm_helpers.py."""

from __future__ import annotations

import pytest

# pylint: disable=unused-import  # imported fixtures are used by name, which pylint cannot see
from harness.vm import DockerVM, Web, docker_vm, vm_spec  # noqa: F401

# chain: the kind cluster with the demo app in the module's VM, for the playbook runs of test_expose_chain_*.
from .expose_chain import chain  # noqa: F401


@pytest.fixture(scope="module")
def web(docker_vm: DockerVM) -> Web:  # noqa: F811  # the fixture, by name
    """The demo httpd on a user bridge network of the VM, port not published; its subnet routed on the Mac."""
    return docker_vm.run_web()
