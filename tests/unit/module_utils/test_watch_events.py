"""What a Docker event or a Kubernetes watch event means for expose (module_utils/_watch_events): which cluster, which
steps, and nothing for what expose does not read (issue 20, item 2)."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils._watch_events import (
    ENGINE,
    docker_change,
    endpoint_slice_fingerprint,
    kube_change,
    node_fingerprint,
    service_fingerprint,
    slice_service,
)


def docker_event(kind: str, action: str, **attributes: str) -> dict:
    return {"Type": kind, "Action": action, "Actor": {"ID": "f00", "Attributes": attributes}, "time": 1}


@pytest.mark.parametrize(("action", "verb"), [("create", "created"), ("destroy", "removed")])
def test_a_bridge_network_coming_or_going_redoes_the_route_lines(action: str, verb: str) -> None:
    change = docker_change(docker_event("network", action, name="kind", type="bridge"), "connector")
    assert change == (ENGINE, frozenset({"connector"}), f"Docker network kind {verb}")


@pytest.mark.parametrize(
    "event",
    [
        docker_event("network", "create", name="ov", type="overlay"),  # not a bridge: nothing routed to it
        docker_event("network", "connect", name="kind", type="bridge"),  # a container joining: the subnet is the same
        docker_event("container", "start", name="web"),  # no kind label, not the connector
        docker_event("container", "exec_start", name="c-control-plane", **{"io.x-k8s.kind.cluster": "c"}),
        docker_event("container", "start", name="connector"),  # the connector starting is expose's own doing
        docker_event("image", "pull", name="x"),
        {"Type": "container"},  # no Actor at all
        {"Type": "container", "Action": "die", "Actor": {"Attributes": "not a mapping"}},
    ],
)
def test_events_expose_does_not_read_are_nothing(event: dict) -> None:
    assert docker_change(event, "connector") is None


@pytest.mark.parametrize(("action", "verb"), [("start", "started"), ("die", "stopped"), ("destroy", "removed"), ("pause", "paused")])
def test_a_kind_node_container_event_redoes_its_clusters_services_step(action: str, verb: str) -> None:
    event = docker_event("container", action, name="dev-control-plane", **{"io.x-k8s.kind.cluster": "dev"})
    assert docker_change(event, "connector") == ("dev", frozenset({"services"}), f"kind node dev-control-plane {verb}")


def test_the_connector_container_ending_redoes_the_vm_side_by_its_configured_name() -> None:
    assert docker_change(docker_event("container", "die", name="vm-side"), "vm-side") == (
        ENGINE,
        frozenset({"container"}),
        "connector container vm-side stopped",
    )
    assert docker_change(docker_event("container", "die", name="connector"), "vm-side") is None


def service(**overrides: object) -> dict:
    obj = {
        "metadata": {"name": "web", "namespace": "dev", "uid": "u1", "resourceVersion": "1", "labels": {"app": "web"}, "annotations": {}},
        "spec": {"type": "ClusterIP", "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]},
        "status": {"loadBalancer": {}},
    }
    for path, value in overrides.items():
        where = obj
        *parents, last = path.split("__")
        for key in parents:
            where = where[key]
        where[last] = value
    return obj


def test_what_expose_itself_changes_in_a_service_is_no_change() -> None:
    """kind_nodeport switches the type, picks nodePorts and records the original: the watch sees its own doing as
    nothing, so a resync never triggers the next one."""
    before = service()
    after = copy.deepcopy(before)
    after["spec"]["type"] = "NodePort"
    after["spec"]["ports"][0]["nodePort"] = 31000
    after["metadata"]["annotations"]["hostreach.kind/original"] = '{"type": "ClusterIP"}'
    after["metadata"]["resourceVersion"] = "2"
    assert service_fingerprint(after) == service_fingerprint(before)
    assert kube_change("dev", "services", "MODIFIED", after, service_fingerprint(before)) == (None, service_fingerprint(before))


@pytest.mark.parametrize(
    "edit",
    [
        {"spec__selector": {"app": "other"}},
        {"spec__ports": [{"name": "http", "port": 81, "targetPort": 8080}]},
        {"metadata__labels": {"app": "web", "expose": "no"}},
        {"metadata__annotations": {"team": "a"}},
        {"status__loadBalancer": {"ingress": [{"ip": "172.18.0.200"}]}},
    ],
)
def test_a_user_edit_that_expose_reads_is_a_change(edit: dict) -> None:
    change, now = kube_change("dev", "services", "MODIFIED", service(**edit), service_fingerprint(service()))
    assert change == ("dev", frozenset({"services"}), "Service dev/web changed in cluster dev")
    assert now == service_fingerprint(service(**edit))


def test_added_and_deleted_objects_are_changes_and_deleted_forgets_the_fingerprint() -> None:
    added, fingerprint = kube_change("dev", "services", "ADDED", service(), None)
    assert added.why == "Service dev/web added in cluster dev" and fingerprint is not None
    deleted, gone = kube_change("dev", "services", "DELETED", service(), fingerprint)
    assert deleted.why == "Service dev/web removed in cluster dev" and gone is None


@pytest.mark.parametrize("event_type", ["BOOKMARK", "ERROR", "SOMETHING"])
def test_bookmarks_and_unknown_event_types_are_no_change(event_type: str) -> None:
    assert kube_change("dev", "services", event_type, service(), ("x",)) == (None, ("x",))


def endpoint_slice(ready: bool, addresses: tuple = ("10.244.0.5",)) -> dict:
    return {
        "metadata": {"name": "web-abc", "namespace": "dev", "uid": "s1", "labels": {"kubernetes.io/service-name": "web"}},
        "endpoints": [{"addresses": list(addresses), "conditions": {"ready": ready, "serving": ready, "terminating": False}}],
        "ports": [{"name": "http", "port": 8080}],
    }


def test_an_endpoint_becoming_ready_is_a_change_and_a_new_resource_version_is_not() -> None:
    not_ready = endpoint_slice_fingerprint(endpoint_slice(False))
    change = kube_change("dev", "endpointslices", "MODIFIED", endpoint_slice(True), not_ready)[0]
    assert change.why == "EndpointSlice dev/web-abc changed in cluster dev"
    same = endpoint_slice(False)
    same["metadata"]["resourceVersion"] = "9"
    assert kube_change("dev", "endpointslices", "MODIFIED", same, not_ready)[0] is None
    assert slice_service(same) == "dev/web"
    assert slice_service({"metadata": {"namespace": "dev", "labels": {}}}) == ""


def test_a_node_heartbeat_is_no_change_and_a_new_pod_range_is() -> None:
    node = {"metadata": {"name": "dev-control-plane", "uid": "n1"}, "spec": {"podCIDRs": ["10.244.0.0/24"]}}
    node["status"] = {"addresses": [{"type": "InternalIP", "address": "172.18.0.2"}], "conditions": [{"lastHeartbeatTime": "t1"}]}
    before = node_fingerprint(node)
    beat = copy.deepcopy(node)
    beat["status"]["conditions"][0]["lastHeartbeatTime"] = "t2"
    assert kube_change("dev", "nodes", "MODIFIED", beat, before)[0] is None
    moved = copy.deepcopy(node)
    moved["spec"]["podCIDRs"] = ["10.244.7.0/24"]
    assert kube_change("dev", "nodes", "MODIFIED", moved, before)[0].why == "Node dev-control-plane changed in cluster dev"
