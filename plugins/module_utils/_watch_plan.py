# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""When the watch agent acts and on what (issue 20, item 3). Pure: time comes in as numbers.

- Debouncer: a burst of Changes (creating a cluster emits dozens) becomes one resync per cluster, due once the
  cluster has been quiet for `quiet` seconds, or `longest` seconds after its first Change, whichever comes first.
- backoff(): a failing resync is retried after 1 s, 2 s, 4 s ... up to 30 s, never faster, never slower.
- periodic_steps(): what the periodic check redoes (only what no event reports).
- resync_vars(): the variables that narrow expose.yml (or teardown.yml) to one cluster's, or the engine's, steps.
- merge_rows(): the summary file's rows: the last rows of every cluster, in one order, with the rows of the clusters a
  run covered replaced by what it found.
"""

from __future__ import annotations

import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils._watch_events import ENGINE, Change

QUIET = 0.25  # seconds without a Change before a cluster's resync is due (a Service and its EndpointSlice come ms apart)
LONGEST = 3.0  # at most this long after the first Change
BACKOFF_FIRST = 1.0
BACKOFF_CEILING = 30.0
STEP_ORDER = ("connector", "container", "services")


class Resync(t.NamedTuple):
    cluster: str  # ENGINE or a cluster name
    steps: tuple  # in expose's order
    why: tuple  # the Changes' lines, first seen first, each once


class _Pending(t.NamedTuple):
    steps: frozenset
    why: tuple
    first: float
    last: float


class Debouncer:
    def __init__(self, quiet: float = QUIET, longest: float = LONGEST) -> None:
        self.quiet, self.longest = quiet, longest
        self._pending: dict = {}

    def add(self, change: Change, now: float) -> None:
        held = self._pending.get(change.cluster)
        if held is None:
            self._pending[change.cluster] = _Pending(change.steps, (change.why,), now, now)
            return
        why = held.why if change.why in held.why else (*held.why, change.why)
        self._pending[change.cluster] = _Pending(held.steps | change.steps, why, held.first, now)

    def _due_at(self, held: _Pending) -> float:
        return min(held.last + self.quiet, held.first + self.longest)

    def next_due(self) -> float | None:
        """When the next resync is due (None: nothing is pending)."""
        return min((self._due_at(h) for h in self._pending.values()), default=None)

    def take_due(self, now: float) -> list:
        """The resyncs due at `now`, the engine's first (its steps come before any cluster's), removed from pending."""
        due = sorted((c for c, h in self._pending.items() if self._due_at(h) <= now), key=lambda c: (c != ENGINE, c))
        return [self._resync(cluster, self._pending.pop(cluster)) for cluster in due]

    @staticmethod
    def _resync(cluster: str, held: _Pending) -> Resync:
        return Resync(cluster, tuple(s for s in STEP_ORDER if s in held.steps), held.why)


# The links whose state no event reports (the VM's firewall and routes, the host's routes and route lines, the
# resolver), by the step that sets them up: the periodic check redoes those steps only.
UNEVENTED = {"connector": ("docker_connector",), "container": ("connector_container",), "services": ("cluster_routes", "cluster_dns")}


def periodic_steps(steps: t.Sequence, links: t.Sequence) -> tuple:
    """The steps the periodic check redoes: those of the run that set up a link no event reports on. None for a run
    whose every link is watched (Linux, direct mode, reach nodeport: the NodePorts live in the cluster)."""
    return tuple(s for s in STEP_ORDER if s in steps and any(link in links for link in UNEVENTED[s]))


def backoff(failures: int, first: float = BACKOFF_FIRST, ceiling: float = BACKOFF_CEILING) -> float:
    """Seconds to wait before the next try after `failures` failures in a row (1 -> first, doubling, at most ceiling)."""
    return min(ceiling, first * 2 ** max(failures - 1, 0))


def narrowed_steps(resync: Resync, run_steps: t.Sequence) -> tuple:
    """The resync's steps that the user's run has (expose with steps [services] never touches the connector)."""
    return tuple(s for s in resync.steps if s in run_steps)


def resync_vars(steps: t.Sequence, clusters: t.Sequence) -> dict:
    """Extra variables, given after the user's own, that narrow a run to these steps and, when it has the services
    step, these clusters (never an empty list: that would mean hostreach_kind_cluster's one cluster). The run writes no
    summary file: it would hold its clusters' rows only, and the agent keeps that file with every cluster's."""
    if "services" in steps and not clusters:
        raise ValueError("a run of the services step needs at least one cluster")
    narrowed = {"hostreach_kind_steps": list(steps), "hostreach_kind_summary_file": ""}
    return {**narrowed, **({"hostreach_kind_clusters": list(clusters)} if "services" in steps else {})}


def cluster_changes(known: t.Iterable, running: t.Iterable) -> tuple:
    """(clusters that came, clusters that went), each sorted."""
    known, running = set(known), set(running)
    return sorted(running - known), sorted(known - running)


def merge_rows(rows: t.Mapping, covered: t.Iterable, found: t.Sequence) -> dict:
    """Rows by cluster after a run that covered `covered` and found the summary rows `found`: a covered cluster's rows
    are replaced (by none when the run found none), the others stay."""
    merged = {cluster: list(r) for cluster, r in rows.items()}
    for cluster in covered:
        merged[cluster] = [row for row in found if row.get("cluster") == cluster]
    return merged


def summary_rows(rows: t.Mapping) -> list:
    """The summary file's list: every cluster's rows, clusters by name, each cluster's rows in the order its run gave."""
    return [row for cluster in sorted(rows) for row in rows[cluster]]
