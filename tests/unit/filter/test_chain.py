"""The chain, declared once (issue 19): which links a run sets up or checks, in which order, and the findings' shape."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.hostreach.kind.plugins.filter.chain import chain_links, chain_roles, finding
from hypothesis import given
from hypothesis import strategies as st

ALL_STEPS = ["connector", "container", "services"]


def runs(chain: list) -> list:
    return [(link["role"], link["check"]) for link in chain if link["runs"]]


def test_a_full_connector_run_with_routes_and_names_walks_every_link_in_order() -> None:
    chain = chain_links("connector", ALL_STEPS, "both", True)
    assert runs(chain) == [
        ("_common", "check.yml"),
        ("docker_connector", "check.yml"),
        ("connector_container", "check.yml"),
        ("_common", "check_nodes.yml"),
        ("cluster_routes", "check.yml"),
        ("cluster_dns", "check.yml"),
        ("nodeport_services", "check.yml"),
        ("watch", "check.yml"),
        ("pull", "check.yml"),
    ]
    assert chain_roles(chain) == ["docker_connector", "connector_container", "cluster_routes", "cluster_dns", "nodeport_services"]
    assert chain_roles(chain, reverse=True) == ["nodeport_services", "cluster_dns", "cluster_routes", "connector_container", "docker_connector"]


def test_direct_mode_with_nodeports_sets_up_only_the_services() -> None:
    chain = chain_links("direct", ALL_STEPS, "nodeport", True)
    assert chain_roles(chain) == ["nodeport_services"]
    assert not any(link["left_out"] for link in chain)


def test_names_need_routes_and_dns() -> None:
    assert "cluster_dns" not in chain_roles(chain_links("direct", ["services"], "routes", False))
    assert "cluster_dns" not in chain_roles(chain_links("direct", ["services"], "nodeport", True))
    assert chain_roles(chain_links("direct", ["services"], "routes", "true")) == ["cluster_routes", "cluster_dns", "nodeport_services"]


def test_a_connector_step_left_out_is_an_na_finding_that_names_the_steps() -> None:
    chain = {link["role"]: link for link in chain_links("connector", ["container", "services"], "nodeport", False)}
    assert not chain["docker_connector"]["runs"]
    assert chain["docker_connector"]["left_out"] == {
        "link": "Host side",
        "status": "n/a",
        "detail": "the connector step is not among hostreach_kind_steps (container, services): Homebrew, the LaunchDaemon, "
        "the config's routes and the host's routes are not looked at",
        "fix": "",
    }
    assert chain["connector_container"]["left_out"] == {}


MODES = st.sampled_from(["connector", "direct"])
REACHES = st.sampled_from(["nodeport", "routes", "both"])


@given(MODES, st.lists(st.sampled_from(ALL_STEPS), unique=True), REACHES, st.booleans())
def test_the_roles_run_are_in_chain_order_and_teardown_is_its_reverse(mode: str, steps: list, reach: str, dns: bool) -> None:
    chain = chain_links(mode, steps, reach, dns)
    order = ["docker_connector", "connector_container", "cluster_routes", "cluster_dns", "nodeport_services"]
    roles = chain_roles(chain)
    assert roles == [role for role in order if role in roles]
    assert chain_roles(chain, reverse=True) == roles[::-1]
    assert ("nodeport_services" in roles) == ("services" in steps)
    assert ("docker_connector" in roles) == (mode == "connector" and "connector" in steps)


@pytest.mark.parametrize("value", [True, "true", "yes", "y", "t", "on", "1", 1])
def test_dns_takes_every_spelling_ansible_takes_for_true(value: object) -> None:
    assert "cluster_dns" in chain_roles(chain_links("direct", ["services"], "routes", value))


def test_dns_that_is_no_boolean_is_refused_naming_it() -> None:
    with pytest.raises(AnsibleFilterError, match="'maybe'"):
        chain_links("direct", ["services"], "routes", "maybe")


def test_a_run_not_resolved_is_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="auto"):
        chain_links("auto", ALL_STEPS, "nodeport", False)


def test_a_finding_collapses_whitespace_and_refuses_another_status() -> None:
    assert finding("VM firewall", "broken", "  nft:\n  it drops ", "rerun\n expose") == {
        "link": "VM firewall",
        "status": "broken",
        "detail": "nft: it drops",
        "fix": "rerun expose",
    }
    with pytest.raises(AnsibleFilterError, match="'bad'"):
        finding("x", "bad", "")
