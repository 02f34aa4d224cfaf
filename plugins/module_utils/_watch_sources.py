# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the watch agent's events come from (issue 20, item 2): Docker's event stream and Kubernetes watches.

Each source is a loop for a daemon thread that hands every Change (_watch_events) to `put` until `stop` is set.
- docker_events: the engine's /events (networks and containers). When the stream ends or the engine stops answering,
  the engine (or the VM it lives in) restarted: once it answers again, engine_restarted() is put and the stream is
  read anew. The endpoint is chosen as every module chooses it (_docker.client_for).
- kube_watch: one resource (services, endpointslices, nodes) of one cluster, one namespace or all: a LIST once for
  the resourceVersion and the objects' fingerprints, then WATCH from there; a watch that ends is resumed from the last
  resourceVersion (bookmarks keep it current), and only a 410 Gone (or a lost connection) lists again, comparing the
  objects with what was seen, so nothing between the two is missed. The connection is made as the modules make it
  (_kube.connect).
"""

from __future__ import annotations

import json
import threading
import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils import _docker, _kube
from ansible_collections.hostreach.kind.plugins.module_utils._errors import DockerError, KubeGone
from ansible_collections.hostreach.kind.plugins.module_utils._watch_events import (
    KIND_CLUSTER_LABEL,
    docker_change,
    engine_restarted,
    kube_change,
    slice_service,
)

ENGINE_RETRY = 1.0  # seconds between tries while the engine does not answer
KUBE_RETRY = 5.0  # seconds between tries while a cluster's API server does not answer
WATCH_SECONDS = 300  # the API server ends a watch after this long; it is resumed at once
GONE = 410


def docker_events(docker_host: str | None, connector_name: str, put: t.Callable, stop: threading.Event) -> None:
    """Docker's events as Changes, for as long as `stop` is not set."""
    answered = True
    while not stop.is_set():
        try:
            client = _docker.client_for(docker_host)[1]
        except DockerError:
            answered = False
            stop.wait(ENGINE_RETRY)
            continue
        if not answered:
            put(engine_restarted())
        answered = True
        try:
            for event in client.events(decode=True, filters={"type": ["network", "container"]}):
                change = docker_change(event, connector_name)
                if change is not None:
                    put(change)
        except Exception:  # the SDK and requests raise many types when the engine goes away mid-stream
            pass
        answered = False  # the stream ended: the engine went away (or restarted)


class KubeWatch(t.NamedTuple):
    cluster: str
    resource: str  # services, endpointslices, nodes
    namespace: str | None  # None: every namespace (nodes: cluster-scoped)
    label_selector: str  # services only


def _query(watch: KubeWatch) -> dict:
    return {"labelSelector": watch.label_selector} if watch.label_selector and watch.resource == "services" else {}


def _list(api: _kube.KubeApi, watch: KubeWatch) -> tuple:
    """(the resourceVersion of a LIST, {uid: object})."""
    body = json.loads(api.request("list", watch.resource, watch.namespace, query=_query(watch)).data)
    return body["metadata"]["resourceVersion"], {i["metadata"]["uid"]: i for i in body.get("items") or []}


def _events(api: _kube.KubeApi, watch: KubeWatch, version: str) -> t.Iterator:
    """The watch events (decoded) from `version` until the API server ends the watch."""
    query = {**_query(watch), "watch": "true", "resourceVersion": version, "allowWatchBookmarks": "true", "timeoutSeconds": WATCH_SECONDS}
    response = api.request("watch", watch.resource, watch.namespace, query=query, stream=True, read_timeout=WATCH_SECONDS + 30)
    try:
        for line in response:
            if line.strip():
                yield json.loads(line)
    finally:
        response.release_conn()


class _Seen:
    """The fingerprints of one watch's objects, and the Services the EndpointSlices are read for."""

    def __init__(self, watch: KubeWatch, selected: set) -> None:
        self.watch, self.selected, self.prints = watch, selected, {}

    def event(self, event_type: str, obj: dict, put: t.Callable) -> None:
        uid = obj["metadata"]["uid"]
        name = f"{obj['metadata'].get('namespace')}/{obj['metadata'].get('name')}"
        if self.watch.resource == "services":
            (self.selected.discard if event_type == "DELETED" else self.selected.add)(name)
        elif self.watch.resource == "endpointslices" and slice_service(obj) not in self.selected:
            return
        change, self.prints[uid] = kube_change(self.watch.cluster, self.watch.resource, event_type, obj, self.prints.get(uid))
        if self.prints[uid] is None:
            del self.prints[uid]
        if change is not None:
            put(change)

    def relisted(self, objects: dict, put: t.Callable, first: bool) -> None:
        """A LIST: on the first, only remember; later, what changed since the watch broke is a Change."""
        for uid in set(self.prints) - set(objects):
            gone = {"metadata": {"uid": uid, "name": uid}}
            self.event("DELETED", gone, put if not first else _ignore)
        for obj in objects.values():
            self.event("MODIFIED" if obj["metadata"]["uid"] in self.prints else "ADDED", obj, _ignore if first else put)


def _ignore(_change: object) -> None:
    return None


def kube_watch(api: _kube.KubeApi, watch: KubeWatch, selected: set, put: t.Callable, stop: threading.Event) -> None:
    """One resource of one cluster as Changes, until `stop` is set. `selected` is shared by a cluster's watches: the
    Services watch fills it, the EndpointSlices watch reads only the slices of those Services."""
    seen, version, first = _Seen(watch, selected), None, True
    while not stop.is_set():
        try:
            if version is None:
                version, objects = _list(api, watch)
                seen.relisted(objects, put, first)
                first = False
            for event in _events(api, watch, version):
                if stop.is_set():
                    return
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    version = None if obj.get("code") == GONE else version
                    break
                version = (obj.get("metadata") or {}).get("resourceVersion") or version
                if event.get("type") != "BOOKMARK":
                    seen.event(event["type"], obj, put)
        except Exception as exc:  # the SDK, urllib3 and json raise many types when an API server goes away
            # 410 Gone: the resourceVersion is too old; list again at once. Anything else: the cluster may be gone or
            # restarting; list again after a while (the agent stops this watch when the cluster goes).
            version = None
            if not isinstance(exc, KubeGone):
                stop.wait(KUBE_RETRY)


def follow_cluster(api: _kube.KubeApi, cluster: str, namespaces: t.Sequence, label_selector: str, put: t.Callable, stop: t.Any) -> None:
    """Watch a cluster's Nodes, and its Services and EndpointSlices in ``namespaces`` (empty: every namespace), one
    thread each, until ``stop`` (an Event, or anything with is_set and wait) is set."""
    selected: set = set()
    watches = [KubeWatch(cluster, "nodes", None, "")]
    watches += [KubeWatch(cluster, r, ns, label_selector) for ns in (list(namespaces) or [None]) for r in ("services", "endpointslices")]
    for watch in watches:
        threading.Thread(target=kube_watch, args=(api, watch, selected, put, stop), daemon=True).start()


def running_kind_clusters(docker_host: str | None) -> list | None:
    """The kind clusters with a running node container on the engine (as hostreach_kind_clusters: all finds them); None
    while the engine does not answer: that says nothing of the clusters (the engine's restart is an event)."""
    try:
        client = _docker.client_for(docker_host or None)[1]
        containers = client.containers(filters={"label": KIND_CLUSTER_LABEL, "status": "running"})
    except Exception:  # the SDK and requests raise many types when the engine is away
        return None
    return sorted({c["Labels"][KIND_CLUSTER_LABEL] for c in containers})
