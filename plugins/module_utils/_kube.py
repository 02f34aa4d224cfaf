# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes SDK import guard, the shared connection options, and the API calls the modules make, with
every failure turned into a KubeError whose message says what to do. Which kubeconfig and context: _kubeconfig.
The options are documented once, in doc_fragments/_kube.py, beside KUBE_COMMON_ARGS here.
"""

from __future__ import annotations

import json
import os
import traceback

from ansible_collections.hostreach.kind.plugins.module_utils import _kubeconfig
from ansible_collections.hostreach.kind.plugins.module_utils._errors import (
    KubeConflict,
    KubeError,
    KubeForbidden,
    KubeNotFound,
    KubeUnreachable,
    require_library,
)

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError as Urllib3HTTPError
    from yaml import YAMLError, safe_load
except ImportError:
    KUBERNETES_IMPORT_ERROR: str | None = traceback.format_exc()
    ApiException = Urllib3HTTPError = YAMLError = None
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


def _status_message(exc) -> str:
    """The apiserver's own message, cut short: a 422 can carry the whole object."""
    try:
        message = json.loads(exc.body)["message"]
    except (TypeError, ValueError, KeyError):
        message = f"{exc.status} {exc.reason}"
    return message if len(message) <= MESSAGE_LIMIT else message[:MESSAGE_LIMIT] + f"... ({len(message)} characters)"


def _api_error(exc, verb: str, resource: str, where: str, context: str, server: str) -> KubeError:
    """The KubeError for an HTTP error answer, with a summary that leaves out the object's name."""
    message = _status_message(exc)
    if exc.status == 403:
        summary = f"forbidden: the user of context {context} may not {verb} {resource}{where}. Grant it (RBAC) or use another context"
        return KubeForbidden(f"{summary}. API server said: {message}", summary=summary)
    if exc.status == 401:
        return KubeError(f"unauthorized: the API server {server} rejected the credentials of context {context}: {message}")
    error = {404: KubeNotFound, 409: KubeConflict}.get(exc.status, KubeError)
    return error(f"{verb} {resource}{where} failed (HTTP {exc.status}): {message}", summary=f"{verb} {resource}{where} failed (HTTP {exc.status} {exc.reason})")


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
    """The Core v1 calls kind_nodeport makes. Responses come back as plain dicts (the JSON the
    apiserver sent, camelCase), which is what the planner reads."""

    def __init__(self, api_client, context: str) -> None:
        self.core = k8s_client.CoreV1Api(api_client)
        self.discovery = k8s_client.DiscoveryV1Api(api_client)
        self.networking = k8s_client.NetworkingV1Api(api_client)
        self.context = context
        self.server = api_client.configuration.host

    def _call(self, verb: str, resource: str, namespace: str | None, method, *args, **kwargs) -> dict:
        cluster_scoped = resource in ("nodes", "namespaces", "servicecidrs")
        where = f" in namespace {namespace}" if namespace else " (all namespaces)" if verb == "list" and not cluster_scoped else ""
        try:
            response = method(*args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        except ApiException as exc:
            raise _api_error(exc, verb, resource, where, self.context, self.server) from None
        except Urllib3HTTPError as exc:
            summary = f"cannot reach the Kubernetes API server {self.server} (context {self.context}). Is the cluster running (kind get clusters)?"
            raise KubeUnreachable(f"{summary} {verb} {resource}{where}: {exc}", summary=summary) from None
        return _decoded(response.data, verb, resource, where, self.server)

    def _items(self, body: dict, resource: str) -> list:
        """The objects of a LIST answer, each a mapping with metadata.name, or a KubeError saying what came instead."""
        items = body.get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance((i.get("metadata") or {}).get("name"), str) for i in items):
            raise KubeError(
                f"the API server {self.server} answered a LIST of {resource} without a list of named objects in 'items': is it a Kubernetes API server?"
            )
        return items

    def list_services(self, namespace: str | None, label_selector: str | None = None) -> list:
        selector = {"label_selector": label_selector} if label_selector else {}
        if namespace is None:
            body = self._call("list", "services", None, self.core.list_service_for_all_namespaces, **selector)
        else:
            body = self._call("list", "services", namespace, self.core.list_namespaced_service, namespace, **selector)
        return self._items(body, "services")

    def read_service(self, namespace: str, name: str) -> dict:
        return self._call("get", "services", namespace, self.core.read_namespaced_service, name, namespace)

    def patch_service(self, namespace: str, name: str, patch: list, dry_run: bool) -> dict:
        extra = {"dry_run": "All"} if dry_run else {}
        return self._call("patch", "services", namespace, self.core.patch_namespaced_service, name, namespace, patch, _content_type=JSON_PATCH, **extra)

    def config_map_yaml(self, namespace: str, name: str, key: str) -> dict | None:
        """The YAML mapping under `key` of a ConfigMap; None when there is none, it may not be read, or it is no mapping."""
        try:
            config_map = self._call("get", "configmaps", namespace, self.core.read_namespaced_config_map, name, namespace)
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
            return self._items(self._call("list", "servicecidrs", None, self.networking.list_service_cidr), "servicecidrs")
        except (KubeNotFound, KubeForbidden):
            return None

    def list_nodes(self) -> list:
        return self._items(self._call("list", "nodes", None, self.core.list_node), "nodes")

    def list_endpoint_slices(self, namespace: str | None) -> list:
        if namespace is None:
            body = self._call("list", "endpointslices", None, self.discovery.list_endpoint_slice_for_all_namespaces)
        else:
            body = self._call("list", "endpointslices", namespace, self.discovery.list_namespaced_endpoint_slice, namespace)
        return self._items(body, "endpointslices")

    def namespace_exists(self, namespace: str) -> bool:
        """Whether the namespace exists; True when this user may not ask (nothing to say then)."""
        try:
            self._call("get", "namespaces", None, self.core.read_namespace, namespace)
        except KubeNotFound:
            return False
        except KubeForbidden:
            return True
        return True
