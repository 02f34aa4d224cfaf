"""The clusters of a run, their names checked as kind checks them before any use: a name the user gave that kind would
refuse is refused naming the setting; a node container's label (input from the engine) that is not one is skipped,
naming the container."""

from __future__ import annotations

from ansible_collections.hostreach.kind.plugins.filter import kind_cluster_names as names
from hypothesis import given
from hypothesis import strategies as st


def node(name: str, cluster: object, **labels: str) -> dict:
    """A container as community.docker.docker_host_info lists it with verbose_output."""
    return {"Id": "0123456789abcdef", "Names": [f"/{name}"], "Labels": {"io.x-k8s.kind.cluster": cluster, **labels}}


def test_one_good_name_passes() -> None:
    assert names.kind_cluster_names("kind", "hostreach_kind_cluster") == {"names": ["kind"], "refused": []}


def test_one_bad_name_is_refused_naming_the_setting_and_the_quoted_value() -> None:
    checked = names.kind_cluster_names("dev\nroute 0.0.0.0/1", "hostreach_kind_cluster")
    assert checked["names"] == []
    assert checked["refused"] == [
        "hostreach_kind_cluster 'dev\\nroute 0.0.0.0/1' is not a kind cluster name: its character '\\n' at position 3 is none of "
        "kind's lower-case letters, digits, '.' and '-' (^[a-z0-9.-]+$); `kind get clusters` lists the names"
    ]


def test_a_list_keeps_the_good_names_in_order_and_names_each_bad_one_by_its_index() -> None:
    checked = names.kind_cluster_names(["b", "", "a", "x y", "b"], "hostreach_kind_clusters")
    assert checked["names"] == ["b", "a", "b"]
    assert [m.split(" is not")[0] for m in checked["refused"]] == ["hostreach_kind_clusters[1] ''", "hostreach_kind_clusters[3] 'x y'"]


def test_a_string_that_is_not_one_name_is_refused_whole() -> None:
    checked = names.kind_cluster_names("a,b", "hostreach_kind_clusters")
    assert checked["names"] == [] and checked["refused"][0].startswith("hostreach_kind_clusters 'a,b' is not a kind cluster name")


def test_the_engines_clusters_are_the_distinct_good_labels_sorted() -> None:
    containers = [node("b-control-plane", "b"), node("a-control-plane", "a"), node("a-worker", "a"), {"Names": ["/web"], "Labels": {"app": "web"}}]
    assert names.kind_clusters_of_containers(containers) == {"names": ["a", "b"], "refused": []}


def test_a_container_whose_label_is_no_kind_cluster_name_is_skipped_naming_it() -> None:
    containers = [node("kind-control-plane", "kind"), node("evil", "kind\nhost 0.0.0.0"), {"Id": "fedcba9876543210ff", "Labels": {"io.x-k8s.kind.cluster": ""}}]
    checked = names.kind_clusters_of_containers(containers)
    assert checked["names"] == ["kind"]
    assert checked["refused"] == [
        "container evil: its label io.x-k8s.kind.cluster 'kind\\nhost 0.0.0.0' is not a kind cluster name: its character '\\n' at "
        "position 4 is none of kind's lower-case letters, digits, '.' and '-' (^[a-z0-9.-]+$); `kind get clusters` lists the names; skipped",
        "container fedcba987654: its label io.x-k8s.kind.cluster '' is not a kind cluster name: it is empty (kind's default cluster is named kind); skipped",
    ]


def test_no_containers_no_clusters() -> None:
    assert names.kind_clusters_of_containers(None) == {"names": [], "refused": []}
    assert names.kind_clusters_of_containers([{"Names": ["/x"], "Labels": None}]) == {"names": [], "refused": []}


@given(st.lists(st.text(max_size=60), max_size=8))
def test_every_label_is_either_a_cluster_or_refused_never_both(labels: list) -> None:
    checked = names.kind_clusters_of_containers([node(f"n{i}", label) for i, label in enumerate(labels)])
    accepted = [label for label in labels if names.cluster_name_problem(label) is None]
    assert checked["names"] == sorted(set(accepted))
    assert len(checked["refused"]) == len(labels) - len(accepted)
    assert all("\n" not in message for message in checked["refused"])


def test_the_filters_are_registered_under_their_documented_names() -> None:
    assert names.FilterModule().filters() == {
        "kind_cluster_names": names.kind_cluster_names,
        "kind_clusters_of_containers": names.kind_clusters_of_containers,
    }
