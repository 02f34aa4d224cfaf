# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes SDK import guard, the shared connection options, kubeconfig and context resolution, and the
few API calls the modules make, with every failure turned into a KubeError whose message says what to do.

Resolution order: the ``kubeconfig`` option, then ``K8S_AUTH_KUBECONFIG`` (as kubernetes.core),
then ``KUBECONFIG`` (a path list, as kubectl), then ``~/.kube/config``; the ``context`` option,
else ``kind-<cluster>`` (the context ``kind create cluster`` writes). Documented once, in
doc_fragments/_kube.py, beside KUBE_COMMON_ARGS here.
"""

from __future__ import annotations

import json
import os
import traceback

from ansible_collections.hostreach.kind.plugins.module_utils._errors import KubeConflict, KubeError, KubeForbidden, KubeNotFound, require_library

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


def require_sdk() -> None:
    require_library("kubernetes", KUBERNETES_IMPORT_ERROR)


def kubeconfig_candidates(kubeconfig: str | None, environ=None, home: str | None = None) -> tuple:
    """(paths, where they came from) following the resolution order."""
    environ = os.environ if environ is None else environ
    if kubeconfig:
        return [os.path.expanduser(kubeconfig)], "the kubeconfig option"
    for variable in ("K8S_AUTH_KUBECONFIG", "KUBECONFIG"):
        if environ.get(variable):
            return [os.path.expanduser(p) for p in environ[variable].split(os.pathsep) if p], "$" + variable
    home = home or os.path.expanduser("~")
    return [os.path.join(home, ".kube", "config")], "the default location"


def find_kubeconfig(kubeconfig: str | None, environ=None, home: str | None = None) -> str:
    """The kubeconfig file(s) to load, joined by os.pathsep as the SDK's merger expects."""
    paths, source = kubeconfig_candidates(kubeconfig, environ, home)
    existing = [p for p in paths if os.path.isfile(p)]
    if not existing:
        raise KubeError(
            f"no kubeconfig found: looked at {', '.join(paths)} ({source}). Create the cluster (kind create cluster --name <cluster>), "
            "or point the kubeconfig option or $KUBECONFIG at an existing file."
        )
    return os.pathsep.join(existing)


def context_name(context: str | None, cluster: str) -> str:
    return context or f"kind-{cluster}"


def connect(kubeconfig: str | None, context: str | None, cluster: str) -> KubeApi:
    """An API handle for the resolved kubeconfig and context; no request is made yet."""
    path = find_kubeconfig(kubeconfig)
    name = context_name(context, cluster)
    try:
        contexts, _active = k8s_config.list_kube_config_contexts(config_file=path)
    except (k8s_config.ConfigException, OSError, ValueError, YAMLError) as exc:
        raise KubeError(f"cannot read kubeconfig {path}: {exc}") from None
    names = sorted(c["name"] for c in contexts or [])
    if name not in names:
        hint = "the context option" if context else f"cluster {cluster!r} (context kind-<cluster>); set cluster or context"
        raise KubeError(f"kubeconfig {path} has no context {name!r} (from {hint}). Its contexts: {', '.join(names) or 'none'}")
    configuration = k8s_client.Configuration()
    try:
        k8s_config.load_kube_config(config_file=path, context=name, client_configuration=configuration, persist_config=False)
    except (k8s_config.ConfigException, OSError, ValueError) as exc:
        raise KubeError(f"cannot load context {name!r} from kubeconfig {path}: {exc}") from None
    configuration.retries = CONNECT_RETRIES
    configuration.connection_pool_maxsize = max(configuration.connection_pool_maxsize or 0, CONCURRENT_REQUESTS)
    return KubeApi(k8s_client.ApiClient(configuration), name)


def _status_message(exc) -> str:
    try:
        return json.loads(exc.body)["message"]
    except (TypeError, ValueError, KeyError):
        return f"{exc.status} {exc.reason}"


class KubeApi:
    """The Core v1 calls kind_nodeport makes. Responses come back as plain dicts (the JSON the
    apiserver sent, camelCase), which is what the planner reads."""

    def __init__(self, api_client, context: str) -> None:
        self.core = k8s_client.CoreV1Api(api_client)
        self.context = context
        self.server = api_client.configuration.host

    def _call(self, verb: str, resource: str, namespace: str | None, method, *args, **kwargs) -> dict:
        where = f" in namespace {namespace}" if namespace else " (all namespaces)" if verb == "list" and resource != "nodes" else ""
        try:
            response = method(*args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        except ApiException as exc:
            message = _status_message(exc)
            if exc.status == 403:
                raise KubeForbidden(
                    f"forbidden: the user of context {self.context} may not {verb} {resource}{where}. "
                    f"Grant it (RBAC) or use another context. API server said: {message}"
                ) from None
            if exc.status == 401:
                raise KubeError(f"unauthorized: the API server {self.server} rejected the credentials of context {self.context}: {message}") from None
            error = {404: KubeNotFound, 409: KubeConflict}.get(exc.status, KubeError)
            raise error(f"{verb} {resource}{where} failed (HTTP {exc.status}): {message}") from None
        except Urllib3HTTPError as exc:
            raise KubeError(
                f"cannot reach the Kubernetes API server {self.server} (context {self.context}): {exc}. Is the cluster running (kind get clusters)?"
            ) from None
        return json.loads(response.data)

    def list_services(self, namespace: str | None, label_selector: str | None = None) -> list:
        selector = {"label_selector": label_selector} if label_selector else {}
        if namespace is None:
            body = self._call("list", "services", None, self.core.list_service_for_all_namespaces, **selector)
        else:
            body = self._call("list", "services", namespace, self.core.list_namespaced_service, namespace, **selector)
        return body["items"]

    def read_service(self, namespace: str, name: str) -> dict:
        return self._call("get", "services", namespace, self.core.read_namespaced_service, name, namespace)

    def patch_service(self, namespace: str, name: str, patch: list, dry_run: bool) -> dict:
        extra = {"dry_run": "All"} if dry_run else {}
        return self._call("patch", "services", namespace, self.core.patch_namespaced_service, name, namespace, patch, _content_type=JSON_PATCH, **extra)

    def kubeadm_cluster_configuration(self) -> dict | None:
        """The ClusterConfiguration of a kubeadm cluster (kind is one), from kube-system/kubeadm-config;
        None when there is none or it may not be read."""
        try:
            config_map = self._call("get", "configmaps", "kube-system", self.core.read_namespaced_config_map, "kubeadm-config", "kube-system")
        except (KubeForbidden, KubeNotFound):
            return None
        try:
            parsed = safe_load((config_map.get("data") or {}).get("ClusterConfiguration") or "")
        except YAMLError:
            return None
        return parsed if isinstance(parsed, dict) else None

    def list_nodes(self) -> list:
        return self._call("list", "nodes", None, self.core.list_node)["items"]
