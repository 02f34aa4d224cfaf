# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker SDK import guard, the shared `docker_host` option, endpoint resolution and the bridge networks of an engine.

Endpoint order, as the docker CLI does it: the `docker_host` parameter, then `DOCKER_HOST`, then the
CLI's current context (`DOCKER_CONTEXT`, else `currentContext` in ~/.docker/config.json, whose endpoint
is in ~/.docker/contexts/meta/<sha256(name)>/meta.json), then the first known socket that exists.
Documented once, in doc_fragments/_docker.py, beside DOCKER_COMMON_ARGS here.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import traceback
import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils._errors import DockerError, require_library
from ansible_collections.hostreach.kind.plugins.module_utils._subnets import canonical_subnet

try:
    import docker
except ImportError:
    DOCKER_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    DOCKER_IMPORT_ERROR = None

# The options every module that talks to a Docker engine takes (documented in doc_fragments/_docker.py).
DOCKER_COMMON_ARGS = {"docker_host": {"type": "str"}}

# Known sockets, in the order they are tried; `~` is the user's home.
KNOWN_SOCKETS = (
    ("Docker Desktop", "~/.docker/run/docker.sock"),
    ("Colima", "~/.colima/default/docker.sock"),
    ("OrbStack", "~/.orbstack/run/docker.sock"),
    ("Rancher Desktop", "~/.rd/docker.sock"),
    ("Docker Engine", "/var/run/docker.sock"),
)
GATEWAY_MODE_IPV4 = "com.docker.network.bridge.gateway_mode_ipv4"
# Docker Engine 28+ drops packets routed straight to a container unless the network opts out.
DIRECT_ROUTING_FILTER_SINCE = 28
DIRECT_ROUTING_OPEN_MODES = ("nat-unprotected",)


class Endpoint(t.NamedTuple):
    host: str  # e.g. unix:///var/run/docker.sock, tcp://127.0.0.1:2375
    source: str  # how it was chosen, for messages


def require_sdk() -> None:
    require_library("docker", DOCKER_IMPORT_ERROR, reason="to talk to the Docker engine")


def home_dir() -> str:
    """The home of the user the module runs as: HOME, else the password database."""
    return os.environ.get("HOME") or pwd.getpwuid(os.getuid()).pw_dir


def _read_json(path: str) -> t.Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def context_meta_path(home: str, name: str) -> str:
    return os.path.join(home, ".docker", "contexts", "meta", hashlib.sha256(name.encode("utf-8")).hexdigest(), "meta.json")


def _context_endpoint(env: t.Mapping, home: str, exists: t.Callable, read_json: t.Callable) -> Endpoint | None:
    name = env.get("DOCKER_CONTEXT")
    source = "DOCKER_CONTEXT"
    config = os.path.join(home, ".docker", "config.json")
    if not name and exists(config):
        try:
            name = read_json(config).get("currentContext")
        except (OSError, ValueError, AttributeError) as exc:
            raise DockerError(f"cannot read the docker CLI config {config}: {exc}") from exc
        source = f"currentContext in {config}"
    if not name or name == "default":
        return None
    meta = context_meta_path(home, name)
    try:
        host = read_json(meta)["Endpoints"]["docker"]["Host"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DockerError(f"docker context {name!r} (from {source}) has no usable endpoint in {meta}: {exc}") from exc
    return Endpoint(host, f"docker context {name!r} (from {source})")


def resolve_endpoint(
    param: t.Optional[str],
    env: t.Mapping,
    home: str,
    exists: t.Callable = os.path.exists,
    read_json: t.Callable = _read_json,
) -> Endpoint:
    """The endpoint to use, from the parameter, the environment, the CLI context or the known sockets."""
    if param:
        return Endpoint(param, "parameter docker_host")
    if env.get("DOCKER_HOST"):
        return Endpoint(env["DOCKER_HOST"], "environment variable DOCKER_HOST")
    context = _context_endpoint(env, home, exists, read_json)
    if context is not None:
        return context
    tried = []
    for name, pattern in KNOWN_SOCKETS:
        path = os.path.join(home, pattern[2:]) if pattern.startswith("~/") else pattern
        if exists(path):
            return Endpoint("unix://" + path, f"{name} socket")
        tried.append(f"unix://{path} ({name})")
    raise DockerError(
        "no Docker engine found: docker_host is not set, DOCKER_HOST is not set, no docker CLI context is selected, "
        "and none of these sockets exists: {}. Start Docker or set docker_host.".format(", ".join(tried))
    )


def connect(endpoint: Endpoint, timeout: int = 10) -> t.Any:
    """An API client that has answered a ping, or DockerError naming the endpoint."""
    try:
        client = docker.APIClient(base_url=endpoint.host, version="auto", timeout=timeout)
        client.ping()
    except Exception as exc:  # the SDK raises many unrelated types for "nobody answers"
        raise DockerError(f"cannot reach the Docker engine at {endpoint.host} (chosen by {endpoint.source}): {exc}") from exc
    return client


def client_for(docker_host: str | None) -> tuple:
    """(the endpoint chosen for `docker_host` as the docker CLI would choose it, a client that has answered)."""
    require_sdk()
    endpoint = resolve_endpoint(docker_host, os.environ, home_dir())
    return endpoint, connect(endpoint)


class BridgeNetwork(t.NamedTuple):
    name: str
    id: str
    subnets: list  # strings in canonical form, IPAM order, IPv4 and IPv6
    gateway_mode_ipv4: t.Optional[str]


def bridge_networks(client: t.Any) -> list:
    """Every bridge network of the engine, sorted by name."""
    found = []
    for net in client.networks(filters={"driver": ["bridge"]}):
        configs = (net.get("IPAM") or {}).get("Config") or []
        subnets = [canonical_subnet(c["Subnet"]) for c in configs if c.get("Subnet")]
        found.append(BridgeNetwork(net["Name"], net["Id"], subnets, (net.get("Options") or {}).get(GATEWAY_MODE_IPV4)))
    return sorted(found, key=lambda n: n.name)


def engine_version(client: t.Any) -> str:
    return client.version().get("Version", "")


def direct_routing_filtered(version: str, networks: list) -> list:
    """Names of the networks whose containers the engine does not let the host route to (Docker 28+)."""
    try:
        major = int(version.split(".", 1)[0])
    except ValueError:
        return []
    if major < DIRECT_ROUTING_FILTER_SINCE:
        return []
    return [n.name for n in networks if n.gateway_mode_ipv4 not in DIRECT_ROUTING_OPEN_MODES]
