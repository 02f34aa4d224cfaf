"""Docker Engine 29, nftables backend, configured for the tunnel: what survives an engine restart.

daemon.json `"allow-direct-routing": true` drops the engine's raw-PREROUTING "DROP DIRECT ACCESS" rules, and
`"bridge-accept-fwmark": "0x2511"` makes it accept marked packets in every bridge's filter-forward-in chain
(`meta mark 0x00002511 counter accept comment "ALLOW FW MARK"`); a table of our own marks what comes in
through the tunnel. Both halves are needed; the table is ours, so an engine restart leaves it alone.
"""

from __future__ import annotations

import pytest

from harness.kind import DEMO_HTTPD_INDEX
from harness.vm import DockerVM, VMSpec, Web

from .vm_helpers import assert_answers, assert_dropped, wait_running

pytestmark = pytest.mark.vm

MARK = "0x2511"


@pytest.fixture(scope="module")
def vm_spec() -> VMSpec:
    return VMSpec(engine="29", firewall="nftables", daemon_extra=f'"allow-direct-routing": true, "bridge-accept-fwmark": "{MARK}"')


def mark_table(vm: DockerVM) -> str:
    return f"""table ip hostreach-tunnel {{
  chain prerouting {{ type filter hook prerouting priority mangle; policy accept; iifname "{vm.vm_if}" meta mark set {MARK}; }}
}}"""


def test_no_direct_access_drop_but_the_unpublished_port_is_still_dropped(docker_vm: DockerVM, web: Web) -> None:
    ruleset = docker_vm.nft_ruleset()
    assert "DROP DIRECT ACCESS" not in ruleset
    assert 'accept comment "ALLOW FW MARK"' in ruleset
    assert_dropped(docker_vm, web.url)


def test_marking_the_tunnel_lets_the_mac_in_and_survives_an_engine_restart(docker_vm: DockerVM, web: Web) -> None:
    docker_vm.nft(mark_table(docker_vm))
    try:
        assert_answers(docker_vm, web.url, DEMO_HTTPD_INDEX)
        docker_vm.restart_engine()
        wait_running(docker_vm, web.container)
        assert "table ip hostreach-tunnel" in docker_vm.nft_ruleset()
        assert_answers(docker_vm, f"http://{docker_vm.container_ip(web.container, web.network)}:{web.port}/", DEMO_HTTPD_INDEX)
    finally:
        docker_vm.in_vm("nft", "delete", "table", "ip", "hostreach-tunnel")
    assert_dropped(docker_vm, f"http://{docker_vm.container_ip(web.container, web.network)}:{web.port}/")
