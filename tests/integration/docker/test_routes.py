"""docker_bridge_routes against the real Docker engine: which networks get a route line, IPv4 only, repair of the
glued and duplicate lines of the manual recipe's one-liner (docs/chain.md), idempotence byte for byte, other lines
kept, absent and prune, the expose flag, check and diff mode; the mark on the lines the module adds (teardown removes
only those), the lines that widen docker-connector's exposure removed, token values masked.

Each test creates its own bridge networks (hrit-*) and removes them; the module runs as a user runs it,
`ansible localhost -m hostreach.kind.docker_bridge_routes`.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.ansible_runner import adhoc
from tests.connector_conf_samples import DIRECTIVES

from .bridge_routes_helpers import subnets

pytestmark = pytest.mark.docker

IPV6_REASON = "IPv6 subnet: docker-connector routes IPv4 only"
MARK = " # hostreach.kind bridge"  # on every route line the module adds; only such lines are removed


def ours(subnet: str, flag: str = "") -> str:
    return f"route {subnet}{flag}{MARK}"


def route_lines(path: Path) -> list:
    return [line for line in path.read_text().splitlines() if line.startswith("route")]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_liner(net: dict, path: Path) -> None:
    """The manual recipe's step (docs/chain.md), run for real: `docker network inspect --format "route {{...}}" >> conf`."""
    fmt = "route {{range .IPAM.Config}}{{.Subnet}}{{end}}"
    out = subprocess.run(["docker", "network", "inspect", "--format", fmt, net["Id"]], capture_output=True, text=True, check=True).stdout
    with path.open("a") as handle:
        handle.write(out)


def test_every_bridge_network_including_the_default_gets_one_line_each(networks, client, conf: Path) -> None:
    b = networks.create("b")
    a = networks.create("a")
    result = adhoc("docker_bridge_routes", {"path": str(conf)})
    assert result["changed"] is True
    engine = {n["Name"]: n for n in client.networks(filters={"driver": ["bridge"]})}
    assert "bridge" in result["networks"]
    assert result["networks"][a["Name"]] == subnets(a) and result["networks"][b["Name"]] == subnets(b)
    lines = route_lines(conf)
    assert ours(subnets(engine["bridge"])[0]) in lines
    # one line per IPv4 subnet, in a stable order: networks sorted by name
    mine = [line for line in lines if line in (ours(subnets(a)[0]), ours(subnets(b)[0]))]
    assert mine == [ours(subnets(a)[0]), ours(subnets(b)[0])]
    assert len(lines) == len(set(lines))
    assert result["routes"] == [line.split()[1] for line in lines]
    assert oct(conf.stat().st_mode & 0o777) == "0o644"


def test_networks_select_by_name_id_and_id_prefix_and_exclude_removes(networks, conf: Path) -> None:
    a, b, c = networks.create("a"), networks.create("b"), networks.create("c")
    result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"], b["Id"], c["Id"][:12]], "exclude": [b["Name"]]})
    assert sorted(result["networks"]) == sorted([a["Name"], c["Name"]])
    assert route_lines(conf) == [ours(subnets(a)[0]), ours(subnets(c)[0])]


def test_dual_stack_network_writes_ipv4_only_and_skips_ipv6_with_reason(networks, conf: Path) -> None:
    # As kind creates its network: Docker picks the IPv4 subnet, kind gives an IPv6 ULA /64 and enable_ipv6.
    kind = networks.create("kind", ipv4=False, ipv6=True)
    v4, v6 = subnets(kind, 4), subnets(kind, 6)
    assert len(v4) == 1 and len(v6) == 1
    result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [kind["Name"]]})
    assert route_lines(conf) == [ours(v4[0])]
    assert result["skipped_subnets"] == [{"network": kind["Name"], "subnet": v6[0], "reason": IPV6_REASON}]
    assert result["networks"] == {kind["Name"]: subnets(kind)}


def test_glued_line_from_the_one_liner_is_repaired_in_place(networks, conf: Path) -> None:
    kind = networks.create("kind", ipv4=False, ipv6=True)
    conf.write_text("# docker-connector\naddr 192.168.251.1/24\n")
    one_liner(kind, conf)
    with conf.open("a") as handle:
        handle.write("mtu 1400\n")
    glued = "route " + "".join(c["Subnet"] for c in kind["IPAM"]["Config"])  # as Docker keeps them, leading zero and all
    assert conf.read_text().splitlines()[2] == glued
    result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [kind["Name"]]})
    assert conf.read_text() == f"# docker-connector\naddr 192.168.251.1/24\nroute {subnets(kind, 4)[0]}\nmtu 1400\n"
    assert result["repaired"] == [
        {"line": 3, "before": glued, "after": [f"route {subnets(kind, 4)[0]}"], "reason": "glued subnets split into one route line per IPv4 subnet"}
    ]
    assert result["added"] == [] and result["changed"] is True
    assert {"subnet": subnets(kind, 6)[0], "line": 3, "reason": IPV6_REASON} in result["skipped_subnets"]


def test_duplicates_collapse_and_equal_subnets_written_differently_count(networks, conf: Path) -> None:
    a, b = networks.create("a"), networks.create("b")
    for _run in range(3):
        one_liner(a, conf)
    host_bits = subnets(b)[0].replace(".0/24", ".1/24")
    with conf.open("a") as handle:
        handle.write(f"route   {host_bits}\n")
    result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"], b["Name"]]})
    assert conf.read_text() == f"route {subnets(a)[0]}\nroute   {host_bits}\n"
    assert result["added"] == []
    assert [r["reason"] for r in result["repaired"]] == ["duplicate of an earlier route line"] * 2
    assert result["routes"] == [subnets(a)[0], subnets(b)[0]]


def test_second_run_changes_nothing_byte_for_byte(networks, conf: Path) -> None:
    a = networks.create("a")
    kind = networks.create("kind", ipv4=False, ipv6=True)
    conf.write_text("addr 192.168.251.1/24\n")
    one_liner(kind, conf)
    one_liner(a, conf)
    one_liner(a, conf)
    args = {"path": str(conf), "networks": [a["Name"], kind["Name"]]}
    first = adhoc("docker_bridge_routes", args)
    assert first["changed"] is True
    digest, stat = sha256(conf), conf.stat()
    second = adhoc("docker_bridge_routes", args)
    assert second["changed"] is False and second["_stats"]["changed"] == 0
    assert (second["added"], second["removed"], second["repaired"]) == ([], [], [])
    assert sha256(conf) == digest
    assert (conf.stat().st_ino, conf.stat().st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)


NON_ROUTE = DIRECTIVES + "something-unknown   with\tspacing  \n   \n"


def test_non_route_lines_stay_byte_for_byte_through_present_and_absent(networks, conf: Path) -> None:
    a = networks.create("a")
    conf.write_bytes((NON_ROUTE + "pong on").encode())
    adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]], "allow_tunnel_exposure": True})  # NON_ROUTE has token, expose
    assert conf.read_bytes() == (NON_ROUTE + f"pong on\n{ours(subnets(a)[0])}\n").encode()
    adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]], "state": "absent"})
    assert conf.read_bytes() == (NON_ROUTE + "pong on\n").encode()
    conf.write_bytes((NON_ROUTE + "pong on").encode())
    result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]], "state": "absent"})
    assert result["changed"] is False
    assert conf.read_bytes() == (NON_ROUTE + "pong on").encode()


def test_absent_removes_only_the_selected_networks_lines(networks, conf: Path) -> None:
    a, b = networks.create("a"), networks.create("b")
    conf.write_text(f"{ours(subnets(a)[0])}\n{ours('10.99.0.0/16')}\n{ours(subnets(b)[0])}\n")
    result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]], "state": "absent"})
    assert conf.read_text() == f"{ours('10.99.0.0/16')}\n{ours(subnets(b)[0])}\n"
    assert result["removed"] == [subnets(a)[0]]


def test_prune_drops_routes_of_deleted_networks_but_never_extra_routes(networks, conf: Path) -> None:
    a, gone = networks.create("a"), networks.create("gone")
    args = {"path": str(conf), "networks": [a["Name"]], "extra_routes": ["10.96.0.0/12"], "prune": True}
    conf.write_text(f"{ours(subnets(gone)[0])}\nroute {subnets(a)[0]}\nroute 10.98.0.0/16\n")  # the last two: the user's
    networks.remove(gone)
    result = adhoc("docker_bridge_routes", args)
    assert conf.read_text() == f"route {subnets(a)[0]}\nroute 10.98.0.0/16\n{ours('10.96.0.0/12')}\n"
    assert result["removed"] == [subnets(gone)[0]]
    assert adhoc("docker_bridge_routes", args)["changed"] is False


def test_expose_flag_is_written_as_docker_connector_reads_it(networks, conf: Path) -> None:
    a = networks.create("a")
    adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]], "expose": True})
    assert route_lines(conf) == [ours(subnets(a)[0], " expose")]
    result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]], "expose": False})
    assert route_lines(conf) == [ours(subnets(a)[0])]
    assert result["repaired"][0]["reason"] == "expose flag removed"


def test_check_mode_writes_nothing_and_reports_what_the_real_run_does(networks, conf: Path) -> None:
    a = networks.create("a")
    kind = networks.create("kind", ipv4=False, ipv6=True)
    conf.write_text("mtu 1400\n")
    one_liner(kind, conf)
    one_liner(kind, conf)
    before, digest, listing = conf.read_text(), sha256(conf), sorted(p.name for p in conf.parent.iterdir())
    args = {"path": str(conf), "networks": [a["Name"], kind["Name"]]}
    checked = adhoc("docker_bridge_routes", args, check=True, diff=True)
    assert sha256(conf) == digest
    assert sorted(p.name for p in conf.parent.iterdir()) == listing  # not even a lock file
    real = adhoc("docker_bridge_routes", args, diff=True)
    assert checked["changed"] is real["changed"] is True
    assert checked["diff"] == real["diff"]
    assert real["diff"]["before"] == before
    assert real["diff"]["after"] == conf.read_text() == f"mtu 1400\nroute {subnets(kind, 4)[0]}\n{ours(subnets(a)[0])}\n"
    for key in ("added", "removed", "repaired", "skipped_subnets", "routes"):
        assert checked[key] == real[key], key
    again = adhoc("docker_bridge_routes", args, check=True, diff=True)
    assert again["changed"] is False and again["diff"]["before"] == again["diff"]["after"]


def test_check_mode_on_a_missing_file_creates_nothing(networks, conf: Path) -> None:
    a = networks.create("a")
    result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]]}, check=True, diff=True)
    assert result["changed"] is True
    assert result["diff"]["before_header"] == "/dev/null" and result["diff"]["after"] == f"{ours(subnets(a)[0])}\n"
    assert list(conf.parent.iterdir()) == []


def test_bytes_that_are_not_utf8_are_kept_and_the_diff_still_shows(networks, conf: Path) -> None:
    a = networks.create("a")
    conf.write_bytes(b"# caf\xe9\nmtu 1400\n")
    result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]]}, diff=True)
    assert result["changed"] is True
    assert conf.read_bytes() == f"# caf\xe9\nmtu 1400\n{ours(subnets(a)[0])}\n".encode("latin-1")
    assert result["diff"]["before"] == "# caf\ufffd\nmtu 1400\n"


def test_teardown_removes_what_expose_added_and_keeps_the_users_route_lines(networks, conf: Path) -> None:
    """Issue 18 item 11: absent removed every selected subnet's route line, the user's own too."""
    a, b = networks.create("a"), networks.create("b")
    users = f"# mine\nroute {subnets(a)[0]}\nroute 10.97.0.0/16\n"
    conf.write_text(users)
    args = {"path": str(conf), "networks": [a["Name"], b["Name"]], "extra_routes": ["10.96.0.0/12"], "prune": True}
    expose = adhoc("docker_bridge_routes", args)
    assert expose["added"] == [subnets(b)[0], "10.96.0.0/12"] and expose["removed"] == []
    assert conf.read_text() == users + f"{ours(subnets(b)[0])}\n{ours('10.96.0.0/12')}\n"
    teardown = adhoc("docker_bridge_routes", dict(args, state="absent", prune=False))
    assert sorted(teardown["removed"]) == sorted([subnets(b)[0], "10.96.0.0/12"])
    assert conf.read_text() == users
    assert adhoc("docker_bridge_routes", dict(args, state="absent", prune=False))["changed"] is False


def test_lines_that_widen_the_tunnels_exposure_are_removed_and_tokens_never_shown(networks, conf: Path) -> None:
    """Issue 18 items 10 and 13: what a local container can append through docker-connector's UDP port is removed
    (reported in check mode first), unless allow_tunnel_exposure; the diff and the results never show a token value."""
    a = networks.create("a")
    text = f"addr 192.168.251.1/24\nhost 127.0.0.1\n{ours(subnets(a)[0])}\ntoken s3cret-value 192.168.251.4\nexpose 0.0.0.0:2512\nhost 0.0.0.0\n"
    conf.write_text(text)
    args = {"path": str(conf), "networks": [a["Name"]]}
    checked = adhoc("docker_bridge_routes", args, check=True, diff=True)
    assert conf.read_text() == text and checked["changed"] is True
    assert [(r["line"], r["text"]) for r in checked["refused_lines"]] == [(4, "token ********"), (5, "expose 0.0.0.0:2512"), (6, "host 0.0.0.0")]
    assert "s3cret-value" not in str(checked) and "token ********" in checked["diff"]["before"]
    assert any(w.startswith("would remove line 4 of") for w in checked["warnings"])
    real = adhoc("docker_bridge_routes", args, diff=True)
    assert real["refused_lines"] == checked["refused_lines"] and real["diff"] == checked["diff"]
    assert conf.read_text() == f"addr 192.168.251.1/24\nhost 127.0.0.1\n{ours(subnets(a)[0])}\n"
    conf.write_text(text)
    allowed = adhoc("docker_bridge_routes", dict(args, allow_tunnel_exposure=True), diff=True)
    assert conf.read_text() == text and allowed["changed"] is False and allowed["refused_lines"] == []
    assert len([w for w in allowed["warnings"] if "the tunnel is exposed" in w]) == 3 and "s3cret-value" not in str(allowed)
