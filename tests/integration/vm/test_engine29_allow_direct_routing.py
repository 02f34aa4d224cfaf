"""Docker Engine 29, iptables backend, with daemon.json `"allow-direct-routing": true` in the VM model.

The option only removes the raw table's per-container DROP rules: the DOCKER chain still drops forwarded
traffic to unpublished ports, so the DOCKER-USER accept for the tunnel is still needed, and enough.
"""

from __future__ import annotations

import pytest

from harness.kind import DEMO_HTTPD_INDEX
from harness.vm import DockerVM, VMSpec, Web

from .vm_helpers import assert_answers, assert_dropped, iptables_rule, tunnel_accept

pytestmark = pytest.mark.vm


@pytest.fixture(scope="module")
def vm_spec() -> VMSpec:
    return VMSpec(engine="29", firewall="iptables", daemon_extra='"allow-direct-routing": true')


def test_no_raw_drop_but_the_unpublished_port_is_still_dropped(docker_vm: DockerVM, web: Web) -> None:
    assert "-j DROP" not in docker_vm.iptables_save("raw")
    assert_dropped(docker_vm, web.url)


def test_an_accept_in_docker_user_is_enough(docker_vm: DockerVM, web: Web) -> None:
    with iptables_rule(docker_vm, "filter", "DOCKER-USER", *tunnel_accept(docker_vm)):
        assert_answers(docker_vm, web.url, DEMO_HTTPD_INDEX)
    assert_dropped(docker_vm, web.url)
