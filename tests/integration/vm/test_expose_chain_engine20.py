"""The chain on Debian's Docker 20.10 engine in the VM: the FORWARD policy DROP alone stands between the tunnel and the
bridge networks (no direct-routing drop before Engine 28), so expose.yml adds one rule, in DOCKER-USER, and teardown
removes it. kind runs on this engine too (harness/kind.sh swaps `--privileged` through its docker wrapper, as on the
host), so the demo Service is a real pod-backed NodePort here as well.

The playbook runs as in test_expose_chain_engine29_iptables.py (expose_chain.py says how the model stands in for
macOS); the tests are one story and run in file order on one VM and one kind cluster.
"""

from __future__ import annotations

import pytest

from harness.vm import VMSpec, Web

from .expose_chain import Chain, assert_nothing_answers_the_mac, expose_and_check, node_url, rerun_changes_nothing, teardown_and_check

pytestmark = pytest.mark.vm


@pytest.fixture(scope="module")
def vm_spec() -> VMSpec:
    return VMSpec("20.10", "iptables")


def test_before_expose_the_forward_policy_drops_the_mac(chain: Chain, web: Web) -> None:
    assert ":FORWARD DROP" in chain.vm.iptables_save("filter")
    assert_nothing_answers_the_mac(chain, web)
    # 20.10 forwards a published port's traffic from any interface: kind's apiserver answers without our rule (so on
    # this engine the kind node link, a TCP connect to 6443, cannot tell whether the firewall lets the tunnel in).
    probe = chain.vm.http_from_mac(node_url(chain, 6443), timeout=5)
    assert probe.status == 400, probe  # an HTTP request to the TLS port: the apiserver's own refusal, not a drop


def test_expose_adds_one_docker_user_rule_and_the_demo_service_answers(chain: Chain, web: Web) -> None:
    expose_and_check(chain, web, ["filter DOCKER-USER"])
    rerun_changes_nothing(chain)


def test_teardown_closes_the_vm_again_and_restores_the_service(chain: Chain, web: Web) -> None:
    teardown_and_check(chain, web)
