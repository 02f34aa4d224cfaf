#!/usr/bin/python
# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kind_cluster_routes
short_description: Route a kind cluster's Service and Pod ranges through its nodes, so ClusterIPs and Pod IPs open from the host
version_added: 0.2.0
description:
  - Sends the cluster's Service range through a control-plane node (C(<service CIDR> via <node IP>)) and each node's
    Pod range through that node (C(<pod CIDR> via <node IP>)), so C(http://<clusterIP>:<port>) and C(http://<pod IP>:<port>)
    open from the developer's machine and no Service is changed. kube-proxy on the node translates a ClusterIP to a
    pod wherever that runs; a node delivers to its own pods.
  - The Service range comes from the C(networking.k8s.io/v1) ServiceCIDR objects where the apiserver serves them,
    else from C(networking.serviceSubnet) of C(kube-system/kubeadm-config); the Pod ranges and node IPs from the Node
    objects (C(spec.podCIDRs), the IPv4 C(InternalIP)).
  - O(target=host) (Linux, where the host reaches kind's network itself) puts the routes in this host's main table
    with C(ip route replace ... proto 119) and reads them with C(ip -j route show). The command of iproute2 is used
    rather than a Python netlink library because it is on every Linux machine, needs nothing installed on the target,
    and marks the routes with their own protocol number, so O(state=absent) removes exactly these and no route someone
    else added. Changing the table needs root; reading it and the cluster does not. With O(apply=false) the module
    runs as the user, reads and plans, and returns the C(ip route) commands in RV(commands) for a task with C(become)
    to run (the role M(hostreach.kind.cluster_routes) does so), so neither the module's interpreter nor the
    kubeconfig's C(exec) credential plugin ever runs as root.
  - O(target=connector) (macOS with docker-connector) writes the ranges as C(route) lines of docker-connector's config
    (O(connector_config)), marked C(# hostreach.kind cluster <name>) so that M(hostreach.kind.docker_bridge_routes)
    never prunes them, and puts the routes that carry them on from the Docker VM to the nodes inside the VM (through a
    short-lived host-network NET_ADMIN container of O(image), as M(hostreach.kind.docker_vm_firewall) does). A route
    line alone gives a timeout; with the VM's route it answers. Restart docker-connector after a change of the file.
  - Refused before any change (with the route and the fix named) - a range that overlaps a route the host already has
    (a VPN's or the LAN's, which routing it to the node would cut off), a range that holds the gateway of the host's
    default route, and a range another kind cluster already has routed (kind gives every cluster 10.244.0.0/16 and
    10.96.0.0/16 unless its config says otherwise).
  - The ranges and node addresses are read from the cluster, so they are checked as input. Unless
    O(allow_wide_routes=true), every range (Service ranges and each node's Pod ranges) is refused before any change,
    naming the range, the node and the reasons, when it is wider than C(/12) (the apiserver itself refuses an IPv4
    Service range wider than that; the default route's halves C(0.0.0.0/1) and C(128.0.0.0/1) with it), overlaps
    loopback, C(0.0.0.0/8), link-local C(169.254.0.0/16), multicast C(224.0.0.0/4) or reserved C(240.0.0.0/4)
    (broadcast C(255.255.255.255) included), is not private (not inside C(10.0.0.0/8), C(172.16.0.0/12),
    C(192.168.0.0/16) or the shared address space C(100.64.0.0/10)), contains the host's default gateway, or overlaps
    a directly connected network of the host (a route with no gateway on a device that is not the tunnel C(utun*), a
    Docker bridge C(docker0)/C(br-*) or loopback). This is the rule of
    M(hostreach.kind.docker_bridge_routes)' O(hostreach.kind.docker_bridge_routes#module:allow_wide_routes).
  - The routes are recorded for O(state=absent) to find once the cluster is gone - a host route says only C(proto 119),
    a route inside the VM nothing, of whose it is - in C($XDG_STATE_HOME/hostreach-kind/routes/<cluster>.json)
    (C(~/.local/state/hostreach-kind/routes/<cluster>.json) when unset) of the user the module runs as - a JSON object
    with C(cluster) and C(routes), each C({cidr, via, role, node}), written atomically when O(state=present) has planned,
    before the change (not in check mode), and removed by O(state=absent). The record is the module's own bookkeeping, and
    its write is not a change C(changed) reports.
  - Once the cluster is gone - C(kind delete cluster) removes its context, so its context is not in the kubeconfig, or
    there is no kubeconfig at all - O(state=absent) asks nothing of it and removes the routes of the record that are in
    place (exactly those, each C(<cidr> via <node>)), and with O(target=connector) the route lines marked with the
    cluster's name and the VM's routes of the record; RV(cluster_gone) says so. A route another cluster's record names too
    is left, with a warning (a cluster made since took it over). Without a record (routes made by an earlier version of
    the collection) nothing is removed. O(state=present) fails on a missing context as before, and a cluster that
    answers is handled as always.
  - A node whose C(InternalIP) is not an IPv4 unicast address (not an IP address at all, IPv6 only, loopback,
    link-local, multicast, reserved) is skipped with a warning naming the node, and so is a C(spec.podCIDRs) entry
    that is not a CIDR; such a value is never written to a route, a file or the VM's script.
author:
  - hostreach.kind contributors (@hostreach)
extends_documentation_fragment:
  - hostreach.kind._kube
  - hostreach.kind._docker
  - hostreach.kind._attributes
  - hostreach.kind._attributes.actiongroup_hostreach
options:
  state:
    description:
      - V(present) puts in the routes the cluster needs and removes this cluster's that it no longer needs.
      - V(absent) removes every route this module made for the cluster, and nothing else; for a cluster that is gone, the
        routes of its record (see the description).
    type: str
    choices: [present, absent]
    default: present
  target:
    description:
      - V(host) routes in this host's table (Linux). V(connector) writes docker-connector's config and routes inside the
        Docker VM (macOS).
    type: str
    choices: [host, connector]
    default: host
  connector_config:
    description: The docker-connector config file (with O(target=connector)), as for M(hostreach.kind.docker_bridge_routes).
    type: path
  image:
    description: With O(target=connector), the image of the container that routes inside the VM (it needs C(sh) and C(ip)).
    type: str
    default: docker:29.8.1-dind
  pull:
    description: When to pull O(image).
    type: str
    choices: [missing, always, never]
    default: missing
  namespaces:
    description: The Services of these namespaces are returned with their ClusterIP URLs in RV(urls).
    type: list
    elements: str
    default: [default]
  apply:
    description:
      - V(true) makes the change itself (with O(target=host) that needs root, C(become)).
      - V(false) (only with O(target=host)) reads the cluster and this host's routes, plans and refuses exactly as
        V(true) does, and returns the commands that make the change in RV(commands) without running them; C(changed)
        then says whether they change anything; only the record is written (or removed), as the plan says. Run them
        with C(ansible.builtin.command) and C(become), through the P(hostreach.kind.ip_route_commands#filter) filter -
        root is kept to C(ip route).
    type: bool
    default: true
  allow_wide_routes:
    description:
      - Route the cluster's ranges even when they are wider than C(/12), not private, overlap loopback, link-local,
        multicast or reserved space, contain the host's default gateway or overlap a directly connected network of the
        host (see the description). The ranges come from the cluster, which can name any range; set this only for a
        cluster whose ranges you chose yourself.
      - The refusal of a range that overlaps a route the host has, or holds the default route's gateway, stays.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details:
      - Reads the cluster and the routes and reports what would change, refusing as a real run would; changes nothing,
        the record included.
  diff_mode:
    support: full
    details:
      - The cluster's routes before and after, one per line.
notes:
  - The ClusterIP URLs answer once the routes are in; M(hostreach.kind.kind_nodeport) with O(hostreach.kind.kind_nodeport#module:reach=routes)
    probes them, and never sends a packet to a ClusterIP whose route does not go through a kind node.
seealso:
  - module: hostreach.kind.kind_nodeport
  - module: hostreach.kind.docker_bridge_routes
"""

EXAMPLES = r"""
- name: Route the kind cluster's Service and Pod ranges through its nodes (Linux)
  become: true
  hostreach.kind.kind_cluster_routes:
    cluster: kind

- name: The same on a Mac, through docker-connector and the Docker VM
  hostreach.kind.kind_cluster_routes:
    cluster: kind
    target: connector
    connector_config: /opt/homebrew/etc/docker-connector.conf

- name: Remove them again (also once the cluster is deleted, from the record the module keeps)
  become: true
  hostreach.kind.kind_cluster_routes:
    cluster: kind
    state: absent

- name: Plan as the user (the cluster read with the user's kubeconfig), no root
  hostreach.kind.kind_cluster_routes:
    cluster: kind
    apply: false
  register: plan

- name: Only `ip route` runs as root
  become: true
  ansible.builtin.command:
    argv: "{{ item }}"
  loop: "{{ plan.commands | hostreach.kind.ip_route_commands }}"  # exactly `ip route replace|del ... proto 119`
  changed_when: true
"""

RETURN = r"""
service_cidrs:
  description: The cluster's IPv4 Service ranges, and where they were read in RV(service_cidrs_source).
  returned: success
  type: list
  elements: str
  sample: [10.96.0.0/16]
service_cidrs_source:
  description: Where the Service ranges come from (for a cluster that is gone, its record).
  returned: success
  type: str
  sample: the ServiceCIDR objects
routes:
  description:
    - The routes the cluster needs, with the range's role and the node they go through; for a cluster that is gone, the
      routes of its record that no other cluster's record names.
  returned: success
  type: list
  elements: dict
  sample:
    - {cidr: 10.96.0.0/16, via: 172.18.0.2, role: service, node: kind-control-plane}
    - {cidr: 10.244.0.0/24, via: 172.18.0.2, role: pod, node: kind-control-plane}
added:
  description: Routes put in (in check mode, that would be), as C(<cidr> via <node IP>).
  returned: success
  type: list
  elements: str
  sample: [10.96.0.0/16 via 172.18.0.2]
removed:
  description: Routes of this cluster taken out.
  returned: success
  type: list
  elements: str
  sample: []
commands:
  description:
    - With O(target=host), the C(ip route) commands that make the change, as argument lists (run, or with
      O(apply=false) or in check mode to be run); empty when nothing changes.
  returned: success and O(target=host)
  type: list
  elements: list
  sample: [[ip, route, replace, 10.96.0.0/16, via, 172.18.0.2, proto, "119"]]
cluster_gone:
  description:
    - V(true) when O(state=absent) found the cluster gone (no context for it in the kubeconfig, or no kubeconfig) and
      went by its record instead of asking it.
  returned: success
  type: bool
  sample: false
urls:
  description: The ClusterIP URLs of the Services of O(namespaces), one per port (not probed here).
  returned: success
  type: list
  elements: str
  sample: [http://10.96.143.7:80]
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hostreach.kind.plugins.module_utils import (
    _cluster_routes,
    _docker,
    _host_routes,
    _k8s_names,
    _kube,
    _records,
    _route_targets,
    _urls,
    _vm_tools,
)
from ansible_collections.hostreach.kind.plugins.module_utils._errors import HostreachError, InputError, KubeNoContext, PlanError, failure


def argument_spec() -> dict:
    """AnsibleModule's keyword arguments."""
    return dict(
        argument_spec=dict(
            _kube.KUBE_COMMON_ARGS,
            **_docker.DOCKER_COMMON_ARGS,
            state=dict(type="str", choices=["present", "absent"], default="present"),
            target=dict(type="str", choices=["host", "connector"], default="host"),
            connector_config=dict(type="path"),
            image=dict(type="str", default="docker:29.8.1-dind"),
            pull=dict(type="str", choices=list(_vm_tools.PULL_POLICIES), default="missing"),
            namespaces=dict(type="list", elements="str", default=["default"]),
            allow_wide_routes=dict(type="bool", default=False),
            apply=dict(type="bool", default=True),
        ),
        required_if=[("target", "connector", ("connector_config",))],
        supports_check_mode=True,
    )


class Cluster(t.NamedTuple):
    name: str
    cidrs: list
    source: str
    nodes: list
    urls: list
    warnings: tuple = ()  # what of the Node objects was not used, naming the node
    recorded: list | None = None  # a gone cluster's routes, from its record (_records); None when the cluster answered


def gather_cluster(params: dict) -> Cluster:
    """The cluster's Service ranges, nodes and ClusterIP URLs, from its API."""
    _kube.require_sdk()
    api = _kube.connect(params["kubeconfig"], params["context"], params["cluster"])
    cidrs, source = _cluster_routes.service_cidrs(api.list_service_cidrs(), api.kubeadm_cluster_configuration())
    nodes = _cluster_routes.cluster_nodes(api.list_nodes())
    services = [s for namespace in params["namespaces"] for s in api.list_services(namespace)]
    urls = [u for s in services for u in _urls.cluster_ip_urls(s)]
    return Cluster(params["cluster"], cidrs, source, nodes, urls, tuple(w for n in nodes for w in n.warnings))


def recorded_cluster(params: dict, gone: KubeNoContext) -> Cluster:
    """A cluster whose context is gone (kind delete cluster), as its record has it: no request is made."""
    name = params["cluster"]
    routes, left = _cluster_routes.recorded_routes(name, _records.read("routes", name), _records.others("routes", name))
    nodes = [_cluster_routes.Node(r.node, r.via, [], r.role == "service") for r in routes]
    source = f"the record {_records.path('routes', name)} (the cluster is gone: {gone.msg})"
    return Cluster(name, [r.cidr for r in routes if r.role == "service"], source, nodes, [], tuple(left), routes)


def target_for(module: AnsibleModule, cluster: Cluster) -> _route_targets.Target:
    params = module.params
    recorded = None if cluster.recorded is None else {(r.cidr, r.via) for r in cluster.recorded}
    if params["target"] == "host":
        return _route_targets.HostTable(module, cluster.name, cluster.nodes, recorded)
    return _route_targets.Connector(module, cluster.name, cluster.nodes, params["connector_config"], recorded)


def report(module: AnsibleModule, cluster: Cluster, wanted: list, before: list, add: list, remove: list) -> dict:
    result = dict(
        changed=bool(add or remove),
        service_cidrs=[str(c) for c in cluster.cidrs],
        service_cidrs_source=cluster.source,
        routes=[{"cidr": str(r.cidr), "via": r.via, "role": r.role, "node": r.node} for r in wanted],
        added=[f"{c} via {v}" for c, v in add],
        removed=[f"{c} via {v}" for c, v in remove],
        urls=cluster.urls,
        cluster_gone=cluster.recorded is not None,
    )
    if module._diff:
        after = sorted({(str(c), v) for c, v in before} - set(remove) | set(add))
        result["diff"] = {
            "before": "".join(f"{c} via {v}\n" for c, v in sorted((str(c), v) for c, v in before)),
            "after": "".join(f"{c} via {v}\n" for c, v in after),
        }
    return result


def refuse_wide_ranges(cluster: str, wanted: list) -> None:
    """Fail before any change when a range the cluster names would take this host's own traffic to a node."""
    problems = _cluster_routes.refusals(cluster, wanted, _host_routes.read_routes())
    if problems:
        raise PlanError(
            "refusing to route ranges that the cluster names and that are not for its Services and Pods: {}. Nothing was changed. "
            "Create the cluster with other {} (private, /{} or narrower, clear of this host's own networks), or set "
            "allow_wide_routes: true if that is what you want.".format("; ".join(problems), _cluster_routes.KIND_FIELDS, _cluster_routes.CLUSTER_WIDEST_PREFIX)
        )


def run(module: AnsibleModule) -> dict:
    params = module.params
    _k8s_names.require_cluster_name(params["cluster"])
    problems = _k8s_names.name_problems([], params["namespaces"])
    if not params["apply"] and params["target"] != "host":
        problems.append("apply: false is for target: host (the connector target needs no root and applies itself)")
    if problems:
        raise InputError("; ".join(problems) + "; nothing was changed")
    try:
        cluster = gather_cluster(params)
    except KubeNoContext as exc:
        if params["state"] != "absent":
            raise
        cluster = recorded_cluster(params, exc)
    for warning in cluster.warnings:
        module.warn(warning)
    wanted = cluster.recorded if cluster.recorded is not None else _cluster_routes.wanted_routes(cluster.cidrs, cluster.nodes)
    if params["state"] == "present" and not params["allow_wide_routes"]:
        refuse_wide_ranges(cluster.name, wanted)
    target = target_for(module, cluster)
    existing, current = target.read(wanted)
    if params["state"] == "present":
        problems = _cluster_routes.conflicts(cluster.name, wanted, existing, target.is_ours, target.owner_of)
        if problems:
            raise PlanError("refusing to route: " + "; ".join(problems) + "; nothing was changed")
    add, remove = _cluster_routes.plan(wanted, current, params["state"])
    if params["state"] == "present" and not module.check_mode:
        _records.keep(module, "routes", cluster.name, _cluster_routes.record_of(cluster.name, wanted))  # before the change
    if (add or remove) and params["apply"] and not module.check_mode:
        target.apply(wanted, add, remove)
    if params["state"] == "absent" and not module.check_mode:
        _records.keep(module, "routes", cluster.name, None)  # after the change (with apply: false, the caller makes it)
    result = report(module, cluster, wanted, current, add, remove)
    if params["target"] == "host":
        result["commands"] = _route_targets.host_commands(add, remove)
    return result


def main() -> None:
    module = AnsibleModule(**argument_spec())
    try:
        module.exit_json(**run(module))
    except HostreachError as exc:
        module.fail_json(**failure(exc))


if __name__ == "__main__":
    main()
