"""Docker Engine 29 with its default iptables firewall, in the VM model: what lets the Mac, through
docker-connector's tunnel, reach a container's port that is not published.

Two rules inside the VM are needed, and neither is enough alone:
  raw    PREROUTING   -i dc-tun0 -j ACCEPT   ahead of Engine 28+'s per-container direct-routing filter,
                                             `-A PREROUTING -d <container IP>/32 ! -i <bridge> -j DROP`
  filter DOCKER-USER  -i dc-tun0 -j ACCEPT   ahead of the DOCKER chain's `! -i <bridge> -o <bridge> -j DROP`
                                             (and the FORWARD policy DROP)
(`-s 192.168.251.2`, the tunnel peer, works as well as `-i`.) Both survive a restart of the engine: dockerd
appends its own raw rules after ours and never touches DOCKER-USER's. The network options of Engine 28+ are
the other way: `gateway_mode_ipv4=nat-unprotected` needs no rule at all, `trusted_host_interfaces` replaces
only the raw rule.
"""

from __future__ import annotations

import re

import pytest

from harness.kind import DEMO_HTTPD_INDEX
from harness.versions import load_versions
from harness.vm import DockerVM, Web

from .vm_helpers import assert_answers, assert_dropped, iptables_rule, tunnel_accept, wait_running

pytestmark = pytest.mark.vm


def test_the_vm_runs_engine_29_with_forward_policy_drop(docker_vm: DockerVM) -> None:
    assert docker_vm.docker_out("version", "--format", "{{.Server.Version}}") == load_versions()["DOCKER_ENGINE_VERSION"]
    rules = docker_vm.iptables_save("filter")
    assert ":FORWARD DROP" in rules
    assert "-A FORWARD -j DOCKER-USER" in rules.splitlines()


def test_an_unpublished_port_is_dropped(docker_vm: DockerVM, web: Web) -> None:
    assert_dropped(docker_vm, web.url)
    # The direct-routing filter of Engine 28+: one DROP per container, in the raw table.
    assert re.search(rf"^-A PREROUTING -d {re.escape(web.ip)}/32 ! -i br-[0-9a-f]+ -j DROP$", docker_vm.iptables_save("raw"), re.M)


def test_an_accept_in_docker_user_alone_is_not_enough(docker_vm: DockerVM, web: Web) -> None:
    with iptables_rule(docker_vm, "filter", "DOCKER-USER", *tunnel_accept(docker_vm)):
        assert_dropped(docker_vm, web.url)


def test_an_accept_in_raw_prerouting_alone_is_not_enough(docker_vm: DockerVM, web: Web) -> None:
    with iptables_rule(docker_vm, "raw", "PREROUTING", *tunnel_accept(docker_vm)):
        assert_dropped(docker_vm, web.url)


def test_accepts_in_raw_prerouting_and_docker_user_let_the_mac_in(docker_vm: DockerVM, web: Web) -> None:
    with iptables_rule(docker_vm, "raw", "PREROUTING", *tunnel_accept(docker_vm)), iptables_rule(docker_vm, "filter", "DOCKER-USER", *tunnel_accept(docker_vm)):
        assert_answers(docker_vm, web.url, DEMO_HTTPD_INDEX)
    assert_dropped(docker_vm, web.url)


def test_the_tunnel_peer_address_matches_as_well_as_the_interface(docker_vm: DockerVM, web: Web) -> None:
    peer = ("-s", docker_vm.mac_addr, "-j", "ACCEPT")
    with iptables_rule(docker_vm, "raw", "PREROUTING", *peer), iptables_rule(docker_vm, "filter", "DOCKER-USER", *peer):
        assert_answers(docker_vm, web.url, DEMO_HTTPD_INDEX)


def test_a_nat_unprotected_network_needs_no_rule(docker_vm: DockerVM) -> None:
    unprotected = docker_vm.run_web("hostreach-unprotected", ("com.docker.network.bridge.gateway_mode_ipv4=nat-unprotected",))
    assert_answers(docker_vm, unprotected.url, DEMO_HTTPD_INDEX)


def test_trusted_host_interfaces_replace_only_the_raw_rule(docker_vm: DockerVM) -> None:
    trusted = docker_vm.run_web("hostreach-trusted", (f"com.docker.network.bridge.trusted_host_interfaces={docker_vm.vm_if}",))
    assert f"-A PREROUTING -d {trusted.ip}/32 -i {docker_vm.vm_if} -j ACCEPT" in docker_vm.iptables_save("raw")
    assert_dropped(docker_vm, trusted.url)
    with iptables_rule(docker_vm, "filter", "DOCKER-USER", *tunnel_accept(docker_vm)):
        assert_answers(docker_vm, trusted.url, DEMO_HTTPD_INDEX)


def test_both_rules_survive_an_engine_restart(docker_vm: DockerVM, web: Web) -> None:
    raw_rule = f"-A PREROUTING -i {docker_vm.vm_if} -j ACCEPT"
    with iptables_rule(docker_vm, "raw", "PREROUTING", *tunnel_accept(docker_vm)), iptables_rule(docker_vm, "filter", "DOCKER-USER", *tunnel_accept(docker_vm)):
        docker_vm.restart_engine()
        wait_running(docker_vm, web.container)
        raw = docker_vm.iptables_save("raw").splitlines()
        drops = [i for i, line in enumerate(raw) if line.startswith("-A PREROUTING -d ") and line.endswith("-j DROP")]
        assert drops, "the engine restored no direct-routing DROP rule"
        assert raw.index(raw_rule) < min(drops), "our raw ACCEPT is no longer ahead of the engine's DROPs"
        assert f"-A DOCKER-USER -i {docker_vm.vm_if} -j ACCEPT" in docker_vm.iptables_save("filter").splitlines()
        assert_answers(docker_vm, f"http://{docker_vm.container_ip(web.container, web.network)}:{web.port}/", DEMO_HTTPD_INDEX)
