# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes SDK import guard, the shared connection options, and the API calls the modules make, with
every failure turned into a KubeError whose message says what to do. Which kubeconfig and context: _kubeconfig.
The options are documented once, in doc_fragments/_kube.py, beside KUBE_COMMON_ARGS here.

The SDK loads the kubeconfig and holds the connection (TLS, client certificates, token refresh, proxy, retries); the
requests are made here, through its urllib3 pool, from resource_path(). The SDK's generated API classes are not used:
in kubernetes 37 importing CoreV1Api builds some 300 pydantic models first, 0.65 s of every module run that needs
none of them (the modules read the JSON the apiserver sends). The SDK's ApiClient, Configuration and urllib3 pool are
the same across its versions, so this works with the SDK a laptop's venv already has.
"""

from __future__ import annotations

import json
import os
import traceback
import typing as t
from urllib.parse import quote, urlencode

from ansible_collections.hostreach.kind.plugins.module_utils import _kubeconfig
from ansible_collections.hostreach.kind.plugins.module_utils._errors import (
    KubeConflict,
    KubeError,
    KubeForbidden,
    KubeGone,
    KubeNotFound,
    KubeUnreachable,
    require_library,
)

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from urllib3 import Timeout
    from urllib3.exceptions import HTTPError as Urllib3HTTPError
    from yaml import YAMLError, safe_load
except ImportError:
    KUBERNETES_IMPORT_ERROR: str | None = traceback.format_exc()
    Urllib3HTTPError = YAMLError = None
else:
    KUBERNETES_IMPORT_ERROR = None

# The options every module that talks to a cluster takes (documented in doc_fragments/_kube.py).
KUBE_COMMON_ARGS = {
    "cluster": {"type": "str", "default": "kind"},
    "kubeconfig": {"type": "path"},
    "context": {"type": "str"},
}

# Connect and read timeouts (seconds) of every request; urllib3 retries a failed connect twice.
REQUEST_TIMEOUT = (5, 30)
CONNECT_RETRIES = 2
# Requests kind_nodeport keeps in flight at once (one per Service); the connection pool holds as many.
CONCURRENT_REQUESTS = 8
JSON_PATCH = "application/json-patch+json"
# Where each resource the modules read is served (the API group's path); the ones without a namespace.
API_PATHS = {
    "services": "/api/v1",
    "configmaps": "/api/v1",
    "nodes": "/api/v1",
    "namespaces": "/api/v1",
    "endpointslices": "/apis/discovery.k8s.io/v1",
    "servicecidrs": "/apis/networking.k8s.io/v1",
}
CLUSTER_SCOPED = ("nodes", "namespaces", "servicecidrs")
# Longest apiserver message passed on as it is.
MESSAGE_LIMIT = 300


def require_sdk() -> None:
    require_library("kubernetes", KUBERNETES_IMPORT_ERROR)


def connect(kubeconfig: str | None, context: str | None, cluster: str) -> KubeApi:
    """An API handle for the resolved kubeconfig and context; no request is made yet."""
    paths = _kubeconfig.find_kubeconfig(kubeconfig)
    name = _kubeconfig.choose_context(paths, context, cluster)
    configuration = k8s_client.Configuration()
    try:
        k8s_config.load_kube_config(config_file=os.pathsep.join(paths), context=name, client_configuration=configuration, persist_config=False)
    except (k8s_config.ConfigException, OSError, ValueError, TypeError, KeyError) as exc:
        raise KubeError(f"cannot load context {name!r} from kubeconfig {', '.join(paths)}: {exc}") from None
    configuration.retries = CONNECT_RETRIES
    configuration.connection_pool_maxsize = max(configuration.connection_pool_maxsize or 0, CONCURRENT_REQUESTS)
    return KubeApi(k8s_client.ApiClient(configuration), name)


def resource_path(resource: str, namespace: str | None = None, name: str | None = None) -> str:
    """The URL path of a resource's collection (in a namespace, or all of them) or of one object. The namespace and
    name are quoted whole: what a cluster or a user gave never adds a path segment or a query."""
    where = f"/namespaces/{quote(namespace, safe='')}" if namespace is not None else ""
    return f"{API_PATHS[resource]}{where}/{resource}" + (f"/{quote(name, safe='')}" if name is not None else "")


def _where(verb: str, resource: str, namespace: str | None) -> str:
    """Where a request was about, for its messages."""
    return f" in namespace {namespace}" if namespace else " (all namespaces)" if verb == "list" and resource not in CLUSTER_SCOPED else ""


def _status_message(status: int, reason: str, body: bytes) -> str:
    """The apiserver's own message, cut short: a 422 can carry the whole object."""
    try:
        message = json.loads(body)["message"]
        if not isinstance(message, str):
            raise TypeError(message)
    except (TypeError, ValueError, KeyError):
        message = f"{status} {reason}"
    return message if len(message) <= MESSAGE_LIMIT else message[:MESSAGE_LIMIT] + f"... ({len(message)} characters)"


def _api_error(response: t.Any, verb: str, resource: str, where: str, context: str, server: str) -> KubeError:
    """The KubeError for an HTTP error answer (status, reason, data), with a summary that leaves out the object's name."""
    status, reason = response.status, response.reason
    message = _status_message(status, reason, response.data)
    if status == 403:
        summary = f"forbidden: the user of context {context} may not {verb} {resource}{where}. Grant it (RBAC) or use another context"
        return KubeForbidden(f"{summary}. API server said: {message}", summary=summary)
    if status == 401:
        return KubeError(f"unauthorized: the API server {server} rejected the credentials of context {context}: {message}")
    error = {404: KubeNotFound, 409: KubeConflict, 410: KubeGone}.get(status, KubeError)
    return error(f"{verb} {resource}{where} failed (HTTP {status}): {message}", summary=f"{verb} {resource}{where} failed (HTTP {status} {reason})")


def _decoded(data: bytes, verb: str, resource: str, where: str, server: str) -> dict:
    """The JSON object an answer holds, or a KubeError saying the server is not speaking Kubernetes."""
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise KubeError(
            f"the API server {server} answered {verb} {resource}{where} with {len(data)} bytes that are not a JSON object "
            f"(starting {data[:60]!r}): is {server} a Kubernetes API server? Check the kubeconfig's server URL."
        )
    return body


class KubeApi:
    """The API calls the modules make (and the watch agent's LIST and WATCH). Responses come back as plain dicts (the
    JSON the apiserver sent, camelCase), which is what the planners read."""

    def __init__(self, api_client: t.Any, context: str) -> None:
        self.api_client = api_client
        self.context = context
        self.server = api_client.configuration.host

    def _headers(self, patch: bool) -> dict:
        """The SDK's own headers (User-Agent) and its credentials (a token, refreshed by the SDK where it expires)."""
        auth = self.api_client.configuration.auth_settings().values()
        headers = {**self.api_client.default_headers, "Accept": "application/json"}
        headers.update({a["key"]: a["value"] for a in auth if a.get("in") == "header" and a.get("value")})
        return {**headers, "Content-Type": JSON_PATCH} if patch else headers

    def request(
        self,
        verb: str,
        resource: str,
        namespace: str | None,
        name: str | None = None,
        *,
        query: dict | None = None,
        patch: list | None = None,
        stream: bool = False,
        read_timeout: float = REQUEST_TIMEOUT[1],
    ) -> t.Any:
        """The urllib3 response to one request, or the KubeError its failure means: a GET, or with ``patch`` a JSON
        patch; with ``stream`` (a watch) the response is not read yet and ``read_timeout`` bounds each read."""
        where = _where(verb, resource, namespace)
        url = self.server + resource_path(resource, namespace, name) + (f"?{urlencode(query)}" if query else "")
        timeout = Timeout(connect=REQUEST_TIMEOUT[0], read=read_timeout)
        body = json.dumps(patch) if patch is not None else None
        try:
            response = self.api_client.rest_client.pool_manager.request(
                "PATCH" if patch is not None else "GET", url, headers=self._headers(patch is not None), body=body, timeout=timeout, preload_content=not stream
            )
        except Urllib3HTTPError as exc:
            summary = f"cannot reach the Kubernetes API server {self.server} (context {self.context}). Is the cluster running (kind get clusters)?"
            raise KubeUnreachable(f"{summary} {verb} {resource}{where}: {exc}", summary=summary) from None
        if not 200 <= response.status <= 299:
            response.read(cache_content=True)  # a watch's answer is not read yet; keep its body for the message
            raise _api_error(response, verb, resource, where, self.context, self.server)
        return response

    def _call(self, verb: str, resource: str, namespace: str | None, name: str | None = None, **options: t.Any) -> dict:
        response = self.request(verb, resource, namespace, name, **options)
        return _decoded(response.data, verb, resource, _where(verb, resource, namespace), self.server)

    def _items(self, body: dict, resource: str) -> list:
        """The objects of a LIST answer, each a mapping with metadata.name, or a KubeError saying what came instead."""
        items = body.get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance((i.get("metadata") or {}).get("name"), str) for i in items):
            raise KubeError(
                f"the API server {self.server} answered a LIST of {resource} without a list of named objects in 'items': is it a Kubernetes API server?"
            )
        return items

    def list_services(self, namespace: str | None, label_selector: str | None = None) -> list:
        query = {"labelSelector": label_selector} if label_selector else {}
        return self._items(self._call("list", "services", namespace, query=query), "services")

    def read_service(self, namespace: str, name: str) -> dict:
        return self._call("get", "services", namespace, name)

    def patch_service(self, namespace: str, name: str, patch: list, dry_run: bool) -> dict:
        return self._call("patch", "services", namespace, name, patch=patch, query={"dryRun": "All"} if dry_run else {})

    def config_map_yaml(self, namespace: str, name: str, key: str) -> dict | None:
        """The YAML mapping under `key` of a ConfigMap; None when there is none, it may not be read, or it is no mapping."""
        try:
            config_map = self._call("get", "configmaps", namespace, name)
        except (KubeForbidden, KubeNotFound):
            return None
        try:
            parsed = safe_load((config_map.get("data") or {}).get(key) or "")
        except YAMLError:
            return None
        return parsed if isinstance(parsed, dict) else None

    def kubeadm_cluster_configuration(self) -> dict | None:
        """The ClusterConfiguration of a kubeadm cluster (kind is one), from kube-system/kubeadm-config."""
        return self.config_map_yaml("kube-system", "kubeadm-config", "ClusterConfiguration")

    def kubelet_configuration(self) -> dict | None:
        """The KubeletConfiguration kubeadm shares with every node, from kube-system/kubelet-config."""
        return self.config_map_yaml("kube-system", "kubelet-config", "kubelet")

    def list_service_cidrs(self) -> list | None:
        """The ServiceCIDR objects (networking.k8s.io/v1, GA in Kubernetes 1.33); None where the API does not serve them
        or this user may not list them."""
        try:
            return self._items(self._call("list", "servicecidrs", None), "servicecidrs")
        except (KubeNotFound, KubeForbidden):
            return None

    def list_nodes(self) -> list:
        return self._items(self._call("list", "nodes", None), "nodes")

    def list_endpoint_slices(self, namespace: str | None) -> list:
        return self._items(self._call("list", "endpointslices", namespace), "endpointslices")

    def namespace_exists(self, namespace: str) -> bool:
        """Whether the namespace exists; True when this user may not ask (nothing to say then)."""
        try:
            self._call("get", "namespaces", None, namespace)
        except KubeNotFound:
            return False
        except KubeForbidden:
            return True
        return True
