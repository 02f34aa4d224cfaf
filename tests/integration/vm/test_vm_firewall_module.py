"""hostreach.kind.docker_vm_firewall against the VM model: the module reads the real engine's firewall through a
host-network NET_ADMIN container on the VM's engine and lets docker-connector's tunnel in, on Engine 29 (iptables
and nftables backends) and Debian's 20.10. The tools image is the Debian rootfs of the kind node image (iptables,
nftables), imported into the VM's engine: nothing is pulled."""

from __future__ import annotations

import subprocess

import pytest

from harness.kind import DEMO_HTTPD_INDEX
from harness.versions import HARNESS_DIR
from harness.vm import DockerVM, VMSpec, Web
from tests.ansible_runner import adhoc

from .vm_helpers import assert_answers, assert_dropped, wait_running

pytestmark = pytest.mark.vm

TOOLS_IMAGE = "hostreach/vm-tools:test"
MARKER = "hostreach.kind-tunnel"
OLD_PEER = "192.168.251.9"  # the tunnel's Mac address before a change of the connector's addr


@pytest.fixture(scope="module", params=[VMSpec("29", "iptables"), VMSpec("29", "nftables"), VMSpec("20.10", "iptables")], ids=str)
def vm_spec(request: pytest.FixtureRequest) -> VMSpec:
    return request.param


@pytest.fixture(scope="module")
def tools(docker_vm: DockerVM) -> dict:
    """The module's arguments for this VM, with the tools image imported into its engine."""
    rootfs = subprocess.run([str(HARNESS_DIR / "kind-node-image.sh"), "rootfs"], capture_output=True, text=True, check=True).stdout.strip()
    docker_vm.docker("import", rootfs, TOOLS_IMAGE)
    return {"docker_host": docker_vm.docker_host, "tunnel_peer": docker_vm.mac_addr, "tunnel_interface": docker_vm.vm_if, "image": TOOLS_IMAGE, "pull": "never"}


def firewall(tools: dict, check: bool = False, diff: bool = False, **extra) -> dict:
    result = adhoc("docker_vm_firewall", {**tools, **extra}, check=check, diff=diff)
    assert not result.get("failed"), result.get("msg")
    return result


def test_check_mode_reads_the_firewall_and_changes_nothing(docker_vm: DockerVM, web: Web, tools: dict) -> None:
    assert_dropped(docker_vm, web.url)
    result = firewall(tools, check=True, diff=True)
    assert result["changed"] is True and result["commands"]
    assert result["diff"]["before"] == "" and "ACCEPT from" in result["diff"]["after"]
    assert firewall(tools, check=True)["commands"] == result["commands"]  # nothing was applied: the same still to do
    assert_dropped(docker_vm, web.url)


def test_the_module_lets_the_tunnel_in_and_a_rerun_changes_nothing(docker_vm: DockerVM, web: Web, tools: dict, vm_spec: VMSpec) -> None:
    result = firewall(tools)
    assert result["changed"] is True
    expected = {"29-iptables": "iptables-nft", "29-nftables": "nftables", "20.10-iptables": "iptables-nft"}[f"{vm_spec.engine}-{vm_spec.firewall}"]
    assert result["backend"] == expected
    wheres = [r["where"] for r in result["rules"]]
    if vm_spec.engine == "20.10":
        assert wheres == ["iptables-nft filter DOCKER-USER"]  # no direct-routing drops before Engine 28: no raw rule
    elif vm_spec.firewall == "iptables":
        assert wheres == ["iptables-nft filter DOCKER-USER", "iptables-nft raw PREROUTING"]
    else:
        assert wheres == ["nftables ip docker-bridges raw-PREROUTING", "nftables ip docker-bridges filter-FORWARD"]
    assert_answers(docker_vm, web.url, DEMO_HTTPD_INDEX)
    again = firewall(tools)
    assert again["changed"] is False and again["commands"] == [] and all(r["present"] for r in again["rules"])


def our_rules(vm: DockerVM) -> list[str]:
    """The VM's rules with docker_vm_firewall's marker, as the backend in use lists them."""
    listing = vm.iptables_save("filter") + vm.iptables_save("raw") if vm.spec.firewall == "iptables" else vm.nft_ruleset()
    return [line.strip() for line in listing.splitlines() if MARKER in line]


def test_a_changed_tunnel_address_replaces_the_old_rule_and_the_interface_must_match(docker_vm: DockerVM, web: Web, tools: dict) -> None:
    firewall(tools, state="absent")
    old = firewall({**tools, "tunnel_peer": OLD_PEER})
    assert old["changed"] is True and all(OLD_PEER in rule for rule in our_rules(docker_vm)), our_rules(docker_vm)
    assert_dropped(docker_vm, web.url)
    # The peer's own address, but the rule names another interface (the connector's tun<N>): the Mac's packets enter
    # through the model's tunnel dc-tun0, an interface the rule does not name, and are dropped.
    other_interface = firewall({**tools, "tunnel_interface": "tun+"})
    assert other_interface["changed"] is True and not any(r["present_before"] for r in other_interface["rules"])  # old peer: stale
    assert not any(OLD_PEER in rule for rule in our_rules(docker_vm)), our_rules(docker_vm)
    assert_dropped(docker_vm, web.url)
    new = firewall(tools)
    assert new["changed"] is True and not any(r["present_before"] for r in new["rules"])
    rules = our_rules(docker_vm)
    assert len(rules) == len(new["rules"]), rules  # one per chain: the stale ones are gone
    interface_match = f"-i {docker_vm.vm_if} " if docker_vm.spec.firewall == "iptables" else f'iifname "{docker_vm.vm_if}" '
    assert all(interface_match in rule and docker_vm.mac_addr in rule for rule in rules), rules
    assert_answers(docker_vm, web.url, DEMO_HTTPD_INDEX)
    # Removal is by the marker: the rules of an old peer go too (iptables used to look for the current peer's rule).
    firewall({**tools, "tunnel_peer": OLD_PEER})
    assert firewall(tools, state="absent")["changed"] is True and our_rules(docker_vm) == []
    assert_dropped(docker_vm, web.url)


def test_after_an_engine_restart_a_rerun_puts_back_what_was_lost(docker_vm: DockerVM, web: Web, tools: dict, vm_spec: VMSpec) -> None:
    firewall(tools)
    docker_vm.restart_engine()
    wait_running(docker_vm, web.container)
    rerun = firewall(tools)
    # Measured: iptables rules survive a dockerd restart (it appends its raw drops after ours and leaves DOCKER-USER);
    # the nftables backend rebuilds its table and loses ours.
    assert rerun["changed"] is (vm_spec.firewall == "nftables")
    url = f"http://{docker_vm.container_ip(web.container, web.network)}:{web.port}/"
    assert_answers(docker_vm, url, DEMO_HTTPD_INDEX)


def test_absent_removes_exactly_our_rules_and_traffic_is_dropped_again(docker_vm: DockerVM, web: Web, tools: dict) -> None:
    firewall(tools)
    url = f"http://{docker_vm.container_ip(web.container, web.network)}:{web.port}/"
    assert_answers(docker_vm, url, DEMO_HTTPD_INDEX)
    removed = firewall(tools, state="absent")
    assert removed["changed"] is True and all(not r["present"] for r in removed["rules"])
    assert "hostreach.kind-tunnel" not in docker_vm.iptables_save("filter") + docker_vm.iptables_save("raw") + docker_vm.nft_ruleset()
    assert_dropped(docker_vm, url)
    assert firewall(tools, state="absent")["changed"] is False
