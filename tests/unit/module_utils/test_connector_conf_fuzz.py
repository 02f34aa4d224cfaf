"""Fuzzing the docker-connector config parser and planner with hypothesis, on a bounded budget (make test):
any bytes round-trip, planning keeps every other line and is idempotent, refusing exposure removes exactly the lines
that widen it, masking hides every token, the glued-subnet split gives what the old recursive one gave, and planning
and splitting glued subnets are linear in the number of route lines and of glued subnets.

Linearity is asserted on work, not time: the number of function calls (Python and C, counted by
sys.setprofile) made while planning 10x as many route lines may be at most about 10x as many. A
quadratic planner (list membership over IPv4Network, which calls its __eq__ once per element) makes
about 100x as many; the figure does not depend on how busy the machine is.
"""

from __future__ import annotations

import inspect
import ipaddress
import sys

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _connector_conf as conf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ENCODING, ERRORS = "utf-8", "surrogateescape"
WANTED = [ipaddress.ip_network("172.17.0.0/16"), ipaddress.ip_network("172.18.0.0/16")]

# Lines from the connector's vocabulary, often well formed, sometimes glued, broken or foreign.
_SUBNETS = st.sampled_from(["172.18.0.0/16", "172.18.0.1/16", "fc00:f853:ccd:e793::/64", "10.0.0.0/8", "0.0.0.0/0", "999.1.1.1/8", "10.1.0.0/33"])
_ROUTE = st.builds(
    lambda sp, nets, tail: f"route{sp}{''.join(nets)}{tail}",
    st.sampled_from([" ", "  ", "\t"]),
    st.lists(_SUBNETS, min_size=1, max_size=3),
    st.sampled_from(["", " expose", "  expose", " x", " # hostreach.kind bridge", " expose # hostreach.kind bridge"]),
)
_OTHER = st.sampled_from(
    [
        *["addr 192.168.251.1/24", "port 2511", "mtu 1400", "# comment", "", "expose 0.0.0.0:2512", "routex 1.2.3.0/24", "ROUTE 10.0.0.0/8"],
        *["token mac 192.168.251.4", " token\tsecret-2 192.168.251.5", "host 0.0.0.0", "host 127.0.0.1", "hosts /etc/hosts local"],
    ]
)
_LINES = st.lists(st.one_of(_ROUTE, _OTHER, st.text(max_size=12)), max_size=30)
CONFIGS = st.one_of(
    st.binary(max_size=400).map(lambda b: b.decode(ENCODING, ERRORS)),
    st.tuples(_LINES, st.sampled_from(["\n", "\r\n"]), st.booleans()).map(lambda t: t[1].join(t[0]) + (t[1] if t[2] else "")),
)


def _other_lines(text: str) -> list:
    return [(line.text + line.ending).rstrip("\r\n") for line in conf.parse(text) if not (line.ipv4 or line.needs_repair)]


def _users(text: str) -> list:
    """The user's route lines: docker_bridge_routes' that carry no mark."""
    return [line for line in conf.parse(text) if not line.bridge and line.owner is None]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONFIGS)
def test_any_bytes_round_trip(text: str) -> None:
    assert conf.render(conf.parse(text)) == text
    assert conf.render(conf.parse(text)).encode(ENCODING, ERRORS) == text.encode(ENCODING, ERRORS)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONFIGS, st.lists(st.sampled_from([*WANTED, ipaddress.ip_network("10.0.0.0/8")]), unique=True), st.sampled_from([None, True, False]))
def test_planning_keeps_every_other_line_reaches_the_wanted_state_and_is_idempotent(text: str, wanted: list, expose) -> None:
    first = conf.plan(conf.parse(text), wanted, expose=expose)
    assert _other_lines(first.text) == _other_lines(text)
    assert set(wanted) <= set(conf.routes(conf.parse(first.text)))
    assert conf.plan(conf.parse(first.text), wanted, expose=expose).text == first.text
    unwanted = conf.plan(conf.parse(first.text), [], unwanted=wanted)
    # absent removes every line this module added (marked) and none of the user's (issue 18 item 11: before, it removed
    # every route line of an unwanted subnet; this said `not set(wanted) & set(conf.routes(...))`)
    assert not set(wanted) & set(conf.routes([line for line in conf.parse(unwanted.text) if line.bridge]))
    assert set(conf.routes(_users(unwanted.text))) == set(conf.routes(_users(first.text))) == set(conf.routes(_users(text)))
    assert _other_lines(unwanted.text) == _other_lines(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONFIGS)
def test_refusing_exposure_removes_exactly_the_lines_that_widen_it(text: str) -> None:
    lines = conf.parse(text)
    planned = conf.plan(lines, WANTED, refuse_exposure=True)
    assert [r["line"] for r in planned.refused] == [n for n, line in enumerate(lines, start=1) if conf.exposure(line)]
    assert not any(conf.exposure(line) for line in conf.parse(planned.text))
    assert _other_lines(planned.text) == [x for x, line in zip(_other_lines(text), _others(lines), strict=True) if not conf.exposure(line)]
    assert conf.plan(conf.parse(planned.text), WANTED, refuse_exposure=True).text == planned.text


def _others(lines: list) -> list:
    return [line for line in lines if not (line.ipv4 or line.needs_repair)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONFIGS, st.text(alphabet="abcdefXYZ-_0123456789", min_size=3, max_size=12))
def test_masking_hides_every_token_and_keeps_every_other_line(text: str, secret: str) -> None:
    text = text + f"\ntoken {secret} 192.168.251.9\n"
    before, after = conf.parse(text), conf.parse(conf.masked(text))
    assert len(after) == len(before) and secret not in after[-1].text
    for old, new in zip(before, after, strict=True):
        if any(word == "token" for _start, word, _value in conf._directives(old)):
            assert new.text.endswith(f"token {conf.SECRET}")
        else:
            assert new == old
        assert all(value == conf.SECRET for _start, word, value in conf._directives(new) if word == "token")


def _reference_split(spec: str) -> tuple:
    """The recursive, backtracking split before issue 18 (exponential, RecursionError on thousands of subnets): the
    oracle on short values."""
    import re

    whole = conf.parse_network(spec)
    if whole is not None or not spec:
        return (whole,) if whole is not None else ()
    head = re.match(r"\d{1,3}(?:\.\d{1,3}){3}/", spec) or re.match(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/", spec)
    if head is None:
        return ()
    for strict in (True, False):
        for end in range(head.end() + 3, head.end(), -1):
            first = conf.parse_network(spec[:end], strict) if spec[head.end() : end].isdigit() else None
            rest = _reference_split(spec[end:]) if first is not None else ()
            if rest:
                return (first, *rest)
    return ()


_PIECES = ["10.0.0.0/", "1.1.1.1/", "172.18.0.1/", "fc00::/", "fd00:1::/", "::/", "0.0.0.0/", "8", "16", "21", "2", "33", "128", "x", "/", ":", ".", "11"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=7).map("".join))
def test_the_linear_split_gives_what_the_recursive_one_gave(spec: str) -> None:
    assert conf.split_glued(spec) == _reference_split(spec)


class _OverBudget(Exception):
    pass


def _calls(function, *args, budget: int = 10**7) -> int:
    """Function calls (Python and C) `function(*args)` makes; _OverBudget past `budget` (an exponential one stops)."""
    calls = 0

    def count(_frame, event, _arg) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1
            if calls > budget:
                raise _OverBudget(f"over {budget} calls")

    sys.setprofile(count)
    try:
        function(*args)
    finally:
        sys.setprofile(None)
    return calls


def _plan_and_list(lines: list) -> None:
    planned = conf.plan(lines, WANTED, keep=WANTED + [n for line in lines for n in line.ipv4])
    conf.routes(conf.parse(planned.text))


def _calls_to_plan(route_lines: int) -> int:
    text = "addr 192.168.251.1/24\n" + "".join(f"route 10.{i >> 8 & 255}.{i & 255}.0/24\n" for i in range(route_lines))
    return _calls(_plan_and_list, conf.parse(text))


def glued(subnets: int) -> str:
    """`subnets` dual-stack networks' subnets glued as the manual recipe's one-liner glues them (docs/chain.md), ambiguous digits and all."""
    return "".join(f"10.{i >> 8 & 255}.{i & 255}.0/24fd00:{i:x}::/64" for i in range(subnets))


def adversarial(segments: int) -> str:
    """A glued value with two readings at every `/` and none in the end: the old split tried all 2**segments."""
    return "1.1.1.1/" + "111.1.1.1/" * segments + "1x"


def test_planning_is_linear_in_the_number_of_route_lines() -> None:
    small, large = _calls_to_plan(500), _calls_to_plan(5000)
    assert large / small < 12, f"{small} calls for 500 route lines, {large} for 5000"


@pytest.mark.parametrize("value", [glued, adversarial], ids=["glued", "adversarial"])
def test_splitting_glued_subnets_is_linear_in_their_number(value) -> None:
    small = _calls(conf.parse, f"route {value(50)}\n")
    large = _calls(conf.parse, f"route {value(500)}\n", budget=20 * small)
    assert large / small < 12, f"{small} calls for 50 glued subnets, {large} for 500"


def test_a_200_character_adversarial_line_is_parsed_in_bounded_work() -> None:
    """Issue 18 item 14: this line took minutes (about 2**19 tries) while holding the config's lock."""
    value = adversarial(19)
    assert len(value) == 200
    text = f"route {value}\n"
    assert _calls(conf.parse, text, budget=50_000) < 50_000
    assert conf.parse(text)[0].networks == ()
    assert conf.plan(conf.parse(text), WANTED).text == text + "".join(f"route {n} {conf.BRIDGE_MARK}\n" for n in WANTED)


def test_5000_glued_subnets_split_without_recursion() -> None:
    """Issue 18 item 14: a few thousand glued subnets raised RecursionError. Here the stack may grow by 60 frames only."""
    spec = glued(5000)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 60)
    try:
        networks = conf.split_glued(spec)
    finally:
        sys.setrecursionlimit(limit)
    assert len(networks) == 10000 and _calls(conf.split_glued, spec) < 500 * 10000
    assert [str(n) for n in networks[:2]] == ["10.0.0.0/24", "fd00::/64"] and str(networks[-1]) == "fd00:1387::/64"
    assert [str(n) for n in conf.parse(f"route {spec}")[0].ipv4][-1] == "10.19.135.0/24"
