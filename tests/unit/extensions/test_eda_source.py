"""The Event-Driven Ansible source (extensions/eda/plugins/event_source/watch.py): what it follows from the settings
file, what it sends for a debounced burst, and which changes it keeps (the I/O - Docker's events, the Kubernetes watches
- is the watch agent's, tested there)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.hostreach.kind.extensions.eda.plugins.event_source.watch import Follower, event_of, read_settings, source_settings
from ansible_collections.hostreach.kind.plugins.module_utils._watch_events import ENGINE, Change
from ansible_collections.hostreach.kind.plugins.module_utils._watch_plan import Resync

NOWHERE = {"hostreach_kind_kubeconfig": "/nonexistent/kubeconfig"}  # no context: no watch starts


def test_unset_settings_follow_what_expose_would() -> None:
    found = source_settings({})
    assert found["clusters"] == ["kind"] and found["namespaces"] == ["default"] and found["steps"] == ["connector", "container", "services"]
    assert found["connector_name"] == "connector" and found["run_clusters"] == []
    assert source_settings({"hostreach_kind_cluster": "dev"})["clusters"] == ["dev"]


def test_set_settings_are_taken_as_expose_takes_them() -> None:
    found = source_settings({"hostreach_kind_clusters": "all", "hostreach_kind_steps": "services", "hostreach_kind_namespaces": []})
    assert found["clusters"] == "all" and found["steps"] == ["services"] and found["namespaces"] == [] and found["run_clusters"] == "all"
    assert source_settings({"hostreach_kind_clusters": "dev"})["clusters"] == ["dev"]


def test_a_settings_file_that_holds_no_mapping_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "s.yml").write_text("- hostreach_kind_clusters\n")
    with pytest.raises(ValueError, match=r"s\.yml.*no mapping"):
        read_settings(str(tmp_path / "s.yml"))
    (tmp_path / "s.yml").write_text("hostreach_kind_clusters: all\n")
    assert read_settings(str(tmp_path / "s.yml")) == {"hostreach_kind_clusters": "all"}


def test_an_event_names_the_cluster_the_settings_steps_why_and_whether_it_runs() -> None:
    settings = source_settings({"hostreach_kind_steps": ["services"], "hostreach_kind_clusters": ["dev", "qa"]})
    resync = Resync("dev", ("connector", "services"), ("Service default/web added", "kind node dev-control-plane started"))
    assert event_of(resync, settings, ["dev"]) == {
        "hostreach_kind": {"cluster": "dev", "clusters": ["dev"], "steps": ["services"], "why": list(resync.why), "running": True}
    }
    assert event_of(resync, settings, [])["hostreach_kind"]["running"] is False
    # The engine does not answer (None): that says nothing of the cluster, whose host side must not be torn down.
    assert event_of(resync, settings, None)["hostreach_kind"]["running"] is True


def test_an_engine_event_is_for_the_settings_clusters_and_one_that_touches_none_of_their_steps_is_none() -> None:
    network = Resync(ENGINE, ("connector",), ("Docker network x created",))
    assert event_of(network, source_settings({"hostreach_kind_steps": ["services"]}), []) is None
    found = event_of(network, source_settings({"hostreach_kind_clusters": ["dev", "qa"]}), [])["hostreach_kind"]
    assert found["clusters"] == ["dev", "qa"] and found["running"] is True and found["steps"] == ["connector"]


def test_only_the_engine_and_the_wanted_clusters_are_kept() -> None:
    follower = Follower(source_settings({**NOWHERE, "hostreach_kind_clusters": ["dev"]}))
    assert follower.wanted_change(Change(ENGINE, frozenset({"connector"}), "network"))
    assert follower.wanted_change(Change("dev", frozenset({"services"}), "node started"))
    assert not follower.wanted_change(Change("other", frozenset({"services"}), "node started"))
    assert follower.followed == {}  # no context for dev: tried again on its next change
    assert Follower(source_settings({**NOWHERE, "hostreach_kind_clusters": "all"})).wanted_change(Change("other", frozenset({"services"}), "started"))
