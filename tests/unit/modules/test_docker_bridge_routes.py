"""Module entry point: argument checks that fail before the Docker engine is asked (issue 2, behaviour 11).

These run the real module main() in-process with Ansible's own argument patching; nothing is mocked.
The paths that need an engine are in tests/integration/docker.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.hostreach.kind.plugins.modules import docker_bridge_routes

CONTENT = "addr 192.168.251.1/24\nroute 172.17.0.0/16\n"


def run(args: dict, capsys: pytest.CaptureFixture) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        docker_bridge_routes.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    path = tmp_path / "docker-connector.conf"
    path.write_text(CONTENT)
    return path


@pytest.mark.parametrize("bad", ["172.18.0.0", "172.18.0.0/33", "fc00:f853:ccd:e793::/64", "kind", "172.18.0.0/16 expose"])
def test_invalid_extra_route_fails_before_anything_is_touched(conf: Path, bad: str, capsys: pytest.CaptureFixture) -> None:
    result = run({"path": str(conf), "extra_routes": ["10.1.0.0/16", bad], "docker_host": "unix:///nonexistent/docker.sock"}, capsys)
    assert result["failed"] is True
    assert repr(bad) in result["msg"] and "not an IPv4 subnet in CIDR notation" in result["msg"]
    assert conf.read_text() == CONTENT
    assert sorted(p.name for p in conf.parent.iterdir()) == ["docker-connector.conf"]


def test_unreachable_engine_fails_naming_the_endpoint(conf: Path, capsys: pytest.CaptureFixture) -> None:
    result = run({"path": str(conf), "docker_host": "unix:///nonexistent/docker.sock"}, capsys)
    assert result["failed"] is True
    assert "cannot reach the Docker engine at unix:///nonexistent/docker.sock (chosen by parameter docker_host)" in result["msg"]
    assert conf.read_text() == CONTENT


def test_unknown_state_is_rejected_by_the_argument_spec(conf: Path, capsys: pytest.CaptureFixture) -> None:
    result = run({"path": str(conf), "state": "gone"}, capsys)
    assert result["failed"] is True
    assert "value of state must be one of: present, absent" in result["msg"]


def test_path_is_required(capsys: pytest.CaptureFixture) -> None:
    result = run({}, capsys)
    assert result["failed"] is True
    assert "missing required arguments: path" in result["msg"]
