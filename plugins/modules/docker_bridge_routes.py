#!/usr/bin/python
# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_bridge_routes
short_description: Keep docker-connector C(route) lines in step with Docker's bridge networks
version_added: 0.1.0
description:
  - Writes one C(route <cidr>) line to the docker-connector configuration file for every IPv4 subnet of the
    selected Docker bridge networks (the default C(bridge) network included), so that macOS can reach
    containers by IP through docker-connector.
  - Manages the lines declaratively, unlike the usual C(docker network inspect ... >> docker-connector.conf)
    one-liner. A route already in the file counts as present however it is written (C(route 172.18.0.1/16),
    extra spaces); repeated lines collapse to one; a line where that one-liner glued a dual-stack network's
    subnets together (C(route 172.18.0.0/16fc00:f853:ccd:e793::/64)) is split into one line per IPv4 subnet.
  - IPv6 subnets are never written (docker-connector routes IPv4 only); they are reported in RV(skipped_subnets).
  - Every line that is not a C(route) line (comments, C(addr), C(port), C(mtu), C(host), C(iptables), C(token),
    C(hosts), C(proxy), C(expose <address>), blank lines) stays byte-for-byte where it is.
  - The file is read, planned and replaced under a lock (a C(.<name>.lock) file next to it), in one atomic
    rename that keeps the file's mode and owner; a missing file is created with mode C(0644).
  - docker-connector may not notice an atomic replace; restart its service after a change
    (C(sudo brew services restart docker-connector)).
  - On Docker Engine 28 and later the engine drops traffic routed straight to containers unless the daemon sets
    C(allow-direct-routing) or the network has C(com.docker.network.bridge.gateway_mode_ipv4=nat-unprotected);
    the module warns about such networks.
author:
  - hostreach.kind contributors (@hostreach)
extends_documentation_fragment:
  - hostreach.kind.docker
options:
  path:
    description:
      - The docker-connector configuration file, usually C($(brew --prefix\)/etc/docker-connector.conf)
        (C(/opt/homebrew/etc/docker-connector.conf) on Apple Silicon, C(/usr/local/etc/docker-connector.conf) on Intel).
    type: path
    required: true
  state:
    description:
      - V(present) writes the route lines of the selected networks and O(extra_routes).
      - V(absent) removes the route lines of the selected networks and O(extra_routes), and no other line.
    type: str
    choices: [present, absent]
    default: present
  networks:
    description:
      - Bridge networks to route, by name, ID or unique ID prefix. Default is every bridge network of the engine.
      - An unknown network fails the task and lists the bridge networks that exist.
    type: list
    elements: str
  exclude:
    description:
      - Bridge networks (name, ID or unique ID prefix) to leave out of the selection.
    type: list
    elements: str
    default: []
  extra_routes:
    description:
      - IPv4 subnets (CIDR) to route besides the networks' subnets, for example a network of another engine.
      - Host bits are allowed (V(10.1.2.3/16) means V(10.1.0.0/16)); anything else that is not an IPv4 CIDR fails
        the task before any change.
    type: list
    elements: str
    default: []
  prune:
    description:
      - With O(state=present), also remove every route line whose subnet belongs to no bridge network of the
        engine any more (for example the network of a deleted kind cluster). O(extra_routes) are never pruned.
    type: bool
    default: false
  expose:
    description:
      - Whether the selected networks' route lines carry docker-connector's C(expose) flag
        (C(route 172.18.0.0/16 expose)), which lets people who connect with docker-accessor reach them.
        docker-connector only accepts the flag after a single space.
      - V(true) adds the flag, V(false) removes it, unset leaves existing lines as they are and writes new lines
        without it.
      - The flag only has an effect together with a top-level C(expose <address>) line, which this module does
        not manage.
    type: bool
  allow_wide_routes:
    description:
      - docker-connector sends every routed subnet into its tunnel, so a subnet that is too wide takes this host's
        own traffic with it. Unless this is V(true), the task fails before any change when a route to be written
        has a prefix shorter than C(/8) (V(0.0.0.0/0) above all), overlaps loopback C(127.0.0.0/8), or contains
        the host's default gateway (read from C(/proc/net/route) on Linux, C(netstat -rn) on macOS).
    type: bool
    default: false
  backup:
    description:
      - Keep a copy of the file as it was before a change, with a timestamp in its name; returned in RV(backup_file).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Computes the same change and diff as a real run and writes nothing.
  diff_mode:
    support: full
    description: The file's text before and after.
notes:
  - Run it as the user that can write O(path); with Homebrew that is usually the user who installed it.
seealso:
  - name: docker-connector
    description: The macOS side of the connector and its configuration format.
    link: https://github.com/wenjunxiao/mac-docker-connector
"""

EXAMPLES = r"""
- name: Route every Docker bridge network through docker-connector
  hostreach.kind.docker_bridge_routes:
    path: /opt/homebrew/etc/docker-connector.conf
  register: routes
  notify: Restart docker-connector

- name: Route only the kind network, drop routes of networks that are gone, keep a backup
  hostreach.kind.docker_bridge_routes:
    path: /usr/local/etc/docker-connector.conf
    networks: [kind]
    prune: true
    backup: true

- name: Remove the kind network's routes
  hostreach.kind.docker_bridge_routes:
    path: /opt/homebrew/etc/docker-connector.conf
    networks: [kind]
    state: absent

- name: Use the Colima engine and an extra route, exposed to docker-accessor users
  hostreach.kind.docker_bridge_routes:
    path: /opt/homebrew/etc/docker-connector.conf
    docker_host: unix:///Users/me/.colima/default/docker.sock
    extra_routes: [10.96.0.0/12]
    expose: true
"""

RETURN = r"""
routes:
  description: The IPv4 subnets that have a route line in the file after the run, in file order.
  returned: always
  type: list
  elements: str
  sample: [172.17.0.0/16, 172.18.0.0/16]
added:
  description: Subnets whose route line was added.
  returned: always
  type: list
  elements: str
  sample: [172.18.0.0/16]
removed:
  description: Subnets whose route lines were removed (O(state=absent) or O(prune)).
  returned: always
  type: list
  elements: str
  sample: [172.19.0.0/16]
repaired:
  description:
    - Route lines rewritten without changing which subnets are routed, with the line number, the line before,
      the lines that replace it and why (glued subnets split, duplicate dropped, C(expose) flag changed).
  returned: always
  type: list
  elements: dict
  sample:
    - line: 4
      before: route 172.18.0.0/16fc00:f853:ccd:e793::/64
      after: [route 172.18.0.0/16]
      reason: glued subnets split into one route line per IPv4 subnet
skipped_subnets:
  description:
    - Subnets not written, with the reason, the network they belong to or the file line they were found on.
    - Not called C(skipped), which Ansible reserves for a skipped task.
  returned: always
  type: list
  elements: dict
  sample:
    - network: kind
      subnet: fc00:f853:ccd:e793::/64
      reason: "IPv6 subnet: docker-connector routes IPv4 only"
networks:
  description: The selected bridge networks, name to subnets (IPv4 and IPv6, in canonical form, so fd00:1::/64 for a network created with fd00:0001::/64).
  returned: success
  type: dict
  sample:
    bridge: [172.17.0.0/16]
    kind: [172.18.0.0/16, fc00:f853:ccd:e793::/64]
engine:
  description:
    - The Docker engine that was asked, its version, and the selected networks it will not let the host route
      to directly (Docker Engine 28+ without C(gateway_mode_ipv4=nat-unprotected); the daemon option
      C(allow-direct-routing) is not visible through the API and also lifts the filter).
  returned: success
  type: dict
  sample:
    host: unix:///var/run/docker.sock
    version: 28.3.1
    direct_routing_filtered: [kind]
path:
  description: The configuration file.
  returned: always
  type: str
  sample: /opt/homebrew/etc/docker-connector.conf
backup_file:
  description: The copy of the file made before the change.
  returned: when O(backup=true) and the file existed and changed
  type: str
  sample: /opt/homebrew/etc/docker-connector.conf.12345.2026-11-25@10:48:21~
"""

import contextlib
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hostreach.kind.plugins.module_utils import _atomic_file as conf_file
from ansible_collections.hostreach.kind.plugins.module_utils import _connector_conf as conf
from ansible_collections.hostreach.kind.plugins.module_utils import _docker, _host_routes, _subnets


def parse_extra_routes(module: AnsibleModule) -> list:
    routes = []
    for text in module.params["extra_routes"]:
        network = _subnets.parse_network(text.strip())
        if network is None or network.version != 4:
            module.fail_json(msg=f"extra_routes: {text!r} is not an IPv4 subnet in CIDR notation (like 10.96.0.0/12); nothing was changed")
        routes.append(network)
    return routes


def refuse_wide_routes(module: AnsibleModule, routes: list) -> None:
    """Fail before any change when a route to be written, (network, where it comes from), would pull this
    host's own traffic into the tunnel."""
    if module.params["allow_wide_routes"] or module.params["state"] != "present":
        return
    gateways = _host_routes.default_gateways(_host_routes.read_routes())
    problems = []
    for network, origin in routes:
        reasons = _subnets.wide_route_reasons(network, gateways)
        if reasons:
            problems.append(f"{network} ({origin}): {', '.join(reasons)}")
    if problems:
        module.fail_json(
            msg="refusing to route traffic that is not for containers into the docker-connector tunnel: {}. Nothing was changed. "
            "Route a narrower subnet, or set allow_wide_routes: true if that is what you want.".format("; ".join(problems))
        )


def match_network(networks: list, ref: str) -> list:
    """Networks named `ref`, else with ID `ref`, else whose ID starts with `ref`."""
    for found in ([n for n in networks if n.name == ref], [n for n in networks if n.id == ref], [n for n in networks if n.id.startswith(ref)]):
        if found:
            return found
    return []


def select_networks(module: AnsibleModule, networks: list) -> list:
    def resolve(ref: str) -> list:
        found = match_network(networks, ref)
        if len(found) > 1:
            module.fail_json(msg="network {!r} is ambiguous: it matches {}; nothing was changed".format(ref, ", ".join(n.name for n in found)))
        return found

    refs = module.params["networks"]
    if refs is None:
        selected = list(networks)
    else:
        selected = []
        for ref in refs:
            found = resolve(ref)
            if not found:
                known = ", ".join(n.name for n in networks) or "(none)"
                module.fail_json(msg=f"network {ref!r} is not a bridge network of the Docker engine; the bridge networks are: {known}; nothing was changed")
            selected.extend(n for n in found if n not in selected)
    excluded = set()
    for ref in module.params["exclude"]:
        found = resolve(ref)
        if not found:
            module.warn(f"exclude: {ref!r} matches no bridge network")
        excluded.update(n.id for n in found)
    return [n for n in selected if n.id not in excluded]


def ipv4_subnets(networks: list) -> list:
    subnets = []
    for net in networks:
        subnets.extend(s for s in (_subnets.parse_network(x) for x in net.subnets) if s is not None and s.version == 4 and s not in subnets)
    return subnets


def network_skips(networks: list) -> list:
    skipped = []
    for net in networks:
        skipped.extend({"network": net.name, "subnet": s, "reason": conf.IPV6_REASON} for s in net.subnets if ":" in s)
        if not ipv4_subnets([net]):
            skipped.append({"network": net.name, "reason": "no IPv4 subnet"})
    return skipped


def gather_networks(module: AnsibleModule) -> tuple:
    """(endpoint, engine version, every bridge network) from the Docker engine."""
    _docker.require_sdk(module)
    try:
        endpoint = _docker.resolve_endpoint(module.params["docker_host"], os.environ, _docker.home_dir())
        client = _docker.connect(endpoint)
        return endpoint, _docker.engine_version(client), _docker.bridge_networks(client)
    except _docker.DockerEndpointError as exc:
        module.fail_json(msg=f"{exc}; nothing was changed")
    except Exception as exc:
        module.fail_json(msg=f"listing the Docker engine's bridge networks failed: {exc}; nothing was changed")


def apply(module: AnsibleModule, wanted: list, unwanted: list, keep: list) -> dict:
    """Read, plan and (unless check mode) write the file, all under its lock."""
    try:
        path = conf_file.write_target(module.params["path"])
    except conf_file.DanglingLink as exc:
        module.fail_json(msg=f"{exc}; nothing was changed", path=module.params["path"])
    problem = conf_file.check_writable_dir(path)
    # Check mode writes nothing, not even the lock file; an unwritable directory cannot hold one either.
    lock = conf_file.locked(path) if not (module.check_mode or problem) else contextlib.nullcontext()
    try:
        with lock:
            before = conf_file.read_text(path)
            planned = conf.plan(conf.parse(before or ""), wanted, unwanted, keep, module.params["expose"])
            changed = planned.text != (before or "") or (before is None and module.params["state"] == "present")
            if changed and problem:
                module.fail_json(msg=f"cannot write {path}: {problem}; nothing was changed", path=path)
            result = dict(changed=changed, added=planned.added, removed=planned.removed, skipped_subnets=planned.skipped)
            if changed and not module.check_mode:
                if before is not None and module.params["backup"]:
                    result["backup_file"] = module.backup_local(path)
                conf_file.atomic_write(path, planned.text)
    except OSError as exc:
        module.fail_json(msg=f"cannot update {path}: {exc}; the file was left as it was", path=path)
    result["routes"] = [str(n) for n in conf.routes(conf.parse(planned.text))]
    result["repaired"] = [dict(r, before=conf_file.for_display(r["before"])) for r in planned.repaired]
    result["diff"] = dict(
        before=conf_file.for_display(before or ""),
        after=conf_file.for_display(planned.text),
        before_header=path if before is not None else "/dev/null",
        after_header=path,
    )
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            networks=dict(type="list", elements="str"),
            exclude=dict(type="list", elements="str", default=[]),
            extra_routes=dict(type="list", elements="str", default=[]),
            prune=dict(type="bool", default=False),
            expose=dict(type="bool"),
            docker_host=dict(type="str"),
            backup=dict(type="bool", default=False),
            allow_wide_routes=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    extra = parse_extra_routes(module)
    refuse_wide_routes(module, [(n, "extra_routes") for n in extra])
    endpoint, version, networks = gather_networks(module)
    selected = select_networks(module, networks)
    subnets = ipv4_subnets(selected)
    present = module.params["state"] == "present"
    wanted = subnets + [n for n in extra if n not in subnets] if present else []
    unwanted = [] if present else subnets + extra
    refuse_wide_routes(module, [(n, f"network {net.name}") for net in selected for n in ipv4_subnets([net])])
    keep = ipv4_subnets(networks) + extra if module.params["prune"] else None
    result = apply(module, wanted, unwanted, keep)
    filtered = _docker.direct_routing_filtered(version, selected)
    if filtered:
        module.warn(
            "Docker Engine {} drops traffic routed straight to containers of {} unless the daemon sets allow-direct-routing "
            "or the network has {}=nat-unprotected; the routes alone will not reach them".format(version, ", ".join(filtered), _docker.GATEWAY_MODE_IPV4)
        )
    result["skipped_subnets"] = network_skips(selected) + result["skipped_subnets"]
    result.update(
        path=module.params["path"],
        networks={n.name: n.subnets for n in selected},
        engine=dict(host=endpoint.host, version=version, direct_routing_filtered=filtered),
    )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
