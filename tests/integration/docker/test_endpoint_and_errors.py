"""Endpoint resolution against a second, real dockerd (behaviour 10) and clear errors (behaviour 11)."""

from __future__ import annotations

import grp
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from bridge_routes_helpers import adhoc, module_process, module_result, subnets

pytestmark = pytest.mark.docker

NOBODY = 65534
CONTENT = "addr 192.168.251.1/24\nroute 172.17.0.0/16\n"


@pytest.fixture
def alt_network(second_daemon):
    """A bridge network that exists only on the second daemon."""
    from bridge_routes_helpers import Networks

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
    result = adhoc({"path": str(conf), "docker_host": second_daemon.host})
    assert_second_daemon(result, second_daemon, alt_network)


def test_docker_host_environment_reaches_the_second_daemon(second_daemon, alt_network, conf: Path) -> None:
    result = adhoc({"path": str(conf)}, env={"DOCKER_HOST": second_daemon.host})
    assert_second_daemon(result, second_daemon, alt_network)


def test_cli_context_in_a_temporary_home_reaches_the_second_daemon(second_daemon, alt_network, conf: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write_context(home, "hr-alt", second_daemon.host)
    result = adhoc({"path": str(conf)}, env={"HOME": str(home)})
    assert_second_daemon(result, second_daemon, alt_network)


def test_without_any_setting_the_default_socket_is_used(conf: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = adhoc({"path": str(conf), "networks": ["bridge"]}, env={"HOME": str(home)})
    assert result["engine"]["host"] == "unix:///var/run/docker.sock"


def check_untouched(conf: Path) -> None:
    assert conf.read_text() == CONTENT
    assert sorted(p.name for p in conf.parent.iterdir()) == ["docker-connector.conf"]


@pytest.fixture
def existing(conf: Path) -> Path:
    conf.write_text(CONTENT)
    return conf


def test_invalid_cidr_in_extra_routes(existing: Path) -> None:
    result = adhoc({"path": str(existing), "extra_routes": ["10.96.0.0/12", "10.300.0.0/16"]})
    assert result["failed"] is True
    assert result["msg"] == "extra_routes: '10.300.0.0/16' is not an IPv4 subnet in CIDR notation (like 10.96.0.0/12); nothing was changed"
    check_untouched(existing)


def test_unknown_network_lists_the_existing_ones(networks, existing: Path) -> None:
    a = networks.create("a")
    result = adhoc({"path": str(existing), "networks": [a["Name"], "no-such-network"]})
    assert result["failed"] is True
    assert "network 'no-such-network' is not a bridge network of the Docker engine; the bridge networks are: " in result["msg"]
    assert "bridge" in result["msg"] and a["Name"] in result["msg"]
    check_untouched(existing)


def test_directory_that_cannot_be_written(networks) -> None:
    """Run as uid nobody in group docker (root would bypass permissions): the engine answers, the directory is root's."""
    a = networks.create("a")
    docker_gid = grp.getgrnam("docker").gr_gid
    directory = Path(tempfile.mkdtemp(prefix="hr-readonly-", dir="/tmp"))
    try:
        directory.chmod(0o755)
        existing = directory / "docker-connector.conf"
        existing.write_text(CONTENT)
        proc = module_process({"path": str(existing), "networks": [a["Name"]]}, user=(NOBODY, docker_gid), env={"HOME": "/nonexistent"})
        result = module_result(proc)
        assert result["failed"] is True
        assert result["msg"] == (
            f"cannot write {existing}: its directory {directory} is not writable by uid {NOBODY}; "
            "run the task as the directory's owner or as root (become: true); nothing was changed"
        )
        check_untouched(existing)
    finally:
        shutil.rmtree(directory)


def test_directory_that_does_not_exist(networks, tmp_path: Path) -> None:
    a = networks.create("a")
    path = tmp_path / "no" / "such" / "docker-connector.conf"
    result = adhoc({"path": str(path), "networks": [a["Name"]]})
    assert result["failed"] is True
    assert result["msg"] == f"cannot write {path}: its directory {path.parent} does not exist; nothing was changed"
    assert not (tmp_path / "no").exists()


def test_no_docker_engine_names_the_endpoint_tried(existing: Path, tmp_path: Path) -> None:
    sock = tmp_path / "nobody-listens.sock"
    result = adhoc({"path": str(existing)}, env={"DOCKER_HOST": f"unix://{sock}"})
    assert result["failed"] is True
    assert result["msg"].startswith(f"cannot reach the Docker engine at unix://{sock} (chosen by environment variable DOCKER_HOST): ")
    check_untouched(existing)


def test_no_docker_engine_from_a_broken_context(existing: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write_context(home, "stopped-colima", f"unix://{home}/.colima/default/docker.sock")
    result = adhoc({"path": str(existing)}, env={"HOME": str(home)})
    assert result["failed"] is True
    assert f"cannot reach the Docker engine at unix://{home}/.colima/default/docker.sock (chosen by docker context 'stopped-colima'" in result["msg"]
    check_untouched(existing)


def test_sdk_missing_on_the_target_names_the_interpreter(existing: Path) -> None:
    """/usr/bin/python3 of Debian has no docker SDK: the module, shipped by Ansible, must say so."""
    result = adhoc({"path": str(existing)}, python="/usr/bin/python3")
    assert result["failed"] is True
    assert "Failed to import the required Python library (docker)" in result["msg"]
    assert "Python /usr/bin/python3." in result["msg"] and result["msg"].count("/usr/bin/python3") == 1  # named once
    check_untouched(existing)
