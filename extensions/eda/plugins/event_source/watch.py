# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""hostreach.kind.watch - an Event-Driven Ansible event source: what the watch agent follows, as events (issue 20, 4).

The same detection as the watch agent (extensions/watch/agent.py): Docker's events and each cluster's Services,
EndpointSlices and Nodes (Kubernetes watches, not polling) turned into Changes by module_utils/_watch_events and
debounced by module_utils/_watch_plan, so a burst (a cluster being created) is one event per cluster. Each event says
which cluster and which of expose.yml's steps to run again; the rulebook (extensions/eda/rulebooks/watch.yml) runs
hostreach.kind.expose narrowed to them. No Java is needed by the agent; ansible-rulebook itself needs a Java 17 runtime.

Arguments:
  settings_file:   the expose settings (a YAML or JSON file of hostreach_kind_* settings, the one the rulebook passes
                   to its runs as hostreach_kind_settings_file). What to follow is read from it, as expose reads it:
                   hostreach_kind_clusters (a list, or `all`: every kind cluster with a running node, and each one that
                   starts later; empty: hostreach_kind_cluster, default kind), hostreach_kind_kubeconfig,
                   hostreach_kind_namespaces (default [default]), hostreach_kind_label_selector,
                   hostreach_kind_docker_host, hostreach_kind_steps (default all three), connector_container_name.
  quiet:           seconds without a new change before a burst becomes an event (0.25); longest: at most (3).

Each event: {"hostreach_kind": {"cluster": "<name>" (empty for the engine: route lines, the VM side),
"clusters": the clusters the run is for ([<name>], or the settings' own for the engine), "steps": the settings'
steps the change touches, "why": ["<one line per change>", ...], "running": whether the cluster has a running node
(false: it went, its host side is for teardown; always true for the engine)}}. A change that touches none of the
settings' steps is no event.

Example:
  sources:
    - hostreach.kind.watch:
        settings_file: /home/dev/hostreach-settings.yml
"""

from __future__ import annotations

import asyncio
import json
import queue
import sys
import threading
import time
import typing as t

import yaml
from ansible_collections.hostreach.kind.plugins.module_utils import _kube
from ansible_collections.hostreach.kind.plugins.module_utils._watch_events import Change
from ansible_collections.hostreach.kind.plugins.module_utils._watch_plan import LONGEST, QUIET, Debouncer, Resync, narrowed_steps
from ansible_collections.hostreach.kind.plugins.module_utils._watch_sources import docker_events, follow_cluster, running_kind_clusters

POLL = 0.2  # seconds: how often the event loop looks at the changes the watch threads found
STEPS = ["connector", "container", "services"]


def source_settings(settings: t.Mapping) -> dict:
    """What to follow, from the expose settings as expose reads them (roles/_common's defaults where one is unset)."""
    clusters = settings.get("hostreach_kind_clusters") or [settings.get("hostreach_kind_cluster") or "kind"]
    steps = settings.get("hostreach_kind_steps") or STEPS
    namespaces = settings.get("hostreach_kind_namespaces")
    return {
        "clusters": clusters if clusters == "all" else [str(c) for c in ([clusters] if isinstance(clusters, str) else clusters)],
        "kubeconfig": str(settings.get("hostreach_kind_kubeconfig") or ""),
        "namespaces": ["default"] if namespaces is None else list(namespaces),
        "label_selector": str(settings.get("hostreach_kind_label_selector") or ""),
        "docker_host": str(settings.get("hostreach_kind_docker_host") or ""),
        "connector_name": str(settings.get("connector_container_name") or "connector"),
        "steps": steps.split(",") if isinstance(steps, str) else list(steps),  # hostreach_kind_steps takes both
        "run_clusters": settings.get("hostreach_kind_clusters") or [],
    }


def read_settings(path: str) -> dict:
    """The settings file (YAML, of which JSON is a part); a file that holds no mapping is refused, naming it."""
    with open(path, encoding="utf-8") as handle:
        settings = yaml.safe_load(handle)
    if not isinstance(settings, dict):
        raise ValueError(f"settings_file {path}: {json.dumps(settings)[:80]} is no mapping of hostreach_kind_* settings")
    return settings


class Follower:
    """The watch threads of the engine and of each followed cluster, feeding one thread-safe queue of Changes."""

    def __init__(self, settings: t.Mapping) -> None:
        """``settings``: what source_settings returns."""
        self.settings, self.stop, self.changes = settings, threading.Event(), queue.Queue()
        self.followed: dict = {}  # cluster -> the stop Event of its watches
        clusters = settings["clusters"]
        self.all = clusters == "all"
        self.wanted = set() if self.all else {str(c) for c in clusters}

    def start(self) -> None:
        connector = self.settings["connector_name"]
        threading.Thread(target=docker_events, args=(self.settings["docker_host"] or None, connector, self.changes.put, self.stop), daemon=True).start()
        running = (running_kind_clusters(self.settings["docker_host"] or None) or []) if self.all else []
        for cluster in sorted(self.wanted | set(running)):
            self.follow(cluster)

    def follow(self, cluster: str) -> bool:
        """Start the cluster's watches once; False while its kubeconfig has no context for it yet (tried again on its
        next change)."""
        if cluster in self.followed:
            return True
        try:
            api = _kube.connect(self.settings["kubeconfig"] or None, None, cluster)
        except Exception:  # kind writes the context after the node starts: the next change tries again
            return False
        self.followed[cluster] = threading.Event()
        follow_cluster(api, cluster, self.settings["namespaces"], self.settings["label_selector"], self.changes.put, self.followed[cluster])
        return True

    def unfollow(self, cluster: str) -> None:
        """A cluster that went: its watches end (a cluster made again under its name is followed again)."""
        stop = self.followed.pop(cluster, None)
        if stop is not None:
            stop.set()

    def close(self) -> None:
        self.stop.set()
        for cluster in list(self.followed):
            self.unfollow(cluster)

    def wanted_change(self, change: Change) -> bool:
        """A Change of the engine or of a wanted cluster (with `all`, any); a wanted cluster not followed yet is."""
        if change.cluster and (self.all or change.cluster in self.wanted):
            self.follow(change.cluster)
        return not change.cluster or self.all or change.cluster in self.wanted


def gone(resync: Resync, running: t.Collection | None) -> bool:
    """Whether the resync's cluster has no running node; ``running`` None (the engine does not answer) says nothing of
    it, so it is not gone."""
    return bool(resync.cluster) and running is not None and resync.cluster not in running


def event_of(resync: Resync, settings: t.Mapping, running: t.Collection | None) -> dict | None:
    """The event of a debounced resync, its steps narrowed to the settings' (None when none is left); ``running``:
    the kind clusters with a running node now (None while the engine does not answer)."""
    narrowed = narrowed_steps(resync, settings["steps"])
    if not narrowed:
        return None
    up = not gone(resync, running)
    clusters = [resync.cluster] if resync.cluster else settings["run_clusters"]
    return {"hostreach_kind": {"cluster": resync.cluster, "clusters": clusters, "steps": list(narrowed), "why": list(resync.why), "running": up}}


async def main(queue_out: asyncio.Queue, args: dict) -> None:
    """Put one event per debounced burst of Changes on ``queue_out``, until cancelled."""
    settings = source_settings(read_settings(str(args["settings_file"])))
    follower, loop = Follower(settings), asyncio.get_running_loop()
    debouncer = Debouncer(float(args.get("quiet", QUIET)), float(args.get("longest", LONGEST)))
    await loop.run_in_executor(None, follower.start)
    try:
        while True:
            while not follower.changes.empty():
                change = follower.changes.get_nowait()
                if follower.wanted_change(change):
                    debouncer.add(change, time.monotonic())
            due = debouncer.take_due(time.monotonic())
            running = await loop.run_in_executor(None, running_kind_clusters, settings["docker_host"] or None) if due else None
            for resync in due:
                if gone(resync, running):
                    follower.unfollow(resync.cluster)
                event = event_of(resync, settings, running)
                if event is not None:
                    await queue_out.put(event)
            await asyncio.sleep(POLL)
    finally:
        follower.close()


if __name__ == "__main__":
    # Try it without ansible-rulebook: print the events (python -m ... <settings file>, from the folder holding
    # ansible_collections).
    class _Print:
        async def put(self, event: dict) -> None:
            print(event, flush=True)

    asyncio.run(main(_Print(), {"settings_file": sys.argv[1]}))  # type: ignore[arg-type]
