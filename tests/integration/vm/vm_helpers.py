"""Helpers of the VM model's firewall tests: rules inside the VM for a block, probes from the Mac."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from harness.vm import DROP_TIMEOUT, DockerVM, Probe


@contextlib.contextmanager
def iptables_rule(vm: DockerVM, table: str, chain: str, *rule: str) -> Iterator[None]:
    """`iptables -t <table> -I <chain> <rule>` inside the VM for the block; deleted afterwards."""
    vm.in_vm("iptables", "-t", table, "-I", chain, *rule)
    try:
        yield
    finally:
        vm.in_vm("iptables", "-t", table, "-D", chain, *rule)


def tunnel_accept(vm: DockerVM) -> tuple[str, ...]:
    """The match of every rule here: packets that come in through the tunnel (docker-connector's tun device)."""
    return ("-i", vm.vm_if, "-j", "ACCEPT")


def assert_dropped(vm: DockerVM, url: str) -> None:
    probe = vm.http_from_mac(url, timeout=DROP_TIMEOUT)
    assert probe.timed_out, f"expected {url} to be dropped (a timeout) from the Mac, got {probe}"


def assert_answers(vm: DockerVM, url: str, body: str) -> Probe:
    probe = vm.http_from_mac(url)
    assert probe.status == 200, f"expected HTTP 200 from {url} from the Mac, got {probe}"
    assert probe.body == body
    return probe


def wait_running(vm: DockerVM, container: str, timeout: float = 60.0) -> None:
    """Until the container runs again (after an engine restart its restart policy brings it back)."""
    deadline = time.monotonic() + timeout
    while vm.docker_out("inspect", "--format", "{{.State.Running}}", container) != "true":
        assert time.monotonic() < deadline, f"{container} is not running {timeout}s after the engine restart"
        time.sleep(0.5)
