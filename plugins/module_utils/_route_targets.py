# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where kind_cluster_routes puts a cluster's routes: this host's table (Linux), or docker-connector's config and the
Docker VM's table (macOS). Each target reads what is there, says which routes are this cluster's and whose the others
are, and applies a plan; the plan itself is _cluster_routes'.

Every route goes into a command as words made from ipaddress objects (`route_words`), and into the VM's shell script
quoted (shlex.quote): a value read from the cluster or the VM that is not an IPv4 network or address never reaches
`ip` or the shell.
"""

from __future__ import annotations

import ipaddress
import shlex
import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils import _config_file, _connector_conf, _connector_file, _docker, _host_routes, _vm_tools
from ansible_collections.hostreach.kind.plugins.module_utils._errors import HostreachError, RouteError
from ansible_collections.hostreach.kind.plugins.module_utils._host_routes import PROTO

KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster"
VM_PURPOSE = "vm-routes"


def kind_cluster_of(docker_host: str | None, address: str) -> str | None:
    """The kind cluster whose node container has `address` (best effort: None when Docker cannot say)."""
    try:
        _endpoint, client = _docker.client_for(docker_host)
        for container in client.containers(filters={"label": KIND_CLUSTER_LABEL}):
            networks = ((container.get("NetworkSettings") or {}).get("Networks") or {}).values()
            if any(n.get("IPAddress") == address for n in networks):
                return container["Labels"][KIND_CLUSTER_LABEL]
    except HostreachError:
        return None
    return None


def route_words(verb: str, cidr: t.Any, via: t.Any) -> list:
    """`ip route <verb> <cidr> via <via>` as words, rebuilt from ipaddress objects; RouteError for anything else."""
    try:
        network, address = ipaddress.IPv4Network(str(cidr)), ipaddress.IPv4Address(str(via))
    except ValueError as exc:
        raise RouteError(f"refusing to route {str(cidr)!r} via {str(via)!r}: {exc}; nothing was changed") from None
    return ["ip", "route", verb, str(network), "via", str(address)]


def host_commands(add: list, remove: list) -> list:
    """The `ip route` argument lists that take this host's table from before to after: removals first, every route
    marked `proto 119` (the only routes HostTable ever removes)."""
    commands = [route_words("del", c, v) for c, v in remove] + [route_words("replace", c, v) for c, v in add]
    return [[*words, "proto", PROTO] for words in commands]


def vm_script(remove: list, add: list) -> str:
    """The shell script that removes and adds (cidr, via) routes inside the Docker VM, every word quoted; "" for none."""
    lines = [" ".join(shlex.quote(w) for w in route_words("del", c, v)) for c, v in remove]
    lines += [" ".join(shlex.quote(w) for w in route_words("replace", c, v)) for c, v in add]
    return "set -e\n" + "\n".join(lines) + "\n" if lines else ""


class Target(t.Protocol):
    def read(self, wanted: list) -> tuple: ...
    def is_ours(self, route: _host_routes.Route) -> bool: ...
    def owner_of(self, route: _host_routes.Route) -> str | None: ...
    def apply(self, wanted: list, add: list, remove: list) -> None: ...


def in_record(found: list, recorded: set | None) -> list:
    """The (cidr, via) routes of `found` that are in `recorded` (a gone cluster's record, see _records); all of them
    when there is no record to go by (the cluster answered)."""
    return found if recorded is None else [(c, v) for c, v in found if (c, v) in recorded]


class HostTable:
    """This host's main table, through iproute2's `ip` (Linux); this module's routes carry `proto 119`. `recorded`: the
    cluster is gone, and its routes are exactly those of its record that are in place."""

    def __init__(self, module: t.Any, cluster: str, nodes: list, recorded: set | None = None) -> None:
        self.module, self.cluster, self.recorded = module, cluster, recorded
        self.node_ips = {n.ip for n in nodes if n.ip}

    def _ip(self, *args: str) -> str:
        rc, out, err = self.module.run_command(["ip", *args])
        if rc != 0:
            raise RouteError(f"`ip {' '.join(args)}` failed: {(err or out).strip()}; changing this host's routes needs root (become: true)")
        return out

    def read(self, wanted: list) -> tuple:
        """(every route of the main table, this cluster's routes in place as (cidr, via))."""
        self.module.get_bin_path("ip", required=True)
        routes = _host_routes.parse_ip_json(self._ip("-j", "route", "show", "table", "main"))
        cidrs = {r.cidr for r in wanted}
        # Only a route via a node is one this module made: a gateway-less proto 119 route is someone else's (a conflict).
        mine = [r for r in routes if r.protocol == PROTO and r.gateway and (r.network in cidrs or r.gateway in self.node_ips)]
        return routes, in_record([(r.network, r.gateway) for r in mine], self.recorded)

    def is_ours(self, route: _host_routes.Route) -> bool:
        return route.protocol == PROTO and route.gateway in self.node_ips

    def owner_of(self, route: _host_routes.Route) -> str | None:
        if route.protocol != PROTO or not route.gateway:
            return None
        return kind_cluster_of(self.module.params.get("docker_host"), route.gateway) or f"another kind cluster (its node {route.gateway})"

    def apply(self, wanted: list, add: list, remove: list) -> None:
        for words in host_commands(add, remove):
            self._ip(*words[1:])


class Connector:
    """docker-connector's config (route lines marked with the cluster's name) and the Docker VM's table (reached with a
    host-network NET_ADMIN container). A route is in place when both are: the line takes the Mac's traffic into the
    tunnel, the VM's route carries it on to the node. `recorded`: the cluster is gone; its lines are still marked with
    its name, its VM routes are those of its record."""

    def __init__(self, module: t.Any, cluster: str, nodes: list, path: str, recorded: set | None = None) -> None:
        self.module, self.cluster, self.path, self.recorded = module, cluster, path, recorded
        self.node_ips = {n.ip for n in nodes if n.ip}
        self.target = _config_file.write_target(path)
        self.client = None
        self.lines: list = []

    def _vm(self, script: str) -> str:
        """The output of `script` run inside the Docker VM (the engine and the image are made ready on first use)."""
        image = self.module.params["image"]
        if self.client is None:
            self.client = _docker.client_for(self.module.params["docker_host"])[1]
            _vm_tools.ensure_image(self.client, image, self.module.params["pull"])
        return _vm_tools.run_script(self.client, image, script, VM_PURPOSE)

    def read(self, wanted: list) -> tuple:
        """(the host's routes and the other clusters' lines as routes, this cluster's routes in place). A route is in
        place with state=present when the file has its line and the VM its route; with absent, when either has it."""
        self.lines = _connector_conf.parse(_config_file.read_text(self.target) or "")
        self.gateway = _connector_conf.tunnel_gateway(self.lines)
        self.lined = {n for line in self.lines if line.owner == self.cluster for n in line.ipv4}
        cidrs = {r.cidr for r in wanted} | self.lined
        vm = [(r.network, r.gateway) for r in _host_routes.parse_ip_text(self._vm("ip route show")) if r.network in cidrs and r.gateway in self.node_ips]
        self.vm_routes = vm = in_record(vm, self.recorded)
        others = [
            _host_routes.Route(n, None, "docker-connector config", f"cluster:{line.owner}")
            for line in self.lines
            if line.owner and line.owner != self.cluster
            for n in line.ipv4
        ]
        if self.module.params["state"] == "present":
            current = [(c, v) for c, v in vm if c in self.lined]
        else:
            routed = {c for c, _v in vm}
            current = vm + [(c, self.gateway) for c in self.lined if c not in routed]
        return _host_routes.read_routes() + others, current

    def is_ours(self, route: _host_routes.Route) -> bool:
        """A route of this cluster: its line's route into the tunnel, or (where the Mac and the VM share one table, as in
        a simulation) its route on to a node."""
        through = route.gateway in (self.gateway, *self.node_ips) or route.protocol == f"cluster:{self.cluster}"
        return route.network in self.lined and through

    def owner_of(self, route: _host_routes.Route) -> str | None:
        if (route.protocol or "").startswith("cluster:"):
            return route.protocol.split(":", 1)[1]
        owners = {line.owner for line in self.lines if line.owner and route.network in line.ipv4}
        return sorted(owners)[0] if owners and route.gateway == self.gateway else None

    def apply(self, wanted: list, add: list, remove: list) -> None:
        """The file gets exactly the wanted lines of this cluster (none with absent); the VM the wanted routes it lacks,
        and loses this cluster's others."""
        present = self.module.params["state"] == "present"
        keep = [r.cidr for r in wanted] if present else []
        want = {(r.cidr, r.via) for r in wanted} if present else set()
        script = vm_script([(c, v) for c, v in self.vm_routes if (c, v) not in want], sorted(want - set(self.vm_routes), key=str))
        routes = _connector_file.Routes(keep, [c for c in self.lined if c not in keep], keep)
        _connector_file.update(self.module, self.target, routes, owner=self.cluster, create=False)
        if script:
            self._vm(script)
