"""The probe's diagnosis vocabulary: fixed, documented where users read it, each with a hint."""

from __future__ import annotations

import importlib
import re

import pytest
import yaml
from ansible_collections.hostreach.kind.plugins.module_utils import _diagnosis


@pytest.mark.parametrize("name", ["kind_nodeport", "kind_service_urls"])
def test_the_vocabulary_is_the_one_the_module_documents(name: str) -> None:
    module = importlib.import_module(f"ansible_collections.hostreach.kind.plugins.modules.{name}")

    sentence = next(line for line in yaml.safe_load(module.RETURN)["probes"]["description"] if line.startswith("C(diagnosis) is one of"))
    assert re.findall(r"V\(([^)]*)\)", sentence) == list(_diagnosis.VOCABULARY)


def test_every_failure_has_a_hint_on_a_mac_and_elsewhere() -> None:
    failures = [d for d in _diagnosis.VOCABULARY if d not in (_diagnosis.REACHABLE, _diagnosis.NO_READY_ENDPOINTS, _diagnosis.NOT_PROBED)]
    for tunnel in (True, False):
        for via in ("node port", "load balancer"):
            assert all(_diagnosis.network_hint(d, via, tunnel) for d in failures)
    assert _diagnosis.network_hint(_diagnosis.REACHABLE, "node port", True) == ""


def test_hints_point_where_the_trouble_is() -> None:
    assert "Docker VM's firewall" in _diagnosis.network_hint(_diagnosis.TIMED_OUT, "node port", tunnel=True)
    assert "kube-proxy" in _diagnosis.network_hint(_diagnosis.REFUSED, "node port", tunnel=False)
    assert "load balancer" in _diagnosis.network_hint(_diagnosis.REFUSED, "load balancer", tunnel=False)
    assert "no pod matches the selector app=web" in _diagnosis.no_endpoints_hint("shop", "app=web", 0)
    assert "2 endpoint(s) not ready" in _diagnosis.no_endpoints_hint("shop", "app=web", 2)
    assert "no selector" in _diagnosis.no_endpoints_hint("shop", None, 0)


def test_not_routed_says_which_route_is_missing_for_a_load_balancer_and_for_a_cluster_ip() -> None:
    load_balancer = _diagnosis.network_hint(_diagnosis.NOT_ROUTED, "load balancer", tunnel=False)
    assert "no kind node's" in load_balancer and "kind network" in load_balancer and "status.loadBalancer.ingress" in load_balancer
    assert "hostreach_kind_reach: routes" in _diagnosis.network_hint(_diagnosis.NOT_ROUTED, "cluster IP", tunnel=False)
