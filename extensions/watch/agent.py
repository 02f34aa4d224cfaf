# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watch agent (issue 20): keeps every cluster of a run reachable while the machine changes.

    python -m ansible_collections.hostreach.kind.extensions.watch.agent [--interval 60] [--retry-start] -- <expose's arguments>

(`make watch` / scripts/runtime.sh watch run it; the service of roles/watch runs it with --retry-start.) It runs one
full expose with the user's arguments (a bad setting fails it there, as it fails expose; with --retry-start it is
tried again with backoff, as at login the engine may still be starting), which also writes what the run resolved (roles/watch, settings.yml): the
clusters, the kubeconfig, namespaces, the Docker endpoint, the steps. Then it follows Docker's events and each
cluster's Services, EndpointSlices and Nodes (_watch_sources), turns them into Changes (_watch_events), debounces them
into one resync per cluster (_watch_plan) and runs expose narrowed to that cluster and those steps (_watch_playbooks);
every `interval` seconds it redoes the steps whose state no event reports (the VM's firewall, the routes, the
resolver; none in Linux's direct mode with reach nodeport). With `hostreach_kind_clusters: all` a cluster that comes is exposed and one that goes is torn
down (teardown.yml, its steps only). The summary file is kept current: rewritten atomically when a row changes.
Every event and resync is one line on stdout; SIGINT or SIGTERM ends it within 5 seconds, leaving everything as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import sys
import threading
import time
import typing as t

from ansible_collections.hostreach.kind.plugins.filter.nodeport_summary import summary_file, summary_table
from ansible_collections.hostreach.kind.plugins.module_utils import _kube, _records
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
from ansible_collections.hostreach.kind.plugins.module_utils._watch_playbooks import Outcome, Playbooks, write_atomically
from ansible_collections.hostreach.kind.plugins.module_utils._watch_sources import docker_events, follow_cluster, running_kind_clusters

INTERVAL = 60.0  # seconds between the periodic resyncs of everything
PERIODIC = "periodic check"


class Settings(t.NamedTuple):
    """What expose resolved for the agent (roles/watch/templates/settings.json.j2)."""

    clusters: list
    all: bool  # hostreach_kind_clusters: all
    kubeconfig: str
    context: str
    namespaces: list
    label_selector: str
    docker_host: str
    connector_name: str
    steps: list
    links: list  # the roles of the links the run sets up (hostreach_kind_links)
    summary_file: str

    @classmethod
    def read(cls, path: str) -> Settings:
        with open(path, encoding="utf-8") as settings:
            return cls(**{k: v for k, v in json.load(settings).items() if k in cls._fields})


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


class Agent:
    def __init__(self, playbooks: Playbooks, state_dir: str, interval: float = INTERVAL) -> None:
        self.playbooks, self.state_dir, self.interval = playbooks, state_dir, interval
        self.changes: queue.Queue = queue.Queue()
        self.stop = threading.Event()
        self.debouncer = Debouncer()
        self.rows: dict = {}
        self.watches: dict = {}  # cluster -> its watches' stop Event
        self.unwatched: set = set()  # running clusters whose kubeconfig context is not there yet
        self.failures: dict = {}  # cluster -> (failures in a row, when to try again, the resync)
        self.settings: Settings | None = None

    def start(self, retry: bool = False) -> int:
        """The first full expose; 0 when it passed and the agent can follow (or was stopped), else 2. With ``retry``
        (the service: at login the engine may still be starting) a failed first expose is tried again with backoff."""
        settings_file = os.path.join(self.state_dir, "settings.json")
        failures = 0
        while True:
            outcome = self.playbooks.run("expose", {"hostreach_kind_watch_settings_file": settings_file})
            if self.stop.is_set():  # SIGINT or SIGTERM during the first expose: it was ended, not failed
                return 0
            if outcome.ok:
                break
            if not retry:
                log(f"expose failed, so the agent does not start: {outcome.detail}")
                return 2
            failures += 1
            self._write_status("the first expose", "FAILED", outcome)
            log(f"the first expose failed: {outcome.detail}; retrying in {backoff(failures):.0f} s (failure {failures} in a row)")
            if self.stop.wait(backoff(failures)):
                return 0
        self.settings = Settings.read(settings_file)
        self._report(ENGINE, "start", "the first expose", outcome, self.settings.clusters)
        threading.Thread(
            target=docker_events, args=(self.settings.docker_host or None, self.settings.connector_name, self.changes.put, self.stop), daemon=True
        ).start()
        for cluster in self.settings.clusters:
            self._follow(cluster)
        return 0

    def _follow(self, cluster: str) -> bool:
        """Start the watches of a cluster's Services, EndpointSlices and Nodes; False while its kubeconfig has no
        context for it (kind writes it last): then it is tried again every second (_retry_unwatched)."""
        settings, stop = self.settings, threading.Event()
        try:
            api = _kube.connect(settings.kubeconfig or None, settings.context or None if len(settings.clusters) == 1 else None, cluster)
        except Exception as exc:  # a kubeconfig without the cluster's context: the resync says what is wrong
            if cluster not in self.unwatched:
                log(f"cannot watch cluster {cluster} yet: {exc}")
            self.unwatched.add(cluster)
            return False
        self.unwatched.discard(cluster)
        follow_cluster(api, cluster, settings.namespaces, settings.label_selector, self.changes.put, _Either(stop, self.stop))
        self.watches[cluster] = stop
        return True

    def _retry_unwatched(self) -> None:
        """A running cluster whose context was missing: once it is there, watch it and expose it."""
        for cluster in sorted(self.unwatched):
            if self._follow(cluster):
                self.debouncer.add(Change(cluster, frozenset({"services"}), f"cluster {cluster} is in the kubeconfig"), time.monotonic())

    def _unfollow(self, cluster: str) -> None:
        self.unwatched.discard(cluster)
        stop = self.watches.pop(cluster, None)
        if stop is not None:
            stop.set()

    def run(self) -> None:
        """Follow until stopped: take Changes, debounce them, resync what is due, and everything every interval."""
        periodic = time.monotonic() + self.interval
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= periodic:
                steps = periodic_steps(self.settings.steps, self.settings.links)
                if steps:
                    self.debouncer.add(Change(ENGINE, frozenset(steps), PERIODIC), now)
                periodic = now + self.interval
            self._retry_unwatched()
            for resync in self.debouncer.take_due(now):
                self._resync(resync)
            for _count, when, resync in list(self.failures.values()):
                if when <= time.monotonic() and not self.stop.is_set():
                    self._resync(resync)
            self._wait(periodic)

    def _wait(self, periodic: float) -> None:
        deadlines = [periodic, self.debouncer.next_due() or periodic] + [held[1] for held in self.failures.values()]
        timeout = max(0.0, min(deadlines) - time.monotonic())
        try:
            change = self.changes.get(timeout=min(timeout, 1.0))
        except queue.Empty:
            return
        if change.cluster == ENGINE or change.cluster in self.watches or self.settings.all or change.cluster in self.settings.clusters:
            log(f"event: {change.why}")
            self.debouncer.add(change, time.monotonic())

    def _resync(self, resync: Resync) -> None:
        """A new Change of a cluster that is backing off is acted on (debounced) at once; its retry then waits longer."""
        if resync.cluster == ENGINE:
            self._resync_engine(resync)
        else:
            self._resync_cluster(resync)

    def _resync_engine(self, resync: Resync) -> None:
        steps = narrowed_steps(resync, self.settings.steps)
        if not steps:
            return
        running = self._running_clusters()
        if self.settings.all:
            came, went = cluster_changes(self.watches, running)
            for cluster in went:
                self._teardown(cluster, resync)
            for cluster in came:
                self._follow(cluster)
        clusters = running if self.settings.all else self.settings.clusters
        steps = steps if clusters else tuple(s for s in steps if s != "services")  # no cluster runs: only the engine's
        if steps:
            self._done(resync, steps, clusters, self.playbooks.run("expose", resync_vars(steps, clusters)))

    def _resync_cluster(self, resync: Resync) -> None:
        cluster = resync.cluster
        steps = narrowed_steps(resync, self.settings.steps)
        if not steps:
            return
        if cluster not in self._running_clusters():
            if cluster in self.watches or cluster in self.rows:
                self._teardown(cluster, resync)
            return
        if cluster not in self.watches:
            self._follow(cluster)
        self._done(resync, steps, [cluster], self.playbooks.run("expose", resync_vars(steps, [cluster])))

    def _teardown(self, cluster: str, resync: Resync) -> None:
        """A cluster of the run went: undo its own steps (records: it cannot be asked), drop its rows, stop watching."""
        self._unfollow(cluster)
        outcome = self.playbooks.run("teardown", resync_vars(["services"], [cluster]))
        self.rows.pop(cluster, None)
        self._report(cluster, "gone", "; ".join(resync.why), outcome, [])
        self._write_summary()

    def _done(self, resync: Resync, steps: tuple, clusters: list, outcome: Outcome) -> None:
        self._report(resync.cluster, ",".join(steps), "; ".join(resync.why), outcome, clusters)
        if outcome.ok:
            self.failures.pop(resync.cluster, None)
            return
        count = self.failures.get(resync.cluster, (0, 0.0, resync))[0] + 1
        delay = backoff(count)
        self.failures[resync.cluster] = (count, time.monotonic() + delay, resync)
        log(f"  retrying in {delay:.0f} s (failure {count} in a row)")

    def _report(self, cluster: str, steps: str, why: str, outcome: Outcome, clusters: list) -> None:
        where = f"cluster {cluster}" if cluster else "engine"
        result = "ok" if outcome.ok else "FAILED"
        log(f"resync {where} [{steps}] after: {why} -> {result}, {outcome.changed} changed, {outcome.seconds:.1f} s")
        if not outcome.ok:
            log(f"  {outcome.detail}")
        if outcome.rows is not None:
            before = summary_rows(self.rows)
            self.rows = merge_rows(self.rows, clusters, summary_file(outcome.rows))
            if summary_rows(self.rows) != before:
                self._write_summary(table=True)
        self._write_status(where, result, outcome)

    def _write_summary(self, table: bool = False) -> None:
        rows = summary_rows(self.rows)
        if self.settings and self.settings.summary_file:
            write_atomically(self.settings.summary_file, json.dumps(rows, indent=4, sort_keys=True) + "\n")
        if table:
            for line in summary_table(rows):
                print(f"  {line}", flush=True)

    def _write_status(self, where: str, result: str, outcome: Outcome) -> None:
        status = {"pid": os.getpid(), "last_resync": time.time(), "last": where, "result": result, "detail": outcome.detail, "clusters": sorted(self.watches)}
        write_atomically(os.path.join(self.state_dir, "status.json"), json.dumps(status, indent=2) + "\n")

    def _running_clusters(self) -> list:
        """The kind clusters with a running node container; while the engine is away, the ones followed (its restart
        brings a resync)."""
        running = running_kind_clusters(self.settings.docker_host or None)
        return sorted(self.watches) if running is None else running

    def end(self, *_: object) -> None:
        self.stop.set()
        self.playbooks.stopping = True
        self.playbooks.end()


class _Either:
    """Set when either event is: a cluster's watches stop when the cluster goes or when the agent stops."""

    def __init__(self, one: threading.Event, other: threading.Event) -> None:
        self.one, self.other = one, other

    def is_set(self) -> bool:
        return self.one.is_set() or self.other.is_set()

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.is_set() and time.monotonic() < deadline:
            self.one.wait(min(0.5, deadline - time.monotonic()))
        return self.is_set()


def main(argv: t.Sequence | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hostreach-kind-watch", description="Keep every kind cluster reachable (issue 20).")
    parser.add_argument("--interval", type=float, default=INTERVAL, help="seconds between the periodic resyncs of everything")
    parser.add_argument("--state-dir", default=_records.directory("watch"), help="the agent's own files")
    parser.add_argument("--retry-start", action="store_true", help="try a failed first expose again, with backoff (the service)")
    parser.add_argument("expose_args", nargs=argparse.REMAINDER, help="after --: ansible-playbook arguments, as for expose")
    args = parser.parse_args(argv)
    user_args = args.expose_args[1:] if args.expose_args[:1] == ["--"] else args.expose_args
    os.makedirs(args.state_dir, exist_ok=True)
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")  # the venv's, beside this Python
    agent = Agent(Playbooks(user_args, args.state_dir, ansible_playbook), args.state_dir, args.interval)
    signal.signal(signal.SIGTERM, agent.end)
    signal.signal(signal.SIGINT, agent.end)
    code = agent.start(retry=args.retry_start)
    if code == 0 and not agent.stop.is_set():
        periodic = periodic_steps(agent.settings.steps, agent.settings.links)
        every = f"every {args.interval:.0f} s the {', '.join(periodic)} step again" if periodic else "every link is followed by its events"
        log(f"following {', '.join(agent.settings.clusters) or 'no cluster yet'}; {every}")
        agent.run()
    log("stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
