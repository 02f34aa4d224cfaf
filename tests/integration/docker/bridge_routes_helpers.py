"""Helpers for the docker_bridge_routes integration tests: test networks and a second dockerd (the module runs through
tests/ansible_runner.py)."""

from __future__ import annotations

import contextlib
import ipaddress
import random
import uuid
from pathlib import Path

import docker


class Networks:
    """Creates bridge networks named hrit-<id>-<name> on one engine and removes them all at the end."""

    def __init__(self, api: docker.APIClient) -> None:
        self.api = api
        self.created: list = []
        self.run = uuid.uuid4().hex[:6]

    def name(self, short: str) -> str:
        return f"hrit-{self.run}-{short}"

    def create(self, short: str, ipv4: bool | str = True, ipv6: bool = False) -> dict:
        """A bridge network; ipv4=True picks a free /24, a string is used as is, False lets Docker choose."""
        for _attempt in range(20):
            pools = []
            if ipv4:
                subnet = ipv4 if isinstance(ipv4, str) else f"10.{random.randint(200, 250)}.{random.randint(0, 255)}.0/24"
                pools.append(docker.types.IPAMPool(subnet=subnet))
            if ipv6:
                # A ULA /64 as kind uses (kind's own is fc00:f853:ccd:e793::/64; a random one avoids clashing with a real kind).
                # The third group always has a leading zero, which Docker keeps as written and the module does not
                # (fd12:3456:0abc::/64 is reported as fd12:3456:abc::/64), so every test sees both spellings.
                pools.append(docker.types.IPAMPool(subnet=f"fd{random.randrange(256):02x}:{random.randrange(65536):04x}:0{random.randrange(4096):03x}::/64"))
            ipam = docker.types.IPAMConfig(pool_configs=pools) if pools else None
            try:
                created = self.api.create_network(
                    self.name(short),
                    driver="bridge",
                    ipam=ipam,
                    enable_ipv6=ipv6,
                    options={"com.docker.network.bridge.enable_ip_masquerade": "true", "com.docker.network.driver.mtu": "1500"},
                )
            except docker.errors.APIError as exc:
                if "overlap" in str(exc).lower() and not isinstance(ipv4, str):
                    continue
                raise
            self.created.append(created["Id"])
            return self.api.inspect_network(created["Id"])
        raise RuntimeError("no free subnet found for a test network")

    def remove(self, net: dict) -> None:
        self.api.remove_network(net["Id"])
        self.created.remove(net["Id"])

    def cleanup(self) -> None:
        for net_id in self.created:
            with contextlib.suppress(docker.errors.NotFound):
                self.api.remove_network(net_id)


def subnets(net: dict, version: int | None = None) -> list:
    """The network's subnets as the module reports them (canonical: the random ULA may have a leading zero)."""
    found = [str(ipaddress.ip_network(c["Subnet"], strict=False)) for c in net["IPAM"]["Config"]]
    return [s for s in found if version is None or (":" in s) == (version == 6)]


class SecondDaemon:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.pidfile = root / "docker.pid"
        self.log = root / "dockerd.log"
