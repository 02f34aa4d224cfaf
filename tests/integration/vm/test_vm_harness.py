"""The VM model itself (harness/vm-netns.sh, harness/vm.py): what it makes, and that it leaves nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.vm import VMSpec, docker_vm_up, leftovers

pytestmark = pytest.mark.vm


def root_namespace_lines() -> set[str]:
    """The links and firewall rules of the root namespace, one line each."""
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout.splitlines()
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout.splitlines()
    return {line for line in links + rules if not line.startswith("#")}


def new_root_namespace_mentions(before: set[str], *words: str) -> list[str]:
    """Links and firewall rules of the root namespace, not there `before`, that name any of `words` (the host is shared
    with other test runs and with what an interrupted run left: only what this VM could have made there is looked for)."""
    return sorted(line for line in root_namespace_lines() - before if any(word in line for word in words))


def test_a_vm_is_two_namespaces_joined_like_the_connector_tunnel_and_leaves_nothing_behind() -> None:
    before = root_namespace_lines()
    with docker_vm_up(VMSpec()) as vm:
        assert vm.vm_addr == "192.168.251.1" and vm.mac_addr == "192.168.251.2"
        vm_side = vm.in_vm("ip", "-o", "addr", "show", "dev", vm.vm_if).stdout.decode()
        mac_side = vm.in_mac("ip", "-o", "addr", "show", "dev", vm.mac_if).stdout.decode()
        assert f"inet {vm.vm_addr} peer {vm.mac_addr}/32" in vm_side
        assert f"inet {vm.mac_addr} peer {vm.vm_addr}/32" in mac_side
        assert "mtu 1400" in vm.in_mac("ip", "-o", "link", "show", "dev", vm.mac_if).stdout.decode()
        # The Mac reaches the VM's end of the tunnel, and nothing else: it has no other route.
        vm.in_mac("busybox", "ping", "-c", "1", "-W", "2", vm.vm_addr)
        assert vm.in_mac("ip", "route", "show", "default").stdout.decode() == ""
        # The engine runs with the VM's own state, not the host's.
        root_dir = vm.docker_out("info", "--format", "{{.DockerRootDir}}")
        assert root_dir.endswith(f"/run/vm-{vm.name}/data")
        assert new_root_namespace_mentions(before, vm.vm_if, vm.mac_if, vm.vm_addr, vm.mac_addr) == []
        name = vm.name
    assert leftovers(name) == []
    assert not Path(f"/run/netns/hrvm-{name}-vm").exists()
