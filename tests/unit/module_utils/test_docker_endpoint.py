"""Which Docker engine docker_bridge_routes asks, resolved in temporary homes (parameter, DOCKER_HOST, the CLI's
context, the known sockets in their documented order), and the Docker 28+ detection."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _docker
from ansible_collections.hostreach.kind.plugins.module_utils._errors import DockerError

ROOT_SOCKET = "/var/run/docker.sock"


def no_root_socket(path: str) -> bool:
    """os.path.exists, except that the machine's own /var/run/docker.sock is hidden from the resolver."""
    return path != ROOT_SOCKET and os.path.exists(path)


def make_socket_file(home: Path, relative: str) -> str:
    path = home / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return str(path)


def make_context(home: Path, name: str, host: str, current: bool = True) -> Path:
    meta = home / ".docker" / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest() / "meta.json"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}}}))
    if current:
        (home / ".docker" / "config.json").write_text(json.dumps({"auths": {}, "currentContext": name}))
    return meta


def resolve(home: Path, param=None, env=None, exists=no_root_socket) -> _docker.Endpoint:
    return _docker.resolve_endpoint(param, env or {}, str(home), exists=exists)


def test_parameter_wins_over_everything(tmp_path: Path) -> None:
    make_context(tmp_path, "colima", "unix:///ctx.sock")
    make_socket_file(tmp_path, ".docker/run/docker.sock")
    endpoint = resolve(tmp_path, param="tcp://127.0.0.1:2375", env={"DOCKER_HOST": "unix:///env.sock"})
    assert endpoint == _docker.Endpoint("tcp://127.0.0.1:2375", "parameter docker_host")


def test_docker_host_wins_over_context_and_sockets(tmp_path: Path) -> None:
    make_context(tmp_path, "colima", "unix:///ctx.sock")
    make_socket_file(tmp_path, ".docker/run/docker.sock")
    assert resolve(tmp_path, env={"DOCKER_HOST": "unix:///env.sock"}) == _docker.Endpoint("unix:///env.sock", "environment variable DOCKER_HOST")


def test_current_context_from_config_json(tmp_path: Path) -> None:
    make_context(tmp_path, "colima", "unix:///Users/me/.colima/default/docker.sock")
    make_socket_file(tmp_path, ".docker/run/docker.sock")
    endpoint = resolve(tmp_path)
    assert endpoint.host == "unix:///Users/me/.colima/default/docker.sock"
    assert "'colima'" in endpoint.source and "config.json" in endpoint.source


def test_docker_context_env_overrides_config_json(tmp_path: Path) -> None:
    make_context(tmp_path, "colima", "unix:///colima.sock")
    make_context(tmp_path, "orbstack", "unix:///orbstack.sock", current=False)
    endpoint = resolve(tmp_path, env={"DOCKER_CONTEXT": "orbstack"})
    assert (endpoint.host, endpoint.source) == ("unix:///orbstack.sock", "docker context 'orbstack' (from DOCKER_CONTEXT)")


def test_default_context_falls_through_to_sockets(tmp_path: Path) -> None:
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text('{"currentContext": "default"}')
    path = make_socket_file(tmp_path, ".colima/default/docker.sock")
    assert resolve(tmp_path) == _docker.Endpoint("unix://" + path, "Colima socket")


def test_context_without_meta_fails_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text('{"currentContext": "gone"}')
    with pytest.raises(DockerError) as err:
        resolve(tmp_path)
    assert "'gone'" in str(err.value)
    assert _docker.context_meta_path(str(tmp_path), "gone") in str(err.value)


def test_unreadable_config_json_fails_naming_it(tmp_path: Path) -> None:
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text("{not json")
    with pytest.raises(DockerError, match=r"config\.json"):
        resolve(tmp_path)


@pytest.mark.parametrize(
    ("relative", "name"),
    [
        (".docker/run/docker.sock", "Docker Desktop socket"),
        (".colima/default/docker.sock", "Colima socket"),
        (".orbstack/run/docker.sock", "OrbStack socket"),
        (".rd/docker.sock", "Rancher Desktop socket"),
    ],
)
def test_each_known_socket_is_found(tmp_path: Path, relative: str, name: str) -> None:
    path = make_socket_file(tmp_path, relative)
    assert resolve(tmp_path) == _docker.Endpoint("unix://" + path, name)


def test_known_sockets_are_tried_in_order(tmp_path: Path) -> None:
    for relative in (".rd/docker.sock", ".orbstack/run/docker.sock", ".colima/default/docker.sock"):
        make_socket_file(tmp_path, relative)
    assert resolve(tmp_path).source == "Colima socket"


def test_var_run_docker_sock_is_the_last_resort(tmp_path: Path) -> None:
    assert resolve(tmp_path, exists=lambda p: p == ROOT_SOCKET) == _docker.Endpoint("unix:///var/run/docker.sock", "Docker Engine socket")


def test_nothing_found_names_every_endpoint_tried(tmp_path: Path) -> None:
    with pytest.raises(DockerError) as err:
        resolve(tmp_path)
    message = str(err.value)
    for relative in (".docker/run/docker.sock", ".colima/default/docker.sock", ".orbstack/run/docker.sock", ".rd/docker.sock"):
        assert f"unix://{tmp_path}/{relative}" in message
    assert "unix:///var/run/docker.sock" in message
    assert "DOCKER_HOST is not set" in message


def net(name: str, mode=None) -> _docker.BridgeNetwork:
    return _docker.BridgeNetwork(name, name + "-id", ["172.18.0.0/16"], mode)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("20.10.24+dfsg1", []),
        ("27.5.1", []),
        ("28.0.0", ["bridge", "kind"]),
        ("29.1.2", ["bridge", "kind"]),
        ("", []),
    ],
)
def test_direct_routing_filtered_from_docker_28(version: str, expected: list) -> None:
    networks = [net("bridge"), net("kind", "nat"), net("open", "nat-unprotected")]
    assert _docker.direct_routing_filtered(version, networks) == expected


class FakeEngine:
    """Answers `networks()` as the Docker SDK's low-level client does (a list of network dicts)."""

    def __init__(self, networks: list) -> None:
        self._networks = networks

    def networks(self, filters: dict) -> list:
        assert filters == {"driver": ["bridge"]}
        return self._networks


def test_bridge_networks_are_sorted_and_their_subnets_canonical() -> None:
    engine = FakeEngine(
        [
            {"Name": "kind", "Id": "k1", "IPAM": {"Config": [{"Subnet": "172.18.0.1/16"}, {"Subnet": "fc00:f853:0ccd:e793::/64"}]}},
            {"Name": "bridge", "Id": "b1", "IPAM": {"Config": [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]}, "Options": {}},
            {"Name": "none-yet", "Id": "n1", "IPAM": {"Config": None}},
        ]
    )
    found = _docker.bridge_networks(engine)
    assert [n.name for n in found] == ["bridge", "kind", "none-yet"]
    assert found[1].subnets == ["172.18.0.0/16", "fc00:f853:ccd:e793::/64"]
    assert found[0].subnets == ["172.17.0.0/16"] and found[2].subnets == []


def test_the_documented_socket_list_is_the_one_tried_in_the_same_order() -> None:
    import re

    import yaml
    from ansible_collections.hostreach.kind.plugins.doc_fragments._docker import ModuleDocFragment

    description = " ".join(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]["docker_host"]["description"])
    documented = re.findall(r"C\(([^)]*docker\.sock)\)", description)
    assert documented == [path for _name, path in _docker.KNOWN_SOCKETS]


def test_the_documented_options_are_the_declared_ones() -> None:
    import yaml
    from ansible_collections.hostreach.kind.plugins.doc_fragments import _docker as docker_fragment
    from ansible_collections.hostreach.kind.plugins.doc_fragments import _kube as kube_fragment
    from ansible_collections.hostreach.kind.plugins.doc_fragments import _services as services_fragment
    from ansible_collections.hostreach.kind.plugins.module_utils import _kube, _service_phases

    pairs = ((docker_fragment, _docker.DOCKER_COMMON_ARGS), (kube_fragment, _kube.KUBE_COMMON_ARGS), (services_fragment, _service_phases.SERVICE_ARGS))
    for fragment, spec in pairs:
        options = yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)["options"]
        assert {name: (o["type"], o.get("default")) for name, o in options.items()} == {name: (s["type"], s.get("default")) for name, s in spec.items()}
