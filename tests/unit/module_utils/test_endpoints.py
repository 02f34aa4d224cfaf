"""Ready endpoints per Service port, from EndpointSlices as the apiserver returns them (pure)."""

from __future__ import annotations

from ansible_collections.hostreach.kind.plugins.module_utils import _endpoints


def endpoint_slice(service: str, ports: list, ready: list, namespace: str = "default") -> dict:
    return {
        "metadata": {"name": f"{service}-x", "namespace": namespace, "labels": {"kubernetes.io/service-name": service}},
        "ports": [{"name": n, "port": p, "protocol": proto} for n, p, proto in ports],
        "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {} if r is None else {"ready": r}} for r in ready],
    }


def test_ready_and_not_ready_are_counted_per_port_over_every_slice() -> None:
    slices = [
        endpoint_slice("web", [("http", 8080, "TCP"), ("dns", 53, "UDP")], [True, False, None]),  # a missing ready means ready
        endpoint_slice("web", [("http", 8080, "TCP")], [True]),
        endpoint_slice("web", [("http", 8080, "TCP")], [True], namespace="shop"),
        {"metadata": {"name": "orphan", "namespace": "default"}, "endpoints": [{}]},  # no service label: not counted
    ]
    counts = _endpoints.readiness(slices)
    assert counts[("default", "web")] == {("http", "TCP"): [3, 1], ("dns", "UDP"): [2, 1]}
    assert _endpoints.port_endpoints(counts, "default", "web", {"name": "http", "port": 80}) == {"ready": 3, "not_ready": 1}
    assert _endpoints.port_endpoints(counts, "default", "web", {"name": "dns", "port": 53, "protocol": "UDP"}) == {"ready": 2, "not_ready": 1}
    assert _endpoints.port_endpoints(counts, "default", "api", {"name": "http"}) == {"ready": 0, "not_ready": 0}


def test_an_unnamed_port_matches_the_unnamed_slice_port() -> None:
    slices = [{"metadata": {"namespace": "default", "labels": {"kubernetes.io/service-name": "one"}}, "ports": [{"port": 8080}], "endpoints": [{}]}]
    assert _endpoints.port_endpoints(_endpoints.readiness(slices), "default", "one", {"port": 80}) == {"ready": 1, "not_ready": 0}


def test_selector_text_as_kubectl_takes_it() -> None:
    assert _endpoints.selector_text({"spec": {"selector": {"tier": "web", "app": "shop"}}}) == "app=shop,tier=web"
    assert _endpoints.selector_text({"spec": {}}) is None
