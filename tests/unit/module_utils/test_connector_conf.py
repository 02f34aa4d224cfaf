"""Parse, render and plan docker-connector.conf without any I/O: glued and duplicate route lines repaired, IPv6
skipped, every other line kept byte for byte, absent and prune, the expose flag, and a second plan that changes nothing."""

from __future__ import annotations

import ipaddress

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _connector_conf as conf
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.connector_conf_samples import DIRECTIVES

KIND_V4 = ipaddress.ip_network("172.18.0.0/16")
BRIDGE = ipaddress.ip_network("172.17.0.0/16")
OTHER = ipaddress.ip_network("10.20.0.0/24")
GLUED = "route 172.18.0.0/16fc00:f853:ccd:e793::/64"
MARK = " " + conf.BRIDGE_MARK  # on every line docker_bridge_routes appends: its own, the only ones it removes

# Every kind of non-route line the connector knows, plus unknown words, a tab, CRLF and no final newline.
OTHER_LINES = (
    DIRECTIVES
    + "loglevel DEBUG\r\n"
    + "frobnicate\tthe   widgets  \n"
    + "   \n"
    + "#route 172.30.0.0/16\n"
    + "routes 172.31.0.0/16\n"
    + "route not-a-subnet\n"
    + "route fd00:1::/64\n"
    + "pong on"
)


def plan(text: str, wanted=(), **kwargs) -> conf.Plan:
    return conf.plan(conf.parse(text), list(wanted), **kwargs)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("172.18.0.0/16", ["172.18.0.0/16"]),
        ("172.18.0.1/16", ["172.18.0.0/16"]),
        ("172.18.0.0/16fc00:f853:ccd:e793::/64", ["172.18.0.0/16", "fc00:f853:ccd:e793::/64"]),
        ("fc00:f853:ccd:e793::/64172.18.0.0/16", ["fc00:f853:ccd:e793::/64", "172.18.0.0/16"]),
        ("172.18.0.0/16172.19.0.0/16", ["172.18.0.0/16", "172.19.0.0/16"]),
        ("10.0.0.0/8192.168.0.0/16", ["10.0.0.0/8", "192.168.0.0/16"]),
        ("10.0.0.0/2110.1.0.0/16", ["10.0.0.0/21", "10.1.0.0/16"]),
        ("172.18.0.0/16fc00::/64fd00::/64", ["172.18.0.0/16", "fc00::/64", "fd00::/64"]),
        ("not-a-subnet", []),
        ("172.18.0.0", []),
        ("172.18.0.0/33", []),
        ("172.18.0.0/16junk", []),
    ],
)
def test_split_glued(spec: str, expected: list) -> None:
    assert [str(n) for n in conf.split_glued(spec)] == expected


def test_every_non_route_line_is_kept_byte_for_byte_while_routes_change() -> None:
    text = f"route 172.17.0.0/16{MARK}\n" + OTHER_LINES + f"\nroute 10.99.0.0/16{MARK}\n"
    result = plan(text, [KIND_V4], keep=[KIND_V4])
    assert result.removed == ["172.17.0.0/16", "10.99.0.0/16"]
    assert result.added == ["172.18.0.0/16"]
    assert result.text == OTHER_LINES + f"\nroute 172.18.0.0/16{MARK}\n"


def test_missing_final_newline_is_kept_when_nothing_is_added() -> None:
    text = "addr 192.168.251.1/24\nroute 172.17.0.0/16"
    assert plan(text, [BRIDGE]).text == text


def test_appending_after_a_last_line_without_newline_adds_only_the_separator() -> None:
    assert plan("mtu 1400", [BRIDGE]).text == f"mtu 1400\nroute 172.17.0.0/16{MARK}\n"


def test_crlf_file_gets_crlf_route_lines() -> None:
    assert plan("port 2511\r\n", [BRIDGE]).text == f"port 2511\r\nroute 172.17.0.0/16{MARK}\r\n"


def test_routes_are_appended_in_the_wanted_order_and_an_empty_file_gets_them() -> None:
    result = plan("", [BRIDGE, KIND_V4, OTHER])
    assert result.text == f"route 172.17.0.0/16{MARK}\nroute 172.18.0.0/16{MARK}\nroute 10.20.0.0/24{MARK}\n"
    assert result.added == ["172.17.0.0/16", "172.18.0.0/16", "10.20.0.0/24"]


def test_glued_dual_stack_line_is_repaired_in_place_and_ipv6_skipped() -> None:
    text = f"addr 192.168.251.1/24\n{GLUED}\nmtu 1400\n"
    result = plan(text, [KIND_V4])
    assert result.text == "addr 192.168.251.1/24\nroute 172.18.0.0/16\nmtu 1400\n"
    assert result.added == []
    assert result.repaired == [
        {"line": 2, "before": GLUED, "after": ["route 172.18.0.0/16"], "reason": "glued subnets split into one route line per IPv4 subnet"}
    ]
    assert result.skipped == [{"subnet": "fc00:f853:ccd:e793::/64", "line": 2, "reason": conf.IPV6_REASON}]


def test_glued_line_of_two_ipv4_networks_becomes_two_lines() -> None:
    result = plan("route 172.17.0.0/16172.18.0.0/16\n", [BRIDGE, KIND_V4])
    assert result.text == "route 172.17.0.0/16\nroute 172.18.0.0/16\n"
    assert result.repaired[0]["after"] == ["route 172.17.0.0/16", "route 172.18.0.0/16"]


def test_duplicates_from_repeated_appends_collapse_to_the_first() -> None:
    text = "route 172.17.0.0/16\n" + GLUED + "\n" + "route 172.17.0.0/16\n" + GLUED + "\n"
    result = plan(text, [BRIDGE, KIND_V4])
    assert result.text == "route 172.17.0.0/16\nroute 172.18.0.0/16\n"
    assert [r["reason"] for r in result.repaired] == [
        "glued subnets split into one route line per IPv4 subnet",
        "duplicate of an earlier route line",
        "glued subnets split into one route line per IPv4 subnet",
    ]
    assert result.repaired[1] == {"line": 3, "before": "route 172.17.0.0/16", "after": [], "reason": "duplicate of an earlier route line"}


@pytest.mark.parametrize("line", ["route 172.18.0.1/16", "route   172.18.0.0/16", "\troute 172.18.0.0/16  ", "route 172.18.255.255/16 expose"])
def test_equal_subnet_written_differently_counts_as_present(line: str) -> None:
    text = line + "\n"
    result = plan(text, [KIND_V4])
    assert (result.text, result.added, result.repaired) == (text, [], [])


def test_differently_written_duplicate_collapses() -> None:
    result = plan("route 172.18.0.1/16\nroute  172.18.0.0/16\n", [KIND_V4])
    assert result.text == "route 172.18.0.1/16\n"


def test_second_plan_is_a_no_op() -> None:
    first = plan(OTHER_LINES + "\n" + GLUED + "\nroute 172.17.0.0/16\nroute 172.17.0.0/16\n", [BRIDGE, KIND_V4, OTHER])
    second = plan(first.text, [BRIDGE, KIND_V4, OTHER])
    assert second == conf.Plan(first.text, [], [], [], [])


def test_absent_removes_only_the_unwanted_lines() -> None:
    text = f"# keep\nroute 172.17.0.0/16{MARK}\nroute 172.18.0.1/16{MARK}\nmtu 1400\nroute 10.20.0.0/24 expose{MARK}\n"
    result = plan(text, unwanted=[KIND_V4, OTHER])
    assert result.text == f"# keep\nroute 172.17.0.0/16{MARK}\nmtu 1400\n"
    assert result.removed == ["172.18.0.0/16", "10.20.0.0/24"]


def test_absent_on_a_glued_marked_line_removes_its_ipv4_subnet() -> None:
    result = plan(GLUED + f"{MARK}\nroute 172.17.0.0/16\n", unwanted=[KIND_V4])
    assert (result.text, result.removed) == ("route 172.17.0.0/16\n", ["172.18.0.0/16"])


def test_absent_and_prune_keep_the_users_unmarked_lines() -> None:
    """Issue 18 item 11: teardown removed the user's own route lines; only what docker_bridge_routes added goes now.
    (Before, absent removed every route line of an unwanted subnet, marked or not.)"""
    users = f"route 172.18.0.0/16\n{GLUED}\nroute 10.20.0.0/24 # my VPN\n"
    text = users + f"route 172.18.0.0/16{MARK}\nroute 10.20.0.0/24{MARK}\n"
    absent = plan(text, unwanted=[KIND_V4, OTHER])
    assert absent.removed == ["172.18.0.0/16", "10.20.0.0/24"]
    assert absent.text == "route 172.18.0.0/16\nroute 10.20.0.0/24 # my VPN\n"  # the glued line: split, a duplicate of the user's first
    pruned = plan(text, [BRIDGE], keep=[BRIDGE])
    assert pruned.removed == ["172.18.0.0/16", "10.20.0.0/24"] and pruned.text == absent.text + f"route 172.17.0.0/16{MARK}\n"


def test_a_users_line_counts_as_present_and_is_never_marked() -> None:
    text = "route 172.18.0.1/16\n"
    present = plan(text, [KIND_V4, BRIDGE], expose=True)
    assert present.text == f"route 172.18.0.0/16 expose\nroute 172.17.0.0/16 expose{MARK}\n" and present.added == ["172.17.0.0/16"]
    assert [line.bridge for line in conf.parse(present.text)] == [False, True]
    assert plan(present.text, unwanted=[KIND_V4, BRIDGE]).text == "route 172.18.0.0/16 expose\n"


def test_a_marked_route_line_is_still_a_route_line_as_docker_connector_reads_it() -> None:
    """docker-connector splits a route's value on single spaces: field 0 is the subnet, field 1 `expose` or not."""
    for line, exposed in ((f"route 172.18.0.0/16{MARK}", False), (f"route 172.18.0.0/16 expose{MARK}", True)):
        parsed = conf.parse(line)[0]
        fields = line.split(" ", 1)[1].split(" ")
        assert (fields[0], fields[1] == "expose") == ("172.18.0.0/16", exposed) == (str(parsed.networks[0]), parsed.exposed)
        assert parsed.bridge and parsed.owner is None


def test_prune_removes_routes_outside_keep_but_never_extra_routes_in_keep() -> None:
    text = f"route 172.17.0.0/16{MARK}\nroute 172.29.0.0/16{MARK}\nroute 10.20.0.0/24{MARK}\n"
    result = plan(text, [BRIDGE, OTHER], keep=[BRIDGE, OTHER])
    assert (result.text, result.removed) == (f"route 172.17.0.0/16{MARK}\nroute 10.20.0.0/24{MARK}\n", ["172.29.0.0/16"])


def test_removing_the_last_line_without_newline() -> None:
    assert plan(f"mtu 1400\nroute 172.18.0.0/16{MARK}", unwanted=[KIND_V4]).text == "mtu 1400\n"


@pytest.mark.parametrize(
    ("text", "expose", "expected", "reason"),
    [
        ("route 172.18.0.0/16\n", True, "route 172.18.0.0/16 expose\n", "expose flag added"),
        ("route 172.18.0.0/16 expose\n", False, "route 172.18.0.0/16\n", "expose flag removed"),
        ("route 172.18.0.0/16 expose\n", None, "route 172.18.0.0/16 expose\n", None),
        ("route 172.18.0.0/16\n", None, "route 172.18.0.0/16\n", None),
    ],
)
def test_expose_flag(text: str, expose, expected: str, reason) -> None:
    result = plan(text, [KIND_V4], expose=expose)
    assert result.text == expected
    assert [r["reason"] for r in result.repaired] == ([reason] if reason else [])


def test_expose_flag_on_new_lines_and_only_on_wanted_lines() -> None:
    result = plan("route 10.20.0.0/24\n", [KIND_V4], expose=True)
    assert result.text == f"route 10.20.0.0/24\nroute 172.18.0.0/16 expose{MARK}\n"
    assert conf.parse(result.text)[1].exposed


def test_flag_needs_a_single_space_as_docker_connector_reads_it() -> None:
    assert conf.parse("route 172.18.0.0/16 expose")[0].exposed
    assert not conf.parse("route 172.18.0.0/16  expose")[0].exposed
    assert not conf.parse("route 172.18.0.0/16 exposed")[0].exposed


def test_routes_lists_ipv4_in_file_order_without_repeats() -> None:
    lines = conf.parse("route 10.20.0.0/24\n" + GLUED + "\nroute fd00::/64\nroute 10.20.0.5/24\n")
    assert [str(n) for n in conf.routes(lines)] == ["10.20.0.0/24", "172.18.0.0/16"]


def test_ipv6_only_route_lines_are_left_alone() -> None:
    text = "route fd00:1::/64\n"
    assert plan(text, [KIND_V4], keep=[KIND_V4]).text == text + f"route 172.18.0.0/16{MARK}\n"


# Text built from the connector's vocabulary, so route lines (plain, glued, odd spacing) occur often.
_WORDS = st.sampled_from(["route", "addr", "expose", "#", "mtu", " ", "\t", "\r", "\n", "\r\n", "172.18.0.0/16", "fc00::/64", "10.0.0.1/8", "x", "/"])
CONF_TEXT = st.one_of(st.text(), st.lists(_WORDS, max_size=40).map("".join))


@settings(max_examples=400, deadline=None)
@given(CONF_TEXT)
def test_render_of_an_unchanged_parse_returns_the_input(text: str) -> None:
    assert conf.render(conf.parse(text)) == text


def _other_lines(text: str) -> list:
    """Non-route lines as written, up to the line ending (appending gives a last line an ending)."""
    return [(line.text + line.ending).rstrip("\r\n") for line in conf.parse(text) if not (line.ipv4 or line.needs_repair)]


@settings(max_examples=300, deadline=None)
@given(CONF_TEXT)
def test_planning_keeps_every_non_route_line_and_is_idempotent(text: str) -> None:
    first = plan(text, [BRIDGE, KIND_V4])
    assert _other_lines(first.text) == _other_lines(text)
    assert plan(first.text, [BRIDGE, KIND_V4]).text == first.text
    assert {str(n) for n in conf.routes(conf.parse(first.text))} >= {"172.17.0.0/16", "172.18.0.0/16"}


def test_routes_the_host_still_has_through_the_tunnel_but_the_file_not_are_stale() -> None:
    import ipaddress

    from ansible_collections.hostreach.kind.plugins.module_utils._host_routes import Route

    def route(cidr: str, gateway: str | None) -> Route:
        return Route(ipaddress.ip_network(cidr), gateway, "utun5")

    host = [
        route("0.0.0.0/0", "192.168.1.1"),
        route("172.18.0.0/16", "192.168.251.1"),
        route("172.19.0.0/16", "192.168.251.1"),
        route("10.0.0.0/8", "10.9.9.9"),
    ]
    lines = conf.parse("mtu 1400\nroute 172.18.0.0/16\n")
    assert conf.tunnel_gateway(lines) == "192.168.251.1"
    assert conf.stale_host_routes(host, conf.tunnel_gateway(lines), conf.routes(lines)) == ["172.19.0.0/16"]
    other = conf.parse("addr 192.168.252.1/24\nroute 172.18.0.0/16\n")
    assert conf.tunnel_gateway(other) == "192.168.252.1"
    assert conf.stale_host_routes(host, conf.tunnel_gateway(other), conf.routes(other)) == []


def test_a_clusters_route_lines_are_its_own_and_the_bridge_plan_keeps_them() -> None:
    text = "route 172.18.0.0/16\nroute 10.96.0.0/16 # hostreach.kind cluster dev\n"
    lines = conf.parse(text)
    assert [line.owner for line in lines] == [None, "dev"]
    pruned = conf.plan(lines, [KIND_V4], keep=[KIND_V4])  # docker_bridge_routes with prune: the cluster's line stays
    assert pruned.text == text and pruned.removed == []
    import ipaddress

    pods = ipaddress.ip_network("10.244.0.0/24")
    cluster = conf.plan(lines, [ipaddress.ip_network("10.96.0.0/16"), pods], owner="dev")
    assert cluster.text == text + "route 10.244.0.0/24 # hostreach.kind cluster dev\n" and cluster.added == ["10.244.0.0/24"]
    gone = conf.plan(conf.parse(cluster.text), [], unwanted=[ipaddress.ip_network("10.96.0.0/16"), pods], owner="dev")
    assert gone.text == "route 172.18.0.0/16\n"
    assert conf.plan(lines, [], unwanted=[ipaddress.ip_network("10.96.0.0/16")], owner="other").text == text  # another cluster's: untouched


# docker-connector appends any datagram beginning with 0x01 to the file (issue 18 item 13): what widens its exposure.
LONG_COMMENT = "# " + "x" * 4094  # 4096 bytes: docker-connector's reader hands out what follows as a line of its own


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("host 0.0.0.0", "`host 0.0.0.0` makes docker-connector listen beyond 127.0.0.1"),
        ("  host\t192.168.1.5", "`host 192.168.1.5` makes docker-connector listen beyond 127.0.0.1"),
        ("host my-mac.local", "`host my-mac.local` makes docker-connector listen beyond 127.0.0.1"),
        ("host 127.0.0.1 x", "`host 127.0.0.1 x` makes docker-connector listen beyond 127.0.0.1"),
        ("expose 0.0.0.0:2512", "`expose` opens a listener that lets docker-accessor clients into the tunnel"),
        ("expose 127.0.0.1:2512 restart", "`expose` opens a listener that lets docker-accessor clients into the tunnel"),
        ("token mac 192.168.251.4", "`token` gives a docker-accessor client a way into the tunnel"),
        (LONG_COMMENT + "expose 0.0.0.0:2512", "`expose` opens a listener that lets docker-accessor clients into the tunnel"),
        ("host 127.0.0.1", ""),
        ("host 127.0.0.2", ""),
        ("host localhost", ""),
        ("host ::1", ""),
        ("# expose 0.0.0.0:2512", ""),
        ("#token mac 1.2.3.4", ""),
        ("route 172.18.0.0/16 expose", ""),
        ("hosts /etc/hosts local", ""),
        ("exposed 0.0.0.0:1", ""),
        ("tokens a b", ""),
        (LONG_COMMENT[:-1] + "expose 0.0.0.0:2512", ""),  # one byte short: a single line, a comment
    ],
)
def test_exposure_reads_each_line_as_docker_connector_does(line: str, reason: str) -> None:
    assert conf.exposure(conf.parse(line + "\n")[0]) == reason


def test_refusing_exposure_removes_those_lines_and_reports_them_masked() -> None:
    text = DIRECTIVES + "host 0.0.0.0\n" + f"route 172.18.0.0/16{MARK}\n"
    result = plan(text, [KIND_V4], refuse_exposure=True)
    assert result.refused == (
        {"line": 8, "text": "token ********", "reason": "`token` gives a docker-accessor client a way into the tunnel"},
        {"line": 11, "text": "expose 0.0.0.0:2512", "reason": "`expose` opens a listener that lets docker-accessor clients into the tunnel"},
        {"line": 12, "text": "host 0.0.0.0", "reason": "`host 0.0.0.0` makes docker-connector listen beyond 127.0.0.1"},
    )
    kept = "".join(line + "\n" for line in DIRECTIVES.splitlines() if not line.startswith(("token", "expose")))
    assert result.text == kept + f"route 172.18.0.0/16{MARK}\n" and result.added == []
    assert plan(text, [KIND_V4]).text == text  # without the refusal (absent, or allow_tunnel_exposure) every line stays


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("token mac 192.168.251.4\n", "token ********\n"),
        ("addr 192.168.251.1/24\r\n  token\tsecret 192.168.251.4\r\nport 2511", "addr 192.168.251.1/24\r\ntoken ********\r\nport 2511"),
        ("# token mac 192.168.251.4\nroute 172.18.0.0/16\n", "# token mac 192.168.251.4\nroute 172.18.0.0/16\n"),
        (LONG_COMMENT + "token mac 1.2.3.4\n", LONG_COMMENT + "token ********\n"),
    ],
)
def test_masked_hides_token_values_only(text: str, shown: str) -> None:
    assert conf.masked(text) == shown
