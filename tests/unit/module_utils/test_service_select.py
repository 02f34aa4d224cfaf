"""Which Services a task acts on (pure): the LISTs to make and the Services picked from them."""

from __future__ import annotations

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _service_select, _service_view
from ansible_collections.hostreach.kind.plugins.module_utils._errors import PlanError

from tests.service_samples import service


def test_list_scopes_one_per_namespace_or_one_cluster_wide_with_fixed_ports() -> None:
    named = [{"name": "web", "namespace": "a"}, {"name": "api", "namespace": "a"}, {"name": "db", "namespace": "b"}]
    assert _service_select.list_scopes(named, ["c"], None) == [("a", None), ("b", None), ("c", None)]
    assert _service_select.list_scopes(named, ["c"], "tier=front") == [("a", None), ("b", None), ("c", "tier=front")]
    fixed = [{"name": "web", "namespace": "a", "node_ports": {"http": 30080}}]
    assert _service_select.list_scopes(fixed, ["c"], None) == [(None, None)]
    assert _service_select.list_scopes(fixed, ["c"], "tier=front") == [(None, None), ("c", "tier=front")]


def test_select_named_first_then_namespaces_never_the_kubernetes_service() -> None:
    listed = {(None, None): [service("kubernetes"), service("zeta"), service("alpha"), service("web", "shop")]}
    picked = _service_select.select(listed, [{"name": "web", "namespace": "shop", "node_ports": {"http": 30080}}], ["default", "shop"], None)
    assert [(_service_view.key_of(s), p) for s, p in picked] == [("shop/web", {"http": 30080}), ("default/alpha", {}), ("default/zeta", {})]


def test_select_missing_names_fail_together_listing_their_namespaces() -> None:
    listed = {("default", None): [service("web"), service("api")], ("empty", None): []}
    with pytest.raises(PlanError) as error:
        _service_select.select(listed, [{"name": "wbe", "namespace": "default"}, {"name": "x", "namespace": "empty"}], [], None)
    assert str(error.value) == "default/wbe does not exist; namespace default has api, web; empty/x does not exist; namespace empty has no Services"


def test_select_refuses_a_service_listed_twice_with_different_node_ports_naming_both_entries() -> None:
    listed = {(None, None): [service("web")]}
    entries = [
        {"name": "web", "namespace": "default", "node_ports": {"http": 30080}},
        {"name": "api", "namespace": "shop"},
        {"name": "web", "namespace": "default", "node_ports": {"http": 30081}},
    ]
    with pytest.raises(PlanError) as error:
        _service_select.select(listed, entries, [], None)
    assert str(error.value) == (
        "services[0] and services[2] both name default/web with different node_ports ({'http': 30080} and {'http': 30081}); list it once"
    )


def test_select_takes_a_service_listed_twice_alike_once() -> None:
    listed = {(None, None): [service("web")]}
    entries = [{"name": "web", "namespace": "default", "node_ports": {"http": 30080}}] * 2
    assert [(_service_view.key_of(s), p) for s, p in _service_select.select(listed, entries, [], None)] == [("default/web", {"http": 30080})]


def test_select_refuses_the_api_servers_own_service_by_name() -> None:
    with pytest.raises(PlanError, match="default/kubernetes is the API server's own Service"):
        _service_select.select({("default", None): [service("kubernetes")]}, [{"name": "kubernetes", "namespace": "default"}], [], None)
