"""Where kind_cluster_routes' routes go, without a Docker engine or root: what a Node object names never reaches the
Docker VM's shell script or `ip` unless it is an IPv4 address, and every word of the script is quoted.

The VM (Connector._vm) and the config write (_connector_file.update) are stood in for by recorders; the rest is real.
"""

from __future__ import annotations

import ipaddress
import json
import shlex
import typing as t
from pathlib import Path

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _cluster_routes, _connector_file, _route_targets
from ansible_collections.hostreach.kind.plugins.module_utils._errors import RouteError
from hypothesis import given
from hypothesis import strategies as st

HOSTILE = ["172.18.0.2; reboot", "$(id)", "172.18.0.2\nip route flush table main", "::1", "", "`id`", "172.18.0.2 && reboot"]


class FakeModule:
    """What the targets use of an AnsibleModule: params, check_mode, run_command (recorded), get_bin_path."""

    def __init__(self, path: str = "", state: str = "present") -> None:
        self.params = {"state": state, "image": "docker:29-dind", "pull": "never", "docker_host": None, "path": path}
        self.check_mode = False
        self.commands: list = []

    def run_command(self, args: list) -> tuple:
        self.commands.append(args)
        return 0, "", ""

    def get_bin_path(self, name: str, required: bool = False) -> str:
        return f"/usr/sbin/{name}"


def node_object(name: str, address: t.Any, cidr: str, control_plane: bool = False) -> dict:
    labels = {_cluster_routes.CONTROL_PLANE_LABEL: ""} if control_plane else {}
    return {"metadata": {"name": name, "labels": labels}, "spec": {"podCIDRs": [cidr]}, "status": {"addresses": [{"type": "InternalIP", "address": address}]}}


@pytest.fixture
def vm(monkeypatch: pytest.MonkeyPatch) -> dict:
    """The scripts the Connector would run in the VM and the config updates it would make."""
    seen: dict = {"scripts": [], "updates": []}
    monkeypatch.setattr(_route_targets.Connector, "_vm", lambda self, script: seen["scripts"].append(script) or "")
    monkeypatch.setattr(_connector_file, "update", lambda module, target, routes, owner=None, create=True: seen["updates"].append(routes))
    return seen


def connector(tmp_path: Path, nodes: list) -> _route_targets.Connector:
    path = tmp_path / "docker-connector.conf"
    path.write_text("")
    target = _route_targets.Connector(FakeModule(str(path)), "dev", nodes, str(path))
    target.vm_routes, target.lined = [], set()  # what read() finds in a fresh VM
    return target


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_node_address_never_reaches_the_vm_script(tmp_path: Path, vm: dict, hostile: str) -> None:
    objects = [node_object("good", "172.18.0.3", "10.244.0.0/24", True), node_object("evil", hostile, "10.244.1.0/24")]
    nodes = _cluster_routes.cluster_nodes(objects)
    wanted = _cluster_routes.wanted_routes([ipaddress.ip_network("10.96.0.0/16")], nodes)
    target = connector(tmp_path, nodes)
    target.apply(wanted, [], [])
    assert vm["scripts"] == ["set -e\nip route replace 10.244.0.0/24 via 172.18.0.3\nip route replace 10.96.0.0/16 via 172.18.0.3\n"]
    assert target.node_ips == {"172.18.0.3"}
    if hostile:
        assert hostile not in vm["scripts"][0]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_route_with_a_hostile_value_that_got_past_the_parser_is_refused_before_anything_is_written(tmp_path: Path, vm: dict, hostile: str) -> None:
    target = connector(tmp_path, [])
    wanted = [_cluster_routes.Route(ipaddress.ip_network("10.96.0.0/16"), hostile, "service", "evil")]
    with pytest.raises(RouteError, match=r"refusing to route '10\.96\.0\.0/16' via .*nothing was changed"):
        target.apply(wanted, [], [])
    assert vm == {"scripts": [], "updates": []}


@pytest.mark.parametrize("hostile", HOSTILE)
def test_host_table_never_runs_ip_with_a_hostile_value(hostile: str) -> None:
    module = FakeModule()
    table = _route_targets.HostTable(module, "dev", [])
    with pytest.raises(RouteError):
        table.apply([], [("10.96.0.0/16", "172.18.0.2"), ("10.244.0.0/24", hostile)], [])
    assert module.commands == []  # refused as a whole, before the first command
    table.apply([], [("10.96.0.0/16", "172.18.0.2")], [("10.97.0.0/16", "172.18.0.2")])
    assert module.commands == [
        ["ip", "route", "del", "10.97.0.0/16", "via", "172.18.0.2", "proto", "119"],
        ["ip", "route", "replace", "10.96.0.0/16", "via", "172.18.0.2", "proto", "119"],
    ]


@given(cidr=st.text(max_size=30), via=st.text(max_size=30))
def test_the_vm_script_is_only_ever_quoted_ipv4_routes(cidr: str, via: str) -> None:
    try:
        script = _route_targets.vm_script([], [(cidr, via)])
    except RouteError:
        return
    (line,) = script.splitlines()[1:]
    words = shlex.split(line)
    assert words[:3] == ["ip", "route", "replace"] and words[4] == "via" and len(words) == 6
    assert str(ipaddress.IPv4Network(words[3])) == words[3] and str(ipaddress.IPv4Address(words[5])) == words[5]
    assert line == " ".join(shlex.quote(w) for w in words)


def test_a_proto_119_route_without_a_gateway_is_not_taken_for_ours() -> None:
    """Only a route via a node is one the module made: a gateway-less route with its mark (a `dev` or blackhole route
    someone else added) is neither removed nor turned into a command (it once made the plan raise in check mode)."""
    module = FakeModule()
    table_json = json.dumps(
        [
            {"dst": "10.96.0.0/16", "dev": "eth1", "protocol": "119", "scope": "link", "flags": []},
            {"dst": "10.97.0.0/16", "gateway": "172.18.0.2", "dev": "br-1", "protocol": "119", "flags": []},
        ]
    )
    module.run_command = lambda args: (module.commands.append(args), (0, table_json, ""))[1]  # type: ignore[method-assign]
    table = _route_targets.HostTable(module, "dev", [_cluster_routes.Node("dev-control-plane", "172.18.0.2", [], True)])
    wanted = [_cluster_routes.Route(ipaddress.ip_network("10.96.0.0/16"), "172.18.0.2", "service", "dev-control-plane")]
    routes, current = table.read(wanted)
    assert current == [(ipaddress.ip_network("10.97.0.0/16"), "172.18.0.2")]
    assert [table.owner_of(r) for r in routes if r.gateway is None] == [None]
    assert _route_targets.host_commands([], current) == [["ip", "route", "del", "10.97.0.0/16", "via", "172.18.0.2", "proto", "119"]]


def test_a_gone_clusters_routes_in_place_are_exactly_those_of_its_record() -> None:
    net = ipaddress.ip_network
    found = [(net("10.96.0.0/16"), "172.18.0.2"), (net("10.244.0.0/24"), "172.18.0.3"), (net("10.250.0.0/24"), "172.18.0.2")]
    assert _route_targets.in_record(found, None) == found  # the cluster answered: no record to go by
    assert _route_targets.in_record(found, {(net("10.96.0.0/16"), "172.18.0.2"), (net("10.244.0.0/24"), "172.18.0.2")}) == found[:1]
    assert _route_targets.in_record(found, set()) == []
