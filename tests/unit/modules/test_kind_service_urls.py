"""kind_service_urls run in-process (ansible_runner.in_process) on a stand-in API client that answers with the given
Services, Nodes and EndpointSlices and has no write method at all (a write would fail the run), with this host's routes
given and the probe replaced by a recorder, so no packet goes anywhere: what is proved is which URLs the module lists,
which it probes, and that it never changes anything, in check mode or not. Tier 1 runs it against a real apiserver
(tests/integration/kube/test_kind_service_urls.py)."""

from __future__ import annotations

import ipaddress
import socket
import typing as t

import pytest
import yaml
from ansible.module_utils.common import warnings as ansible_warnings
from ansible_collections.hostreach.kind.plugins.module_utils import _host_routes, _kube, _probe
from ansible_collections.hostreach.kind.plugins.module_utils._host_routes import Route
from ansible_collections.hostreach.kind.plugins.modules import kind_nodeport, kind_service_urls

from tests.ansible_runner import in_process

NODE = "172.18.0.2"
ROUTED = (Route(ipaddress.ip_network("0.0.0.0/0"), "10.0.2.2", "eth0"), Route(ipaddress.ip_network("172.18.0.0/16"), None, "br-kind"))
THROUGH_NODE = Route(ipaddress.ip_network("10.96.0.0/16"), NODE, "br-kind")


def svc(name: str, kind: str = "ClusterIP", cluster_ip: str = "10.96.0.10", node_port: int | None = None, **spec: t.Any) -> dict:
    port = {"name": "http", "port": 80, "protocol": "TCP", **({"nodePort": node_port} if node_port else {})}
    meta = {"name": name, "namespace": "shop", "resourceVersion": "7", "labels": {"app": name}}
    return {"metadata": meta, "spec": {"type": kind, "clusterIP": cluster_ip, "selector": {"app": name}, "ports": [port], **spec}}


def ready_slice(name: str, ready: bool = True) -> dict:
    return {
        "metadata": {"namespace": "shop", "labels": {"kubernetes.io/service-name": name}},
        "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": ready}}],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }


class Api:
    """The reads both Service modules make, answering with the given objects, counting them. No patch_service."""

    context = "kind-dev"

    def __init__(self, services: list, slices: list) -> None:
        self.services, self.slices, self.calls = services, slices, []

    def list_services(self, namespace: str | None, label_selector: str | None = None) -> list:
        self.calls.append(("services", namespace))
        return [s for s in self.services if namespace in (None, s["metadata"]["namespace"])]

    def namespace_exists(self, namespace: str) -> bool:
        return True

    def list_nodes(self) -> list:
        self.calls.append(("nodes", None))
        return [{"metadata": {"name": "dev-control-plane"}, "status": {"addresses": [{"type": "InternalIP", "address": NODE}]}}]

    def kubeadm_cluster_configuration(self) -> None:  # kind_nodeport reads it only for a fixed nodePort not in place
        raise AssertionError("not read: no fixed nodePort is asked for")

    def list_endpoint_slices(self, namespace: str | None) -> list:
        self.calls.append(("endpointslices", namespace))
        return self.slices


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> t.Callable:
    """run(services, slices, routes, check, **args) -> (result, API calls, probed URLs) of kind_service_urls, or of
    kind_nodeport with module=kind_nodeport. A name resolves only when the test says so (``names``)."""
    probed: list = []
    monkeypatch.setattr(_probe, "probe_all", lambda targets, settle, late=None: probed.extend(t.url for t in targets) or [_answer(t.url) for t in targets])

    def run(
        objects: list,
        slices: list = (),
        routes: tuple = ROUTED,
        check: bool = False,
        module: t.Any = kind_service_urls,
        names: dict | None = None,
        **args: t.Any,
    ) -> tuple:
        api = Api(objects, list(slices))
        probed.clear()
        monkeypatch.setattr(_kube, "connect", lambda *a: api)
        monkeypatch.setattr(_host_routes, "read_routes", lambda: list(routes))
        monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a: _resolve(names or {}, host))
        monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
        monkeypatch.setattr(ansible_warnings, "_global_deprecations", {})
        result = in_process(module, {"cluster": "dev", "namespaces": ["shop"], **args}, check=check)
        return result, api.calls, list(probed)

    return run


def _resolve(names: dict, host: str) -> list:
    if host not in names:
        raise socket.gaierror(-2, "Name or service not known")
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (names[host], 0))]


def _answer(url: str) -> dict:
    return {"url": url, "reachable": True, "status": 200, "error": None, "diagnosis": "reachable", "waited": 0.0}


def test_reach_nodeport_lists_the_node_urls_of_services_that_have_node_ports_and_says_why_a_cluster_ip_has_none(cluster: t.Callable) -> None:
    result, calls, _probed = cluster([svc("web", "NodePort", node_port=30080), svc("api")])

    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False and result["nodes"] == {"dev-control-plane": NODE}
    api, web = result["services"]  # sorted by name
    assert (web["name"], web["type_before"], web["type_after"], web["changed"], web["skip_reason"]) == ("web", "NodePort", "NodePort", False, None)
    assert web["urls"] == result["urls"] == [f"http://{NODE}:30080"]
    assert web["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "node_port": 30080, "app_protocol": None, "urls": [f"http://{NODE}:30080"]}]
    assert (api["type_after"], api["urls"]) == ("ClusterIP", [])
    assert api["skip_reason"].startswith("type ClusterIP: no nodePort, so no node URL")
    assert "probes" not in result
    assert calls == [("services", "shop"), ("nodes", None)]


def test_reach_routes_lists_cluster_ips_and_names_and_probes_only_what_this_host_routes_through_a_node(cluster: t.Callable) -> None:
    services = [svc("web"), svc("api", cluster_ip="10.97.0.20"), svc("db", cluster_ip="10.96.0.30")]
    names = {"web.shop.svc.dev.kind": "10.96.0.10", "api.shop.svc.dev.kind": "10.97.0.20"}
    slices = [ready_slice("web"), ready_slice("api"), ready_slice("db", ready=False)]

    result, calls, probed = cluster(services, slices, routes=[*ROUTED, THROUGH_NODE], names=names, reach="routes", dns_domain="dev.kind", probe=True)

    assert not result.get("failed"), result.get("msg")
    assert result["services"][2]["urls"] == ["http://10.96.0.10:80", "http://web.shop.svc.dev.kind:80"]
    assert probed == ["http://10.96.0.10:80", "http://web.shop.svc.dev.kind:80"]  # 10.97.0.20 leaves by the default route
    probes = {p["url"]: p for p in result["probes"]}
    assert [p["url"] for p in result["probes"]] == result["urls"]
    assert (probes["http://10.97.0.20:80"]["diagnosis"], probes["http://api.shop.svc.dev.kind:80"]["diagnosis"]) == ("not routed", "not routed")
    assert "default (0.0.0.0/0) via 10.0.2.2 dev eth0" in probes["http://10.97.0.20:80"]["error"]
    db = probes["http://10.96.0.30:80"]
    assert (db["diagnosis"], db["endpoints"], db["waited"]) == ("no ready endpoints", {"ready": 0, "not_ready": 1}, 0.0)
    assert probes["http://db.shop.svc.dev.kind:80"]["diagnosis"] == "no ready endpoints"
    assert all(p["hint"] == "" for p in result["probes"] if p["reachable"])
    assert calls == [("services", "shop"), ("nodes", None), ("endpointslices", "shop")]


def test_a_name_that_does_not_resolve_is_never_probed(cluster: t.Callable) -> None:
    result, _calls, probed = cluster([svc("web")], [ready_slice("web")], routes=[*ROUTED, THROUGH_NODE], reach="both", dns_domain="dev.kind", probe=True)

    name = next(p for p in result["probes"] if "svc.dev.kind" in p["url"])
    assert (name["diagnosis"], name["reachable"]) == ("name not resolved", False)
    assert name["error"].startswith("web.shop.svc.dev.kind: ")
    assert probed == ["http://10.96.0.10:80"]


@pytest.mark.parametrize("reach", ["nodeport", "routes", "both"])
def test_check_mode_returns_the_same_and_nothing_is_ever_written_or_waited_for(cluster: t.Callable, reach: str) -> None:
    services = [svc("web", "NodePort", node_port=30080), svc("api"), svc("headless", cluster_ip="None")]
    args = {"reach": reach, "probe": True}
    slices = [ready_slice("web"), ready_slice("api")]

    normal, _c, probed = cluster(services, slices, routes=[*ROUTED, THROUGH_NODE], **args)
    checked, _c, probed_in_check = cluster(services, slices, routes=[*ROUTED, THROUGH_NODE], check=True, **args)

    assert not normal.get("failed"), normal.get("msg")  # the stand-in has no write method: a write would fail the run
    assert normal == checked and probed == probed_in_check and probed
    assert normal["changed"] is False and not any(s["changed"] for s in normal["services"])
    assert all(p["waited"] == 0.0 for p in normal["probes"])
    assert normal["services"][1]["skip_reason"] == "headless Service (clusterIP: None) cannot have nodePorts"


def test_the_result_has_every_field_the_roles_read_of_kind_nodeport(cluster: t.Callable) -> None:
    """The nodeport_services summary (plugins/filter/nodeport_summary.py) and the doctor read these of kind_nodeport."""
    services = [svc("web", "NodePort", node_port=30080)]
    urls, _c, _p = cluster(services, [ready_slice("web")], probe=True)
    patched, _c, _p = cluster(services, [ready_slice("web")], probe=True, module=kind_nodeport)

    assert urls["services"] == patched["services"] and urls["probes"] == patched["probes"] and urls["urls"] == patched["urls"]
    assert set(urls) == {"changed", "services", "nodes", "urls", "probes", "invocation"}  # in diff mode too: no diff
    assert set(patched) == set(urls) | {"diff"}


def test_kind_nodeport_reach_routes_still_works_and_is_deprecated_pointing_to_kind_service_urls(cluster: t.Callable) -> None:
    args = {"reach": "routes", "probe": True}
    old, _c, _p = cluster([svc("web")], [ready_slice("web")], routes=[*ROUTED, THROUGH_NODE], module=kind_nodeport, **args)
    new, _c, _p = cluster([svc("web")], [ready_slice("web")], routes=[*ROUTED, THROUGH_NODE], **args)

    assert not old.get("failed"), old.get("msg")
    assert old["services"] == new["services"] and old["probes"] == new["probes"] and old["changed"] is False
    (deprecation,) = old["deprecations"]
    assert "hostreach.kind.kind_service_urls" in str(deprecation) and "0.3.0" in str(deprecation)
    assert not new.get("deprecations")


def test_services_or_namespaces_is_required() -> None:
    assert in_process(kind_service_urls, {"cluster": "kind"})["msg"] == "one of the following is required: services, namespaces"


def test_node_ports_of_the_roles_services_list_are_ignored_so_one_list_serves_both_modules(cluster: t.Callable) -> None:
    """The roles pass one services list, with kind_nodeport's node_ports; listing neither uses them nor widens its LIST."""
    entries = [{"name": "web", "namespace": "shop", "node_ports": {"http": 31999}}, {"name": "web", "namespace": "shop"}]
    result, calls, _probed = cluster([svc("web", "NodePort", node_port=30080)], services=entries, namespaces=[])

    assert not result.get("failed"), result.get("msg")
    assert result["urls"] == [f"http://{NODE}:30080"]
    assert calls == [("services", "shop"), ("nodes", None)]  # not the cluster-wide LIST that fixed nodePorts need


@pytest.mark.parametrize(
    "task", [t for t in yaml.safe_load(kind_service_urls.EXAMPLES) if "hostreach.kind.kind_service_urls" in t], ids=lambda t: t["name"][:50]
)
def test_documented_examples_are_valid_arguments(task: dict) -> None:
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    spec = kind_service_urls.argument_spec()
    rules = {k: v for k, v in spec.items() if k in ("required_one_of", "required_by")}
    assert ArgumentSpecValidator(spec["argument_spec"], **rules).validate(task["hostreach.kind.kind_service_urls"]).error_messages == []
