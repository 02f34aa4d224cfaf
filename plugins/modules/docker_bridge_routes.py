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
  - "Every route line the module adds ends in the comment C(# hostreach.kind bridge) (docker-connector reads the
    subnet and the C(expose) flag before it and ignores the rest). Only such marked lines are ever removed
    (O(state=absent), O(prune)); a route line without the mark is the user's and stays, also when it routes a selected
    network's subnet (it then counts as present and no marked line is added). Lines written by earlier versions
    carry no mark and are kept too: remove them by hand once."
  - docker-connector appends any UDP datagram that begins with byte C(0x01) to this file and reloads it, and every
    local container reaches its port through C(host.docker.internal). With O(state=present) the module therefore
    removes every line that makes docker-connector listen beyond 127.0.0.1 or lets others into its tunnel
    (C(host) other than a loopback address, C(expose <address>), C(token)), naming each in a warning and in
    RV(refused_lines), unless O(allow_tunnel_exposure=true).
  - The value of a C(token) line (a docker-accessor secret) is shown as C(********) in the diff, in RV(repaired),
    RV(refused_lines) and in warnings; the file keeps it.
  - Every line that is not a C(route) line (comments, C(addr), C(port), C(mtu), C(host), C(iptables), C(token),
    C(hosts), C(proxy), C(expose <address>), blank lines) stays byte-for-byte where it is.
  - The file is read, planned and replaced under a lock (on the folder that holds it, opened read-only, so no lock
    file is left behind and a run as root never blocks a later run as the user), in one atomic rename that keeps
    the file's mode, owner and SELinux context (M(ansible.builtin.copy)'s C(atomic_move)); a missing file is created
    with mode C(0644) unless O(mode) says otherwise. Temp files a killed run left next to the file are removed.
  - When O(path) is a symbolic link, the file it leads to is written and the link stays; a dangling link fails
    the task naming its target. A file this user cannot replace without changing its owner fails the task,
    in check mode too, saying what to do.
  - docker-connector may not notice an atomic replace; restart its service after a change
    (C(sudo brew services restart docker-connector)).
  - On Docker Engine 28 and later the engine drops traffic routed straight to containers unless the daemon sets
    C(allow-direct-routing) or the network has C(com.docker.network.bridge.gateway_mode_ipv4=nat-unprotected);
    the module warns about such networks.
author:
  - hostreach.kind contributors (@hostreach)
extends_documentation_fragment:
  - hostreach.kind._docker
  - hostreach.kind._attributes
  - hostreach.kind._attributes.actiongroup_hostreach
  - ansible.builtin.files
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
      - V(absent) removes the route lines of the selected networks and O(extra_routes) that this module added (those
        those that carry its mark), and no other line.
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
        engine any more (for example the network of a deleted kind cluster). O(extra_routes) are never pruned, nor are
        the user's unmarked route lines.
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
        not write and, unless O(allow_tunnel_exposure=true), removes. V(true) is the opt-in for the flag only, the
        flag opens nothing by itself.
    type: bool
  allow_wide_routes:
    description:
      - docker-connector sends every routed subnet into its tunnel, so a subnet that is too wide takes this host's
        own traffic with it. Unless this is V(true), the task fails before any change when a route to be written
        has a prefix shorter than C(/8) (V(0.0.0.0/0) above all, and the default route's halves V(0.0.0.0/1) and
        V(128.0.0.0/1)), overlaps loopback C(127.0.0.0/8), or contains the host's default gateway (read from
        C(/proc/net/route) on Linux, C(netstat -rn) on macOS).
      - Refused the same way - a subnet that overlaps C(0.0.0.0/8), link-local C(169.254.0.0/16), multicast
        C(224.0.0.0/4) or reserved C(240.0.0.0/4) (broadcast C(255.255.255.255) included); a subnet that is not
        private (not inside C(10.0.0.0/8), C(172.16.0.0/12), C(192.168.0.0/16) or the shared address space
        C(100.64.0.0/10)); and a subnet that overlaps a directly connected network of this host (its LAN, say) - a
        route with no gateway on a device that is not the tunnel (C(utun*)), a Docker bridge (C(docker0), C(br-*))
        or loopback (nor an unreachable or blackhole route). M(hostreach.kind.kind_cluster_routes) applies the same
        rule to a cluster's ranges.
    type: bool
    default: false
  allow_tunnel_exposure:
    description:
      - Keep the lines that make docker-connector listen beyond 127.0.0.1 or let docker-accessor clients into its
        tunnel (C(host) other than loopback, C(expose <address>), C(token)). Any local container can append such a
        line through docker-connector's UDP port, so by default O(state=present) removes them (in check mode it
        reports what it would remove). With V(true) they are kept and a warning still names each one.
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
    details:
      - Computes the same change and diff as a real run and writes nothing; it fails where a real run would (a file
        this user cannot replace keeping its owner, a directory it cannot write).
  diff_mode:
    support: full
    details:
      - The file's text before and after, the value of C(token) lines shown as C(********).
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
refused_lines:
  description:
    - Lines removed (in check mode, that would be removed) because they make docker-connector listen beyond 127.0.0.1
      or let others into its tunnel, with the line number, the line (a C(token) value masked) and why. Empty with
      O(allow_tunnel_exposure=true) or O(state=absent).
  returned: always
  type: list
  elements: dict
  sample:
    - line: 7
      text: expose 0.0.0.0:2512
      reason: "`expose` opens a listener that lets docker-accessor clients into the tunnel"
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
stale_host_routes:
  description:
    - Subnets this host still routes through the tunnel (via the address of the file's C(addr) line, C(192.168.251.1)
      by default) that the file no longer has. docker-connector drops a removed route only when it reloads its config,
      and an atomic replace of the file (how every Ansible module writes) is not seen by its file watch, so these stay
      until the daemon restarts; the C(docker_connector) role restarts it when this is not empty.
  returned: success
  type: list
  elements: str
  sample: [172.19.0.0/16]
removed_temp_files:
  description: Temp files of this module that a killed earlier run left next to the file, removed by this run.
  returned: when there were any
  type: list
  elements: str
  sample: [/opt/homebrew/etc/.docker-connector.conf.k2j3h4.tmp]
backup_file:
  description: The copy of the file made before the change.
  returned: when O(backup=true) and the file existed and changed
  type: str
  sample: /opt/homebrew/etc/docker-connector.conf.12345.2026-11-25@10:48:21~
"""


import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hostreach.kind.plugins.module_utils import _config_file, _connector_conf, _connector_file, _docker, _host_routes, _subnets
from ansible_collections.hostreach.kind.plugins.module_utils._errors import DockerError, HostreachError, InputError, failure


class Engine(t.NamedTuple):
    endpoint: _docker.Endpoint
    version: str
    networks: list  # every bridge network, _docker.BridgeNetwork


def argument_spec() -> dict:
    """AnsibleModule's keyword arguments."""
    return dict(
        argument_spec=dict(
            _docker.DOCKER_COMMON_ARGS,
            path=dict(type="path", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            networks=dict(type="list", elements="str"),
            exclude=dict(type="list", elements="str", default=[]),
            extra_routes=dict(type="list", elements="str", default=[]),
            prune=dict(type="bool", default=False),
            expose=dict(type="bool"),
            backup=dict(type="bool", default=False),
            allow_wide_routes=dict(type="bool", default=False),
            allow_tunnel_exposure=dict(type="bool", default=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )


# Gather


def parse_extra_routes(texts: list) -> list:
    routes = []
    for text in texts:
        network = _subnets.parse_network(text.strip())
        if network is None or network.version != 4:
            raise InputError(f"extra_routes: {text!r} is not an IPv4 subnet in CIDR notation (like 10.96.0.0/12); nothing was changed")
        routes.append(network)
    return routes


def gather_engine(docker_host: str | None) -> Engine:
    """The endpoint, version and every bridge network of the Docker engine."""
    endpoint, client = _docker.client_for(docker_host)
    try:
        return Engine(endpoint, _docker.engine_version(client), _docker.bridge_networks(client))
    except Exception as exc:  # the SDK raises many unrelated types
        raise DockerError(f"listing the bridge networks of the Docker engine at {endpoint.host} failed: {exc}; nothing was changed") from exc


# Plan (pure)


def refuse_wide_routes(routes: list, host_routes: list) -> None:
    """Fail before any change when a route to be written, (network, where it comes from), would pull this
    host's own traffic into the tunnel (_subnets.route_refusals, with this host's routes)."""
    problems = _subnets.refusal_problems(routes, host_routes)
    if problems:
        raise InputError(
            "refusing to route traffic that is not for containers into the docker-connector tunnel: {}. Nothing was changed. "
            "Route a narrower, private subnet clear of this host's own networks, or set allow_wide_routes: true if that is what you want.".format(
                "; ".join(problems)
            )
        )


def match_network(networks: list, ref: str) -> list:
    """Networks named `ref`, else with ID `ref`, else whose ID starts with `ref`."""
    for found in ([n for n in networks if n.name == ref], [n for n in networks if n.id == ref], [n for n in networks if n.id.startswith(ref)]):
        if found:
            return found
    return []


def _resolve(networks: list, ref: str) -> list:
    found = match_network(networks, ref)
    if len(found) > 1:
        raise InputError("network {!r} is ambiguous: it matches {}; nothing was changed".format(ref, ", ".join(n.name for n in found)))
    return found


def select_networks(networks: list, refs: list | None, exclude: list) -> tuple:
    """(the selected networks, warnings): `refs` (every network when None) less `exclude`."""
    selected = list(networks) if refs is None else []
    for ref in refs or []:
        found = _resolve(networks, ref)
        if not found:
            known = ", ".join(n.name for n in networks) or "(none)"
            raise InputError(f"network {ref!r} is not a bridge network of the Docker engine; the bridge networks are: {known}; nothing was changed")
        selected.extend(n for n in found if n not in selected)
    excluded, warnings = set(), []
    for ref in exclude:
        found = _resolve(networks, ref)
        if not found:
            warnings.append(f"exclude: {ref!r} matches no bridge network")
        excluded.update(n.id for n in found)
    return [n for n in selected if n.id not in excluded], warnings


def ipv4_subnets(networks: list) -> list:
    subnets = []
    for net in networks:
        subnets.extend(s for s in (_subnets.parse_network(x) for x in net.subnets) if s is not None and s.version == 4 and s not in subnets)
    return subnets


def network_skips(networks: list) -> list:
    skipped = []
    for net in networks:
        skipped.extend({"network": net.name, "subnet": s, "reason": _connector_conf.IPV6_REASON} for s in net.subnets if ":" in s)
        if not ipv4_subnets([net]):
            skipped.append({"network": net.name, "reason": "no IPv4 subnet"})
    return skipped


def routes_for(state: str, prune: bool, selected: list, every: list, extra: list) -> _connector_file.Routes:
    subnets = ipv4_subnets(selected)
    if state == "absent":
        return _connector_file.Routes([], subnets + extra, None)
    return _connector_file.Routes(subnets + [n for n in extra if n not in subnets], [], ipv4_subnets(every) + extra if prune else None)


def direct_routing_warning(engine: Engine, selected: list) -> list:
    filtered = _docker.direct_routing_filtered(engine.version, selected)
    if not filtered:
        return []
    return [
        f"Docker Engine {engine.version} drops traffic routed straight to containers of {', '.join(filtered)} unless the daemon sets "
        f"allow-direct-routing or the network has {_docker.GATEWAY_MODE_IPV4}=nat-unprotected; the routes alone will not reach them"
    ]


def exposure_warnings(path: str, planned: _connector_conf.Plan, check_mode: bool) -> list:
    """A warning for each line removed because it widens what docker-connector exposes, and each such line kept."""
    removed = "would remove" if check_mode else "removed"
    warnings = [
        f"{removed} line {r['line']} of {path}, {shown(r['text'])!r}: {r['reason']}; any local container can append such a line "
        "through docker-connector's UDP port. Set allow_tunnel_exposure: true to keep it"
        for r in planned.refused
    ]
    kept = [(n, line) for n, line in enumerate(_connector_conf.parse(planned.text), start=1) if _connector_conf.exposure(line)]
    warnings.extend(
        f"line {n} of {path}, {shown(line.text)!r}: {_connector_conf.exposure(line)}: the tunnel is exposed (allow_tunnel_exposure: true)" for n, line in kept
    )
    return warnings


# Apply: _connector_file.update (read, plan, write under the file's lock). Report


def shown(text: str) -> str:
    """Config text for results, diffs and warnings: token values masked, valid UTF-8."""
    return _config_file.for_display(_connector_conf.masked(text))


def report(module: AnsibleModule, target: str, engine: Engine, selected: list, outcome: _connector_file.Outcome, host_routes: list) -> dict:
    planned = outcome.planned
    lines = _connector_conf.parse(planned.text)
    routes = _connector_conf.routes(lines)
    result = dict(
        outcome.extra,
        changed=outcome.changed,
        path=module.params["path"],
        routes=[str(n) for n in routes],
        stale_host_routes=_connector_conf.stale_host_routes(host_routes, _connector_conf.tunnel_gateway(lines), routes),
        added=planned.added,
        removed=planned.removed,
        repaired=[dict(r, before=shown(r["before"])) for r in planned.repaired],
        refused_lines=[dict(r, text=_config_file.for_display(r["text"])) for r in planned.refused],
        skipped_subnets=network_skips(selected) + planned.skipped,
        networks={n.name: n.subnets for n in selected},
        engine=dict(host=engine.endpoint.host, version=engine.version, direct_routing_filtered=_docker.direct_routing_filtered(engine.version, selected)),
    )
    if module._diff:
        result["diff"] = dict(
            before=shown(outcome.before or ""),
            after=shown(planned.text),
            before_header=target if outcome.before is not None else "/dev/null",
            after_header=target,
        )
    return result


def run(module: AnsibleModule) -> dict:
    params = module.params
    target = _config_file.write_target(params["path"])
    extra = parse_extra_routes(params["extra_routes"])
    check_wide = params["state"] == "present" and not params["allow_wide_routes"]
    host_routes = _host_routes.read_routes()
    if check_wide:
        refuse_wide_routes([(n, "extra_routes") for n in extra], host_routes)
    engine = gather_engine(params["docker_host"])
    selected, warnings = select_networks(engine.networks, params["networks"], params["exclude"])
    if check_wide:
        refuse_wide_routes([(n, f"network {net.name}") for net in selected for n in ipv4_subnets([net])], host_routes)
    routes = routes_for(params["state"], params["prune"], selected, engine.networks, extra)
    refuse = params["state"] == "present" and not params["allow_tunnel_exposure"]
    outcome = _connector_file.update(module, target, routes, create=params["state"] == "present", refuse_exposure=refuse)
    if params["state"] == "present":
        warnings += exposure_warnings(params["path"], outcome.planned, module.check_mode)
    for warning in warnings + direct_routing_warning(engine, selected):
        module.warn(warning)
    return report(module, target, engine, selected, outcome, host_routes)


def main() -> None:
    module = AnsibleModule(**argument_spec())
    try:
        module.exit_json(**run(module))
    except HostreachError as exc:
        module.fail_json(**failure(exc))


if __name__ == "__main__":
    main()
