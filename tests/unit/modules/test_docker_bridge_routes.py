"""docker_bridge_routes without a Docker engine: bad or too wide routes, an unknown state and a missing path are
refused before the engine is asked, an unreachable engine is named, and the file is never touched.

These run the real module main() in-process (ansible_runner.in_process, Ansible's own argument patching); nothing is mocked.
The paths that need an engine are in tests/integration/docker.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from ansible_collections.hostreach.kind.plugins.modules import docker_bridge_routes

from tests.ansible_runner import in_process
from tests.connector_conf_samples import EXISTING, check_untouched


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    path = tmp_path / "docker-connector.conf"
    path.write_text(EXISTING)
    return path


@pytest.mark.parametrize("bad", ["172.18.0.0", "172.18.0.0/33", "fc00:f853:ccd:e793::/64", "kind", "172.18.0.0/16 expose"])
def test_invalid_extra_route_fails_before_anything_is_touched(conf: Path, bad: str) -> None:
    result = in_process(docker_bridge_routes, {"path": str(conf), "extra_routes": ["10.1.0.0/16", bad], "docker_host": "unix:///nonexistent/docker.sock"})
    assert result["failed"] is True
    assert repr(bad) in result["msg"] and "not an IPv4 subnet in CIDR notation" in result["msg"]
    check_untouched(conf)


def test_unreachable_engine_fails_naming_the_endpoint(conf: Path) -> None:
    result = in_process(docker_bridge_routes, {"path": str(conf), "docker_host": "unix:///nonexistent/docker.sock"})
    assert result["failed"] is True
    assert "cannot reach the Docker engine at unix:///nonexistent/docker.sock (chosen by parameter docker_host)" in result["msg"]
    check_untouched(conf)


def test_unknown_state_is_rejected_by_the_argument_spec(conf: Path) -> None:
    result = in_process(docker_bridge_routes, {"path": str(conf), "state": "gone"})
    assert result["failed"] is True
    assert "value of state must be one of: present, absent" in result["msg"]


def test_path_is_required() -> None:
    result = in_process(docker_bridge_routes, {})
    assert result["failed"] is True
    assert "missing required arguments: path" in result["msg"]


@pytest.mark.parametrize("wide", ["0.0.0.0/0", "128.0.0.0/1", "10.0.0.0/7", "127.0.0.0/8", "127.5.0.0/16"])
def test_a_route_that_would_pull_host_traffic_into_the_tunnel_is_refused_before_anything_is_touched(conf: Path, wide: str) -> None:
    result = in_process(docker_bridge_routes, {"path": str(conf), "extra_routes": ["10.96.0.0/12", wide], "docker_host": "unix:///nonexistent/docker.sock"})
    assert result["failed"] is True
    assert result["msg"].startswith(f"refusing to route traffic that is not for containers into the docker-connector tunnel: {wide} (extra_routes): ")
    assert "set allow_wide_routes: true" in result["msg"]
    check_untouched(conf)


def test_a_route_containing_the_default_gateway_is_refused(conf: Path) -> None:
    from ansible_collections.hostreach.kind.plugins.module_utils import _host_routes

    gateway = _host_routes.default_gateways(_host_routes.read_routes())[0]
    covering = str(ipaddress.ip_network(f"{gateway}/16", strict=False))
    result = in_process(docker_bridge_routes, {"path": str(conf), "extra_routes": [covering], "docker_host": "unix:///nonexistent/docker.sock"})
    assert result["failed"] is True
    assert f"{covering} (extra_routes): it contains this host's default gateway {gateway}" in result["msg"]
    check_untouched(conf)


def test_allow_wide_routes_lets_a_wide_route_through_to_the_engine(conf: Path) -> None:
    result = in_process(
        docker_bridge_routes, {"path": str(conf), "extra_routes": ["0.0.0.0/0"], "allow_wide_routes": True, "docker_host": "unix:///nonexistent/docker.sock"}
    )
    assert result["failed"] is True
    assert "cannot reach the Docker engine at unix:///nonexistent/docker.sock" in result["msg"]  # past the check, stopped at the engine


def test_config_text_in_results_diffs_and_warnings_has_its_token_values_masked() -> None:
    """Issue 18 item 10: --diff printed docker-accessor's shared secrets. The file itself keeps them (integration)."""
    from ansible_collections.hostreach.kind.plugins.module_utils import _connector_conf

    text = "addr 192.168.251.1/24\ntoken s3cret 192.168.251.4\nroute 172.18.0.0/16\n"
    assert docker_bridge_routes.shown(text) == "addr 192.168.251.1/24\ntoken ********\nroute 172.18.0.0/16\n"
    refused = _connector_conf.plan(_connector_conf.parse(text), [], refuse_exposure=True)
    warnings = docker_bridge_routes.exposure_warnings("/etc/dc.conf", refused, check_mode=True)
    assert warnings == [
        "would remove line 2 of /etc/dc.conf, 'token ********': `token` gives a docker-accessor client a way into the tunnel; any local "
        "container can append such a line through docker-connector's UDP port. Set allow_tunnel_exposure: true to keep it"
    ]
    kept = docker_bridge_routes.exposure_warnings("/etc/dc.conf", _connector_conf.plan(_connector_conf.parse(text), []), check_mode=False)
    assert kept == [
        "line 2 of /etc/dc.conf, 'token ********': `token` gives a docker-accessor client a way into the tunnel: "
        "the tunnel is exposed (allow_tunnel_exposure: true)"
    ]
    assert "s3cret" not in " ".join(warnings + kept)


def test_allow_tunnel_exposure_is_an_option_off_by_default() -> None:
    spec = docker_bridge_routes.argument_spec()["argument_spec"]["allow_tunnel_exposure"]
    assert spec == {"type": "bool", "default": False}
