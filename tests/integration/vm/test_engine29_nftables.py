"""Docker Engine 29 with `--firewall-backend=nftables`, in the VM model: what lets the Mac in.

There is no DOCKER-USER in this backend, and an `accept` in a table of one's own does not help: nftables runs
every base chain of a hook, and the engine's drops are in its own base chains (table `ip docker-bridges`):
  raw-PREROUTING              ip daddr <container IP> iifname != "<bridge>" drop comment "DROP DIRECT ACCESS"
  filter-forward-in__<bridge> drop comment "UNPUBLISHED PORT DROP"   (reached from filter-FORWARD's vmap)
What works without changing the engine's configuration: an accept for the tunnel at the top of the engine's
own raw-PREROUTING and filter-FORWARD (both needed) -- and it is gone after an engine restart, which rebuilds
the table. What survives a restart needs daemon options: see test_engine29_nftables_fwmark.py.
Engine 29 does not enable IP forwarding itself with nftables, so the VM runs with ip_forward=1 and no
FORWARD policy drop (harness/vm-netns.sh).
"""

from __future__ import annotations

import re

import pytest

from harness.kind import DEMO_HTTPD_INDEX
from harness.vm import DockerVM, VMSpec, Web

from .vm_helpers import assert_answers, assert_dropped, wait_running

pytestmark = pytest.mark.vm


@pytest.fixture(scope="module")
def vm_spec() -> VMSpec:
    return VMSpec(engine="29", firewall="nftables")


def insert_tunnel_accept(vm: DockerVM, chain: str) -> None:
    vm.in_vm("nft", "insert", "rule", "ip", "docker-bridges", chain, "iifname", vm.vm_if, "accept")


def delete_tunnel_accept(vm: DockerVM, chain: str) -> None:
    listing = vm.in_vm("nft", "-a", "list", "chain", "ip", "docker-bridges", chain).stdout.decode()
    for handle in re.findall(rf'iifname "{re.escape(vm.vm_if)}" accept # handle (\d+)', listing):
        vm.in_vm("nft", "delete", "rule", "ip", "docker-bridges", chain, "handle", handle)


def test_the_engine_uses_nftables_and_no_iptables(docker_vm: DockerVM) -> None:
    assert "table ip docker-bridges" in docker_vm.nft_ruleset()
    assert "DOCKER" not in docker_vm.iptables_save("filter")


def test_an_unpublished_port_is_dropped(docker_vm: DockerVM, web: Web) -> None:
    assert_dropped(docker_vm, web.url)
    ruleset = docker_vm.nft_ruleset()
    assert re.search(rf'ip daddr {re.escape(web.ip)} iifname != "br-[0-9a-f]+" counter packets \d+ bytes \d+ drop comment "DROP DIRECT ACCESS"', ruleset)
    assert 'drop comment "UNPUBLISHED PORT DROP"' in ruleset


def test_accepts_in_a_table_of_our_own_do_not_help(docker_vm: DockerVM, web: Web) -> None:
    docker_vm.nft(
        f"""table ip hostreach-tunnel {{
  chain prerouting {{ type filter hook prerouting priority raw - 10; policy accept; iifname "{docker_vm.vm_if}" accept; }}
  chain forward {{ type filter hook forward priority filter - 10; policy accept; iifname "{docker_vm.vm_if}" accept; }}
}}"""
    )
    try:
        assert_dropped(docker_vm, web.url)
    finally:
        docker_vm.in_vm("nft", "delete", "table", "ip", "hostreach-tunnel")


@pytest.mark.parametrize("chain", ["raw-PREROUTING", "filter-FORWARD"])
def test_an_accept_in_one_of_the_engines_chains_alone_is_not_enough(docker_vm: DockerVM, web: Web, chain: str) -> None:
    insert_tunnel_accept(docker_vm, chain)
    try:
        assert_dropped(docker_vm, web.url)
    finally:
        delete_tunnel_accept(docker_vm, chain)


def test_accepts_in_the_engines_raw_and_forward_chains_let_the_mac_in_until_a_restart(docker_vm: DockerVM, web: Web) -> None:
    for chain in ("raw-PREROUTING", "filter-FORWARD"):
        insert_tunnel_accept(docker_vm, chain)
    assert_answers(docker_vm, web.url, DEMO_HTTPD_INDEX)
    docker_vm.restart_engine()
    wait_running(docker_vm, web.container)
    assert f'iifname "{docker_vm.vm_if}"' not in docker_vm.nft_ruleset(), "the engine kept rules we put into its table"
    assert_dropped(docker_vm, f"http://{docker_vm.container_ip(web.container, web.network)}:{web.port}/")
