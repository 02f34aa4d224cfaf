"""The chain on Docker Engine 29 with its nftables backend: expose.yml's rules go into the engine's own nft table, a
restart of the engine rebuilds that table and loses them (the doctor says so), and a rerun of expose.yml puts them
back (the firewall task alone changes) so the Mac's traffic answers again; with the watch agent (`make watch`) running,
the next restart needs no command at all (issue 20); teardown removes them.

The playbook runs as in test_expose_chain_engine29_iptables.py (expose_chain.py says how the model stands in for
macOS); the tests are one story and run in file order on one VM and one kind cluster.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.vm import VMSpec, Web

from .expose_chain import (
    FIREWALL_TASK,
    Chain,
    assert_nothing_answers_the_mac,
    doctor_blames_the_firewall,
    expose_and_check,
    restart_engine_and_wait,
    teardown_and_check,
    tunnel_rules,
    wait_answers,
    watch_restores_after_engine_restart,
)

pytestmark = pytest.mark.vm

# Engine 29's own table: the direct-routing drop sits in raw-PREROUTING, the forward filter in filter-FORWARD.
RULES = ["ip docker-bridges filter-FORWARD", "ip docker-bridges raw-PREROUTING"]


@pytest.fixture(scope="module")
def vm_spec() -> VMSpec:
    return VMSpec("29", "nftables")


def test_expose_puts_the_rules_into_the_engines_nft_table(chain: Chain, web: Web) -> None:
    assert_nothing_answers_the_mac(chain, web)
    expose_and_check(chain, web, RULES)


def test_an_engine_restart_loses_the_rules_and_a_rerun_restores_them(chain: Chain) -> None:
    url = chain.demo_row()["url"]
    restart_engine_and_wait(chain)
    assert tunnel_rules(chain.vm) == []  # dockerd rebuilt its table: ours went with it
    missing = "nftables ip docker-bridges raw-PREROUTING, nftables ip docker-bridges filter-FORWARD"
    doctor_blames_the_firewall(chain, url, "the VM's engine restarted (nftables backend)", missing)
    rerun = chain.run("expose")
    assert rerun.rc == 0, rerun.output
    assert rerun.changed_tasks == [FIREWALL_TASK.format(state="present")], rerun.changed_tasks
    assert rerun.recap["changed"] == 1
    assert tunnel_rules(chain.vm) == RULES
    wait_answers(chain.vm, url)


def test_the_watch_agent_puts_the_rules_back_after_an_engine_restart_with_no_command(chain: Chain, tmp_path: Path) -> None:
    assert watch_restores_after_engine_restart(chain, tmp_path, RULES) < 90


def test_teardown_closes_the_vm_again_and_restores_the_service(chain: Chain, web: Web) -> None:
    teardown_and_check(chain, web)
