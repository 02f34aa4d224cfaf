"""Fixed nodePorts (pure): per-port wishes, the cluster's range, and nodePorts other Services hold."""

from __future__ import annotations

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _node_ports
from ansible_collections.hostreach.kind.plugins.module_utils._errors import PlanError

from tests.service_samples import service


def test_a_name_wins_over_a_number_and_an_unknown_key_lists_the_ports() -> None:
    svc = service(ports=[{"name": "8080", "port": 80, "protocol": "TCP"}, {"name": "alt", "port": 8080, "protocol": "TCP"}])
    assert _node_ports.resolve_node_ports(svc, {"8080": 30001}) == {0: 30001}
    with pytest.raises(PlanError, match=r"default/web has no port named or numbered grpc; its ports are: 8080 \(80/TCP\), alt \(8080/TCP\)"):
        _node_ports.resolve_node_ports(svc, {"grpc": 30002})


def test_two_keys_for_one_port_with_different_node_ports_are_refused() -> None:
    svc = service(ports=[{"name": "http", "port": 80, "protocol": "TCP"}])
    assert _node_ports.resolve_node_ports(svc, {"http": 30080, "80": 30080}) == {0: 30080}
    with pytest.raises(PlanError, match=r"node_ports\[http\] = 30080 and node_ports\[80\] = 30081 both name port http \(80/TCP\)"):
        _node_ports.resolve_node_ports(svc, {"http": 30080, "80": 30081})


def test_taken_and_doubly_wanted_node_ports_are_errors_naming_both_services() -> None:
    others = [service("db", "data", type="NodePort", ports=[{"name": "pg", "port": 5432, "protocol": "TCP", "nodePort": 30432}])]
    mine = service("web", "default", type="NodePort", ports=[{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}])
    taken = _node_ports.taken_node_ports([*others, mine])

    errors = _node_ports.node_port_conflicts({"default/web": {0: 30080}, "default/api": {0: 30432, 1: 30081}, "shop/cart": {0: 30081}}, taken)

    assert errors == [
        "nodePort 30432 wanted for default/api is already taken by Service data/db",
        "nodePort 30081 is wanted for both default/api and shop/cart",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30000-32767", (30000, 32767)), ("30000+767", (30000, 30767)), ("31000", (31000, 31000)), ("32767-30000", None), ("x-y", None), ("0-10", None)],
)
def test_parse_port_range_in_the_forms_kube_apiserver_accepts(text: str, expected) -> None:
    assert _node_ports.parse_port_range(text) == expected


@pytest.mark.parametrize(
    ("configuration", "expected"),
    [
        (None, ((30000, 32767), "the Kubernetes default; there is no readable kube-system/kubeadm-config to say otherwise")),
        ({"apiServer": {}}, ((30000, 32767), "the Kubernetes default; kube-system/kubeadm-config sets no --service-node-port-range")),
        ({"apiServer": {"extraArgs": {"service-node-port-range": "20000-20999"}}}, ((20000, 20999), "--service-node-port-range in kube-system/kubeadm-config")),
        (
            {"apiServer": {"extraArgs": [{"name": "v", "value": "2"}, {"name": "service-node-port-range", "value": "20000+999"}]}},
            ((20000, 20999), "--service-node-port-range in kube-system/kubeadm-config"),
        ),
    ],
)
def test_node_port_range_from_kubeadm_v1beta3_and_v1beta4_or_the_default(configuration, expected) -> None:
    assert _node_ports.node_port_range_of(configuration) == expected


def test_only_node_ports_not_in_place_yet_are_range_checked() -> None:
    svc = service(type="NodePort", ports=[{"name": "a", "port": 1, "nodePort": 30001}, {"name": "b", "port": 2, "nodePort": 30002}])
    new = _node_ports.new_fixed_node_ports(svc, {0: 30001, 1: 40000})
    assert new == {1: 40000}
    assert _node_ports.out_of_range({"default/web": new}, (30000, 32767), "the default") == [
        "nodePort 40000 wanted for default/web is outside the cluster's nodePort range 30000-32767 (the default)"
    ]
