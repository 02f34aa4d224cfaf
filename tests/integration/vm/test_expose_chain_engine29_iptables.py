"""The whole chain on Docker Engine 29 with its iptables backend (what Docker Desktop ships), with the collection's real
playbooks run from the Mac namespace against a real kind cluster inside the VM's engine (expose_chain.py says how
the model stands in for macOS: the `connector` step is not run, the harness adds its routes, the veth is its tunnel).

The tests are one story and run in file order on one VM and one cluster: --check first (on the fresh VM), then
before / expose / rerun, the doctor on the healthy chain and on three broken ones (each repaired before the next),
an engine restart, the watch agent putting lost rules back after another (issue 20), and teardown last.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.kind import DEMO_HTTPD_INDEX
from harness.vm import VMSpec, Web

from .expose_chain import (
    CONNECTOR,
    CONTAINER_TASK,
    FIREWALL_TASK,
    NODEPORT_TASK,
    Chain,
    assert_nothing_answers_the_mac,
    doctor_blames_the_firewall,
    expose_and_check,
    firewall_ruleset,
    node_url,
    remove_tunnel_rules_by_hand,
    rerun_changes_nothing,
    restart_engine_and_wait,
    service_is_as_before,
    teardown_and_check,
    tunnel_rules,
    wait_answers,
    watch_restores_after_engine_restart,
)
from .vm_helpers import assert_answers, assert_dropped, wait_running

pytestmark = pytest.mark.vm

RULES = ["filter DOCKER-USER", "raw PREROUTING"]  # the forward filter, and Engine 28+'s direct-routing drop


@pytest.fixture(scope="module")
def vm_spec() -> VMSpec:
    return VMSpec("29", "iptables")


def test_check_mode_on_a_fresh_vm_writes_nothing(chain: Chain) -> None:
    before = firewall_ruleset(chain.vm)
    run = chain.run("expose", check=True, diff=True)
    assert run.rc == 0, run.output
    # It says what it would do ...
    assert CONTAINER_TASK in run.changed_tasks and FIREWALL_TASK.format(state="present") in run.changed_tasks, run.changed_tasks
    assert NODEPORT_TASK.format(state="present") in run.changed_tasks, run.changed_tasks
    assert "ACCEPT from" in run.stdout  # the firewall task's diff
    # ... and does none of it.
    assert firewall_ruleset(chain.vm) == before and tunnel_rules(chain.vm) == []
    assert chain.connector() is None
    service_is_as_before(chain)
    assert not chain.summary_file.exists()


def test_before_expose_the_mac_reaches_no_unpublished_port(chain: Chain, web: Web) -> None:
    assert_nothing_answers_the_mac(chain, web)
    # Engine 28+ drops direct routing even to a published port's container: kind's apiserver (127.0.0.1 of the VM).
    assert_dropped(chain.vm, node_url(chain, 6443))


def test_expose_lets_the_mac_reach_the_demo_service(chain: Chain, web: Web) -> None:
    expose_and_check(chain, web, RULES)


def test_a_rerun_changes_nothing(chain: Chain) -> None:
    rerun_changes_nothing(chain)


def test_the_doctor_finds_every_link_ok(chain: Chain) -> None:
    run = chain.run("doctor")
    run.print_table("healthy chain")
    assert run.rc == 0, run.output
    assert {f.status for f in run.findings} <= {"ok", "n/a"}, run.table
    links = [f.link for f in run.findings]
    assert links[:6] == ["Docker engine", "Mode", "Host side", "Connector container", "VM firewall", f"kind node {chain.cluster.control_plane}"]
    assert links[6] == f"URL {chain.demo_row()['url']}"
    # The macOS links are not walked: the connector step is not among the steps.
    assert run.finding("Host side").status == "n/a" and "connector step is not among hostreach_kind_steps" in run.finding("Host side").detail
    assert "Docker 29." in run.finding("Docker engine").detail
    assert run.finding("VM firewall").detail == "iptables-nft: iptables-nft filter DOCKER-USER, iptables-nft raw PREROUTING let 192.168.251.2 in"
    assert run.finding("URL").detail == "reachable (HTTP 200)"


def test_the_doctor_names_the_firewall_when_its_rules_are_removed_by_hand(chain: Chain) -> None:
    remove_tunnel_rules_by_hand(chain.vm)
    url = chain.demo_row()["url"]
    missing = "iptables-nft filter DOCKER-USER, iptables-nft raw PREROUTING"
    run = doctor_blames_the_firewall(chain, url, "the firewall rules removed by hand inside the VM", missing)
    assert run.finding("kind node").status == "broken" and "does not answer" in run.finding("kind node").detail
    assert run.finding("URL").status == "broken" and run.finding("URL").detail.startswith("timed out"), run.table
    # The URL's fix is the connector mode's: the tunnel's side, not this host's firewall.
    assert any("fix: no answer from the address: docker-connector's route or the Docker VM's firewall drops" in line for line in run.table), run.table
    # What the doctor says to do puts it right: expose.yml adds the rules again, and only that changes.
    repair = chain.run("expose")
    assert repair.rc == 0, repair.output
    assert repair.changed_tasks == [FIREWALL_TASK.format(state="present")], repair.changed_tasks
    assert tunnel_rules(chain.vm) == RULES
    assert_answers(chain.vm, url, DEMO_HTTPD_INDEX)


def test_the_doctor_names_the_connector_container_when_it_is_stopped(chain: Chain) -> None:
    chain.vm.docker("stop", "--time", "1", CONNECTOR)
    run = chain.run("doctor")
    run.print_table("the connector container stopped")
    assert run.rc != 0, run.output
    assert run.first_broken is not None and run.first_broken.link == "Connector container", run.table
    assert run.first_broken.detail == "exists but is not running"
    # The veth pair stands for the tunnel the real container carries, so here the links after it still answer.
    assert [f.link for f in run.findings if f.status == "broken"] == ["Connector container"], run.table
    repair = chain.run("expose")
    assert repair.rc == 0, repair.output
    assert repair.changed_tasks == [CONTAINER_TASK], repair.changed_tasks
    wait_running(chain.vm, CONNECTOR)


def test_the_doctor_names_the_kind_node_when_the_mac_has_no_route_to_it(chain: Chain) -> None:
    chain.vm.in_mac("ip", "route", "del", chain.cluster.subnet)
    try:
        run = chain.run("doctor")
        run.print_table("the Mac's route to the kind network removed")
        assert run.rc != 0, run.output
        assert run.first_broken is not None and run.first_broken.link == f"kind node {chain.cluster.control_plane}", run.table
        assert "does not answer" in run.first_broken.detail
        url = run.finding("URL")
        assert url.status == "broken" and url.detail.startswith("no route to host"), run.table
        assert [f.link for f in run.findings if f.status == "broken"] == [run.first_broken.link, url.link], run.table
    finally:
        chain.vm.route_from_mac(chain.cluster.subnet)
    assert_answers(chain.vm, chain.demo_row()["url"], DEMO_HTTPD_INDEX)


def test_the_rules_survive_an_engine_restart_on_the_iptables_backend(chain: Chain) -> None:
    restart_engine_and_wait(chain)
    # dockerd appends its own raw rules after ours and leaves DOCKER-USER alone (measured in test_engine29_iptables).
    assert tunnel_rules(chain.vm) == RULES
    wait_answers(chain.vm, chain.demo_row()["url"])
    rerun = chain.run("expose")
    assert rerun.rc == 0, rerun.output
    assert rerun.recap["changed"] == 0, rerun.changed_tasks


def test_the_watch_agent_puts_lost_rules_back_after_an_engine_restart_with_no_command(chain: Chain, tmp_path: Path) -> None:
    """On this backend the rules survive a restart: they are removed by hand first, as a VM reset would lose them."""
    assert watch_restores_after_engine_restart(chain, tmp_path, RULES, before_restart=lambda c: remove_tunnel_rules_by_hand(c.vm)) < 90


def test_teardown_closes_the_vm_again_and_restores_the_service(chain: Chain, web: Web) -> None:
    teardown_and_check(chain, web)
