"""Debian's Docker Engine 20.10 (docker.io) in the VM model, for comparison with Engine 29.

20.10 has no direct-routing filter: the FORWARD policy DROP it sets when it enables IP forwarding is what
stops the Mac, and one accept for the tunnel in DOCKER-USER lets it in. The rule survives an engine restart.
"""

from __future__ import annotations

import pytest

from harness.kind import DEMO_HTTPD_INDEX
from harness.vm import DockerVM, VMSpec, Web

from .vm_helpers import assert_answers, assert_dropped, iptables_rule, tunnel_accept, wait_running

pytestmark = pytest.mark.vm


@pytest.fixture(scope="module")
def vm_spec() -> VMSpec:
    return VMSpec(engine="20.10", firewall="iptables")


def test_the_vm_runs_engine_20_10_with_forward_policy_drop(docker_vm: DockerVM) -> None:
    assert docker_vm.docker_out("version", "--format", "{{.Server.Version}}").startswith("20.10.")
    rules = docker_vm.iptables_save("filter")
    assert ":FORWARD DROP" in rules
    assert "-A FORWARD -j DOCKER-USER" in rules.splitlines()
    assert "-j DROP" not in docker_vm.iptables_save("raw")


def test_an_unpublished_port_is_dropped(docker_vm: DockerVM, web: Web) -> None:
    assert_dropped(docker_vm, web.url)


def test_an_accept_in_docker_user_lets_the_mac_in_and_survives_an_engine_restart(docker_vm: DockerVM, web: Web) -> None:
    with iptables_rule(docker_vm, "filter", "DOCKER-USER", *tunnel_accept(docker_vm)):
        assert_answers(docker_vm, web.url, DEMO_HTTPD_INDEX)
        docker_vm.restart_engine()
        wait_running(docker_vm, web.container)
        assert f"-A DOCKER-USER -i {docker_vm.vm_if} -j ACCEPT" in docker_vm.iptables_save("filter").splitlines()
        url = f"http://{docker_vm.container_ip(web.container, web.network)}:{web.port}/"
        assert_answers(docker_vm, url, DEMO_HTTPD_INDEX)
    assert_dropped(docker_vm, url)
