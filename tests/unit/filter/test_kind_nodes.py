"""The kind nodes of a run's clusters (issue 18, item 5): a node of another kind cluster on the same engine, or a
container without kind's cluster label, is not one of them."""

from __future__ import annotations

from ansible_collections.hostreach.kind.plugins.filter.kind_nodes import kind_node_targets, kind_nodes_of_clusters
from hypothesis import given
from hypothesis import strategies as st


def node(name: str, cluster: object = None) -> dict:
    """A container as community.docker.docker_host_info lists it with verbose_output."""
    labels = {"io.x-k8s.kind.role": "control-plane"} | ({} if cluster is None else {"io.x-k8s.kind.cluster": cluster})
    return {"Names": [f"/{name}"], "Labels": labels}


def test_only_the_nodes_of_the_runs_clusters_in_their_order() -> None:
    containers = [node("b-control-plane", "b"), node("other-control-plane", "other"), node("a-control-plane", "a")]
    assert kind_nodes_of_clusters(containers, ["a", "b"]) == [containers[0], containers[2]]


def test_a_container_without_the_label_or_labels_is_no_node_of_any_cluster() -> None:
    assert kind_nodes_of_clusters([node("plain"), {"Names": ["/x"], "Labels": None}, {"Names": ["/y"]}], ["kind"]) == []


def test_no_cluster_no_node() -> None:
    assert kind_nodes_of_clusters([node("kind-control-plane", "kind")], []) == []
    assert kind_nodes_of_clusters(None, ["kind"]) == []


names = st.text(alphabet="abc-.", min_size=1, max_size=4)


@given(st.lists(st.tuples(st.integers(0, 99), names), max_size=12), st.lists(names, max_size=4))
def test_a_node_is_kept_exactly_when_its_cluster_is_one_of_the_runs(labelled: list, clusters: list) -> None:
    containers = [node(f"n{i}", cluster) for i, cluster in labelled]
    kept = kind_nodes_of_clusters(containers, clusters)
    assert kept == [c for c in containers if c["Labels"]["io.x-k8s.kind.cluster"] in clusters]


def placed(name: str, cluster: str, networks: dict) -> dict:
    """A node container with addresses on networks {name: ip}."""
    return node(name, cluster) | {"NetworkSettings": {"Networks": {net: {"IPAddress": ip} for net, ip in networks.items()}}}


def test_the_targets_are_the_runs_nodes_with_their_first_address_and_networks() -> None:
    containers = [placed("a-control-plane", "a", {"kind": "172.18.0.2"}), placed("b-control-plane", "b", {"kind": "172.18.0.3"})]
    assert kind_node_targets(containers, ["a"]) == [{"name": "a-control-plane", "ip": "172.18.0.2", "networks": ["kind"]}]


def test_with_networks_only_the_nodes_on_one_of_them_and_an_addressless_node_stays_visible() -> None:
    containers = [placed("a-control-plane", "a", {"kind": "172.18.0.2"}), placed("b-control-plane", "b", {"other": ""})]
    assert [t["name"] for t in kind_node_targets(containers, ["a", "b"], ["other"])] == ["b-control-plane"]
    assert kind_node_targets(containers, ["a", "b"])[1] == {"name": "b-control-plane", "ip": "", "networks": ["other"]}
    assert kind_node_targets(containers, ["a", "b"], []) == []  # a run that routes no network looks at no node
