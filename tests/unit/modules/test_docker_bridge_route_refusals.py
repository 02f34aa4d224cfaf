"""docker_bridge_routes refuses, before the engine is asked and the file touched, every route that the shared rule
(_subnets.route_refusals) refuses: link-local, multicast, reserved and broadcast space, 0.0.0.0/8, public ranges and
a subnet over this host's own LAN; a Docker bridge's own connected route is not the LAN. `allow_wide_routes: true`
lets them all through. The module runs in-process with this host's routes given (a Linux host with Docker)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _host_routes
from ansible_collections.hostreach.kind.plugins.module_utils._host_routes import Route
from ansible_collections.hostreach.kind.plugins.modules import docker_bridge_routes

from tests.ansible_runner import in_process
from tests.connector_conf_samples import EXISTING, check_untouched

NO_ENGINE = "unix:///nonexistent/docker.sock"
HOST = [
    Route(ipaddress.ip_network("0.0.0.0/0"), "10.20.0.1", "eth0"),
    Route(ipaddress.ip_network("10.20.0.0/22"), None, "eth0"),
    Route(ipaddress.ip_network("172.17.0.0/16"), None, "docker0"),
    Route(ipaddress.ip_network("172.18.0.0/16"), None, "br-1e9b0c4d"),
]


@pytest.fixture
def conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(_host_routes, "read_routes", lambda: HOST)
    path = tmp_path / "docker-connector.conf"
    path.write_text(EXISTING)
    return path


@pytest.mark.parametrize(
    ("subnet", "reason"),
    [
        ("169.254.0.0/16", "it overlaps link-local 169.254.0.0/16"),
        ("224.0.0.0/24", "it overlaps multicast 224.0.0.0/4"),
        ("240.0.0.0/8", "it overlaps reserved 240.0.0.0/4"),
        ("255.255.255.255/32", "it overlaps reserved 240.0.0.0/4 (broadcast 255.255.255.255 included)"),
        ("0.0.0.0/8", "it overlaps 'this network' 0.0.0.0/8"),
        ("8.8.8.0/24", "it is not private"),
        ("100.128.0.0/16", "it is not private"),  # just past the shared address space 100.64.0.0/10
        ("10.20.1.0/24", "it overlaps 10.20.0.0/22, directly connected on eth0 (this host's own network)"),
        ("128.0.0.0/1", "it is half of the default route"),
    ],
)
def test_a_route_outside_private_space_or_over_the_lan_is_refused_before_the_engine_is_asked(conf: Path, subnet: str, reason: str) -> None:
    result = in_process(docker_bridge_routes, {"path": str(conf), "extra_routes": ["10.96.0.0/12", subnet], "docker_host": NO_ENGINE})
    assert result["failed"] is True
    assert result["msg"].startswith(f"refusing to route traffic that is not for containers into the docker-connector tunnel: {subnet} (extra_routes): ")
    assert reason in result["msg"] and "set allow_wide_routes: true" in result["msg"]
    check_untouched(conf)
    allowed = in_process(docker_bridge_routes, {"path": str(conf), "extra_routes": [subnet], "allow_wide_routes": True, "docker_host": NO_ENGINE})
    assert "cannot reach the Docker engine" in allowed["msg"]  # past the check, stopped at the engine


@pytest.mark.parametrize("subnet", ["172.18.0.0/16", "172.17.0.0/16", "100.64.0.0/10", "192.168.0.0/16"])
def test_a_bridge_subnet_with_its_own_connected_route_passes_the_check(conf: Path, subnet: str) -> None:
    result = in_process(docker_bridge_routes, {"path": str(conf), "extra_routes": [subnet], "docker_host": NO_ENGINE})
    assert "cannot reach the Docker engine" in result["msg"], result["msg"]  # past the check, stopped at the engine
