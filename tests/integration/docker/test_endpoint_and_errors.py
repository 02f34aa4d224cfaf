"""docker_bridge_routes finds the engine a user means (parameter, DOCKER_HOST, the CLI's current context, the default
socket), proven against a second, real dockerd; and every failure names what to fix and changes nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.ansible_runner import adhoc
from tests.connector_conf_samples import EXISTING, check_untouched

from .bridge_routes_helpers import Networks, subnets

pytestmark = pytest.mark.docker


@pytest.fixture
def alt_network(second_daemon):
    """A bridge network that exists only on the second daemon."""
    made = Networks(second_daemon.api)
    net = made.create("alt")
    yield net
    made.cleanup()


def write_context(home: Path, name: str, host: str) -> None:
    meta = home / ".docker" / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest() / "meta.json"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}}}))
    (home / ".docker" / "config.json").write_text(json.dumps({"currentContext": name}))


def assert_second_daemon(result: dict, second_daemon, alt_network: dict) -> None:
    assert result["engine"]["host"] == second_daemon.host
    # --bridge=none: the second daemon has no default bridge, only the test's network
    assert result["networks"] == {alt_network["Name"]: subnets(alt_network)}
    assert result["routes"] == subnets(alt_network)


def test_parameter_docker_host_reaches_the_second_daemon(second_daemon, alt_network, conf: Path) -> None:
    result = adhoc("docker_bridge_routes", {"path": str(conf), "docker_host": second_daemon.host})
    assert_second_daemon(result, second_daemon, alt_network)


def test_docker_host_environment_reaches_the_second_daemon(second_daemon, alt_network, conf: Path) -> None:
    result = adhoc("docker_bridge_routes", {"path": str(conf)}, env={"DOCKER_HOST": second_daemon.host})
    assert_second_daemon(result, second_daemon, alt_network)


def test_cli_context_in_a_temporary_home_reaches_the_second_daemon(second_daemon, alt_network, conf: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write_context(home, "hr-alt", second_daemon.host)
    result = adhoc("docker_bridge_routes", {"path": str(conf)}, env={"HOME": str(home)})
    assert_second_daemon(result, second_daemon, alt_network)


def test_without_any_setting_the_default_socket_is_used(conf: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": ["bridge"]}, env={"HOME": str(home)})
    assert result["engine"]["host"] == "unix:///var/run/docker.sock"


@pytest.fixture
def existing(conf: Path) -> Path:
    conf.write_text(EXISTING)
    return conf


def test_invalid_cidr_in_extra_routes(existing: Path) -> None:
    result = adhoc("docker_bridge_routes", {"path": str(existing), "extra_routes": ["10.96.0.0/12", "10.300.0.0/16"]})
    assert result["failed"] is True
    assert result["msg"] == "extra_routes: '10.300.0.0/16' is not an IPv4 subnet in CIDR notation (like 10.96.0.0/12); nothing was changed"
    check_untouched(existing)


def test_unknown_network_lists_the_existing_ones(networks, existing: Path) -> None:
    a = networks.create("a")
    result = adhoc("docker_bridge_routes", {"path": str(existing), "networks": [a["Name"], "no-such-network"]})
    assert result["failed"] is True
    assert "network 'no-such-network' is not a bridge network of the Docker engine; the bridge networks are: " in result["msg"]
    assert "bridge" in result["msg"] and a["Name"] in result["msg"]
    check_untouched(existing)


def test_directory_that_cannot_be_written(networks, nobody, shared_dir: Path) -> None:
    """Run as uid nobody in group docker (root would bypass permissions): the engine answers, the directory is root's."""
    a = networks.create("a")
    existing = shared_dir / "docker-connector.conf"
    existing.write_text(EXISTING)
    result = adhoc("docker_bridge_routes", {"path": str(existing), "networks": [a["Name"]]}, as_user=nobody.as_user, home=nobody.home)
    assert result["failed"] is True
    assert result["msg"] == (
        f"cannot write {existing}: its directory {shared_dir} is not writable by uid {nobody.uid}; "
        "run the task as the directory's owner or as root (become: true); nothing was changed"
    )
    check_untouched(existing)


def test_directory_that_does_not_exist(networks, tmp_path: Path) -> None:
    a = networks.create("a")
    path = tmp_path / "no" / "such" / "docker-connector.conf"
    result = adhoc("docker_bridge_routes", {"path": str(path), "networks": [a["Name"]]})
    assert result["failed"] is True
    assert result["msg"] == f"cannot write {path}: its directory {path.parent} does not exist; nothing was changed"
    assert not (tmp_path / "no").exists()


def test_no_docker_engine_names_the_endpoint_tried(existing: Path, tmp_path: Path) -> None:
    sock = tmp_path / "nobody-listens.sock"
    result = adhoc("docker_bridge_routes", {"path": str(existing)}, env={"DOCKER_HOST": f"unix://{sock}"})
    assert result["failed"] is True
    assert result["msg"].startswith(f"cannot reach the Docker engine at unix://{sock} (chosen by environment variable DOCKER_HOST): ")
    check_untouched(existing)


def test_no_docker_engine_from_a_broken_context(existing: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write_context(home, "stopped-colima", f"unix://{home}/.colima/default/docker.sock")
    result = adhoc("docker_bridge_routes", {"path": str(existing)}, env={"HOME": str(home)})
    assert result["failed"] is True
    assert f"cannot reach the Docker engine at unix://{home}/.colima/default/docker.sock (chosen by docker context 'stopped-colima'" in result["msg"]
    check_untouched(existing)


def test_sdk_missing_on_the_target_names_the_interpreter(existing: Path) -> None:
    """/usr/bin/python3 of Debian has no docker SDK: the module, shipped by Ansible, must say so."""
    result = adhoc("docker_bridge_routes", {"path": str(existing)}, python="/usr/bin/python3")
    assert result["failed"] is True
    assert "Failed to import the required Python library (docker)" in result["msg"]
    assert "Python /usr/bin/python3." in result["msg"] and result["msg"].count("/usr/bin/python3") == 1  # named once
    check_untouched(existing)
