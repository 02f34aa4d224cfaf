"""When the watch agent acts and on what (module_utils/_watch_plan): debouncing, backoff, narrowing, the summary's rows
(issue 20, item 3). Time is passed in as numbers."""

from __future__ import annotations

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils._watch_events import ENGINE, Change
from ansible_collections.hostreach.kind.plugins.module_utils._watch_plan import (
    Debouncer,
    Resync,
    backoff,
    cluster_changes,
    merge_rows,
    narrowed_steps,
    periodic_steps,
    resync_vars,
    summary_rows,
)
from hypothesis import given
from hypothesis import strategies as st


def change(cluster: str, why: str, *steps: str) -> Change:
    return Change(cluster, frozenset(steps or ("services",)), why)


def test_a_burst_of_changes_is_one_resync_once_the_cluster_is_quiet() -> None:
    debouncer = Debouncer(quiet=0.5, longest=3.0)
    for i, at in enumerate((0.0, 0.1, 0.2, 0.3)):
        debouncer.add(change("dev", f"Service dev/s{i} added"), at)
    assert debouncer.take_due(0.7) == []  # 0.3 + 0.5 not reached yet
    assert debouncer.next_due() == pytest.approx(0.8)
    (resync,) = debouncer.take_due(0.8)
    assert resync == Resync("dev", ("services",), tuple(f"Service dev/s{i} added" for i in range(4)))
    assert debouncer.take_due(10.0) == [] and debouncer.next_due() is None


def test_a_cluster_that_never_goes_quiet_is_resynced_longest_after_its_first_change() -> None:
    debouncer = Debouncer(quiet=0.5, longest=3.0)
    at = 0.0
    while at < 3.0:
        debouncer.add(change("dev", "EndpointSlice dev/web-x changed"), at)
        assert debouncer.take_due(at) == []
        at += 0.25
    assert [r.cluster for r in debouncer.take_due(3.0)] == ["dev"]


def test_each_cluster_is_debounced_on_its_own_the_engine_first_and_steps_in_exposes_order() -> None:
    debouncer = Debouncer(quiet=0.5, longest=3.0)
    debouncer.add(change("b", "kind node b-control-plane started"), 0.0)
    debouncer.add(change(ENGINE, "Docker network kind created", "connector"), 0.0)
    debouncer.add(change(ENGINE, "connector container connector stopped", "container"), 0.1)
    debouncer.add(change("a", "Node a-control-plane changed"), 0.0)
    debouncer.add(change("a", "Node a-control-plane changed"), 0.2)  # the same line once
    due = debouncer.take_due(1.0)
    assert [(r.cluster, r.steps) for r in due] == [(ENGINE, ("connector", "container")), ("a", ("services",)), ("b", ("services",))]
    assert due[1].why == ("Node a-control-plane changed",)


def test_backoff_doubles_from_one_second_up_to_thirty_and_never_busy_loops() -> None:
    assert [backoff(n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff(0) == 1.0 and backoff(1000) == 30.0


def test_narrowing_keeps_only_the_users_steps_and_names_the_clusters_only_for_the_services_step() -> None:
    resync = Resync(ENGINE, ("connector", "container", "services"), ("the Docker engine restarted",))
    assert narrowed_steps(resync, ["services"]) == ("services",)
    assert narrowed_steps(resync, ["connector", "container"]) == ("connector", "container")
    assert resync_vars(("services",), ["dev"]) == {"hostreach_kind_steps": ["services"], "hostreach_kind_summary_file": "", "hostreach_kind_clusters": ["dev"]}
    assert resync_vars(("connector",), []) == {"hostreach_kind_steps": ["connector"], "hostreach_kind_summary_file": ""}


def test_a_services_run_without_a_cluster_is_refused_not_taken_as_the_default_cluster() -> None:
    with pytest.raises(ValueError, match="at least one cluster"):
        resync_vars(("services",), [])


def test_clusters_that_came_and_went() -> None:
    assert cluster_changes({"a", "b"}, ["b", "c", "d"]) == (["c", "d"], ["a"])


def test_a_run_replaces_the_rows_of_the_clusters_it_covered_and_keeps_the_others() -> None:
    rows = {"a": [{"cluster": "a", "service": "x"}], "b": [{"cluster": "b", "service": "y"}]}
    found = [{"cluster": "b", "service": "z"}, {"cluster": "b", "service": "y"}]
    merged = merge_rows(rows, ["b", "c"], found)
    assert merged == {"a": rows["a"], "b": found, "c": []}
    assert summary_rows(merged) == [rows["a"][0], *found]
    assert rows["b"] == [{"cluster": "b", "service": "y"}]  # the input is not changed


@given(st.lists(st.tuples(st.sampled_from(["", "a", "b"]), st.floats(0, 0.4)), min_size=1, max_size=30))
def test_every_change_ends_in_exactly_one_resync_of_its_cluster(events: list) -> None:
    debouncer, at = Debouncer(quiet=0.5, longest=3.0), 0.0
    for cluster, gap in events:
        at += gap
        debouncer.add(change(cluster, f"{cluster} at {at}"), at)
    taken = debouncer.take_due(at + 3.0)
    assert sorted(r.cluster for r in taken) == sorted({event[0] for event in events})
    assert debouncer.next_due() is None


@pytest.mark.parametrize(
    ("steps", "links", "periodic"),
    [
        (["services"], ["_common", "nodeport_services"], ()),  # Linux direct, reach nodeport: every link has its events
        (["services"], ["_common", "cluster_routes", "cluster_dns", "nodeport_services"], ("services",)),  # host routes, resolver
        (["connector", "container", "services"], ["docker_connector", "connector_container", "nodeport_services"], ("connector", "container")),
        (["container"], ["connector_container"], ("container",)),
    ],
)
def test_the_periodic_check_redoes_only_the_steps_whose_state_no_event_reports(steps: list, links: list, periodic: tuple) -> None:
    assert periodic_steps(steps, links) == periodic
