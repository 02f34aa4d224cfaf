"""The root steps of a plan made as the user (issue 18, item 9): exactly the shapes kind_cluster_routes and
kind_cluster_dns make get through to root; anything else that a module running as the user returned fails, named."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.hostreach.kind.plugins.filter.root_steps import ip_route_commands, resolvectl_commands, resolver_file_change
from ansible_collections.hostreach.kind.plugins.module_utils._cluster_dns import resolver_file
from ansible_collections.hostreach.kind.plugins.module_utils._route_targets import host_commands

ROUTE = ["ip", "route", "replace", "10.96.0.0/16", "via", "172.18.0.2", "proto", "119"]


def test_the_route_commands_the_module_makes_get_through() -> None:
    commands = host_commands([("10.96.0.0/16", "172.18.0.2"), ("10.244.0.0/24", "172.18.0.3")], [("10.97.0.0/16", "172.18.0.9")])
    assert ip_route_commands(commands) == commands
    assert ip_route_commands([]) == [] and ip_route_commands(None) == []


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["sh", "-c", "id"], id="another-program"),
        pytest.param(["ip", "link", "set", "eth0", "down", "x", "proto", "119"], id="ip-link"),
        pytest.param([*ROUTE[:2], "flush", *ROUTE[3:]], id="flush"),
        pytest.param([*ROUTE[:3], "10.96.0.1/16", *ROUTE[4:]], id="host-bits"),
        pytest.param([*ROUTE[:3], "fd00::/64", *ROUTE[4:]], id="ipv6"),
        pytest.param([*ROUTE[:5], "172.18.0.2 dev eth0", *ROUTE[6:]], id="glued-words"),
        pytest.param([*ROUTE[:6], "proto", "static"], id="another-proto"),
        pytest.param([*ROUTE, "table", "local"], id="more-words"),
        pytest.param("ip route replace 10.96.0.0/16 via 172.18.0.2 proto 119", id="a-string"),
    ],
)
def test_any_other_command_is_refused_before_root_runs_it(argv: object) -> None:
    with pytest.raises(AnsibleFilterError, match=r"refusing to run as root the command .*nothing was changed"):
        ip_route_commands([ROUTE, argv])


def test_the_resolvectl_commands_the_module_makes_get_through() -> None:
    commands = [["resolvectl", "dns", "br-1e9b417bacdc", "10.96.0.10"], ["resolvectl", "domain", "br-1e9b417bacdc", "~cluster.local"]]
    assert resolvectl_commands(commands) == commands
    assert resolvectl_commands([["resolvectl", "revert", "br-1e9b417bacdc"]]) == [["resolvectl", "revert", "br-1e9b417bacdc"]]
    assert resolvectl_commands([["resolvectl", "dns", "eth0", "fd00:10:96::a"]]) == [["resolvectl", "dns", "eth0", "fd00:10:96::a"]]


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["resolvectl", "dns", "br-1", "10.96.0.10", "1.1.1.1"], id="two-servers"),
        pytest.param(["resolvectl", "domain", "br-1", "~."], id="every-domain"),
        pytest.param(["resolvectl", "domain", "br-1", "cluster.local"], id="search-domain-not-routing"),
        pytest.param(["resolvectl", "dns", "br-1/../eth0", "10.96.0.10"], id="link-with-slash"),
        pytest.param(["resolvectl", "dns", "a-very-long-link-name", "10.96.0.10"], id="link-too-long"),
        pytest.param(["resolvectl", "dns", "br-1", "10.96.0.10:5353"], id="port"),
        pytest.param(["resolvectl", "flush-caches", "br-1"], id="another-verb"),
        pytest.param(["resolvectl", "revert", "br-1", "extra"], id="revert-with-more"),
        pytest.param(["sh", "dns", "br-1", "10.96.0.10"], id="another-program"),
    ],
)
def test_any_other_resolvectl_command_is_refused_before_root_runs_it(argv: list) -> None:
    with pytest.raises(AnsibleFilterError, match="refusing to run as root the command"):
        resolvectl_commands([argv])


def plan(path: str, content: object, cluster: str = "dev") -> dict:
    return {"item": cluster, "path": path, "content": content, "changed": True}


def test_the_resolver_file_the_module_writes_gets_through_and_so_does_its_removal() -> None:
    content = resolver_file("dev", "cluster.local", "10.96.0.10")
    assert resolver_file_change(plan("/etc/resolver/cluster.local", content), "/etc/resolver") == {"path": "/etc/resolver/cluster.local", "content": content}
    assert resolver_file_change(plan("/etc/resolver/cluster.local", None), "/etc/resolver/") == {"path": "/etc/resolver/cluster.local", "content": None}


@pytest.mark.parametrize(
    ("path", "content"),
    [
        pytest.param("/etc/sudoers.d/cluster.local", None, id="another-folder"),
        pytest.param("/etc/resolver/../sudoers", None, id="dot-dot"),
        pytest.param("/etc/resolver/", None, id="no-name"),
        pytest.param("/etc/resolver/.hidden", None, id="not-a-domain"),
        pytest.param("/etc/resolver/cluster.local", "nameserver 10.96.0.10\n", id="not-our-file"),
        pytest.param("/etc/resolver/cluster.local", resolver_file("dev", "cluster.local", "10.96.0.10") + "search corp\n", id="extra-line"),
        pytest.param("/etc/resolver/cluster.local", resolver_file("dev", "other.local", "10.96.0.10"), id="another-domain"),
        pytest.param("/etc/resolver/cluster.local", resolver_file("other", "cluster.local", "10.96.0.10"), id="another-cluster"),
        pytest.param("/etc/resolver/cluster.local", resolver_file("dev", "cluster.local", "dns.corp"), id="nameserver-not-an-ip"),
        pytest.param("/etc/resolver/cluster.local", 42, id="not-text"),
    ],
)
def test_any_other_resolver_file_change_is_refused_before_root_makes_it(path: str, content: object) -> None:
    with pytest.raises(AnsibleFilterError, match="refusing to run as root"):
        resolver_file_change(plan(path, content), "/etc/resolver")
