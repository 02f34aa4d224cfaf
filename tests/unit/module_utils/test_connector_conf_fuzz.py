"""Fuzzing the docker-connector config parser and planner with hypothesis, on a bounded budget (make test):
any bytes round-trip, planning keeps every other line and is idempotent, and planning is linear in the
number of route lines.

Linearity is asserted on work, not time: the number of function calls (Python and C, counted by
sys.setprofile) made while planning 10x as many route lines may be at most about 10x as many. A
quadratic planner (list membership over IPv4Network, which calls its __eq__ once per element) makes
about 100x as many; the figure does not depend on how busy the machine is.
"""

from __future__ import annotations

import ipaddress
import sys

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
    st.sampled_from(["", " expose", "  expose", " x"]),
)
_OTHER = st.sampled_from(["addr 192.168.251.1/24", "port 2511", "mtu 1400", "# comment", "", "expose 0.0.0.0:2512", "routex 1.2.3.0/24", "ROUTE 10.0.0.0/8"])
_LINES = st.lists(st.one_of(_ROUTE, _OTHER, st.text(max_size=12)), max_size=30)
CONFIGS = st.one_of(
    st.binary(max_size=400).map(lambda b: b.decode(ENCODING, ERRORS)),
    st.tuples(_LINES, st.sampled_from(["\n", "\r\n"]), st.booleans()).map(lambda t: t[1].join(t[0]) + (t[1] if t[2] else "")),
)


def _other_lines(text: str) -> list:
    return [(line.text + line.ending).rstrip("\r\n") for line in conf.parse(text) if not (line.ipv4 or line.needs_repair)]


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
    assert not set(wanted) & set(conf.routes(conf.parse(unwanted.text)))
    assert _other_lines(unwanted.text) == _other_lines(text)


def _calls_to_plan(route_lines: int) -> int:
    text = "addr 192.168.251.1/24\n" + "".join(f"route 10.{i >> 8 & 255}.{i & 255}.0/24\n" for i in range(route_lines))
    lines = conf.parse(text)
    calls = 0

    def count(_frame, event, _arg) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        planned = conf.plan(lines, WANTED, keep=WANTED + [n for line in lines for n in line.ipv4])
        conf.routes(conf.parse(planned.text))
    finally:
        sys.setprofile(None)
    return calls


def test_planning_is_linear_in_the_number_of_route_lines() -> None:
    small, large = _calls_to_plan(500), _calls_to_plan(5000)
    assert large / small < 12, f"{small} calls for 500 route lines, {large} for 5000"
