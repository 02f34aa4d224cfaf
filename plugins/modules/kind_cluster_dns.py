#!/usr/bin/python
# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kind_cluster_dns
short_description: Resolve a kind cluster's Service names from the host through the cluster's own DNS Service
version_added: 0.2.0
description:
  - Makes C(<service>.<namespace>.svc.<cluster domain>) resolve on the developer's machine as inside a pod, by telling the
    host's resolver to send the cluster's domain - and only it - to the cluster's DNS Service (C(kube-system/kube-dns)).
  - The domain is read from the cluster (C(networking.dnsDomain) of C(kube-system/kubeadm-config), else C(clusterDomain)
    of C(kube-system/kubelet-config)), never assumed.
  - The DNS Service is reached at its ClusterIP, so the cluster's Service range must be routed through its nodes first
    (M(hostreach.kind.kind_cluster_routes)); a DNS Service this host does not route through a kind node is refused.
  - O(resolver=macos) writes C(/etc/resolver/<domain>) (C(nameserver <DNS Service IP>)), marked as this cluster's;
    macOS sends queries for that domain there. Needs root (C(become)).
  - O(resolver=resolved) gives the link the host reaches the DNS Service through the DNS server and the routing-only
    domain C(~<domain>) (C(resolvectl dns), C(resolvectl domain)), so systemd-resolved sends that domain there; per-link
    settings are lost when the link goes, and a rerun puts them back. Needs root.
  - O(resolver=auto) picks C(macos) on macOS, C(resolved) on Linux where systemd-resolved runs, and else reports
    RV(resolver) V(none) with the reason and changes nothing (a Linux host without systemd-resolved has no per-domain
    resolver to tell).
  - Telling the resolver needs root; reading the cluster and the resolver's settings does not. With O(apply=false) the
    module runs as the user, reads and plans (refusing as always), and returns the change for a task with C(become) to
    make - the resolver file's RV(content) or the C(resolvectl) RV(commands) - so neither the module's interpreter nor
    the kubeconfig's C(exec) credential plugin runs as root (the role M(hostreach.kind.cluster_dns) does so).
  - Several clusters need a domain each; a second cluster with a domain another already has is refused, naming both.
  - The domain is the cluster's word, and the host's own lookups of every name under it go to the cluster. So only these
    are taken by default - kind's and Kubernetes' default C(cluster.local), and a domain strictly under a suffix that is
    never delegated in the public DNS - C(.internal) (ICANN's private-use TLD), C(.test), C(.example), C(.invalid)
    (RFC 2606, RFC 6761) and C(.home.arpa) (RFC 8375), such as C(dev.internal) or C(kind.test).
  - Any other domain is refused before anything is written, in check mode too, saying which domain the cluster named,
    why, and the fix (O(allow_domain), or another C(networking.dnsDomain) when the cluster is created) - a one-label domain
    (C(com), C(cluster)), C(localhost) and the names under it, mDNS's C(.local) other than C(cluster.local) (RFC 6762),
    a reverse-lookup zone (C(in-addr.arpa), C(ip6.arpa) and the zones under them), C(home.arpa) itself, and every domain
    under a public suffix (C(example.com), C(corp.dev)). C(.localdomain) is not taken either (no RFC or ICANN decision
    reserves it).
  - With O(resolver=resolved) the cluster's domain and DNS Service address are recorded for O(state=absent) to find once
    the cluster is gone - a link's settings say nothing of whose they are - in
    C($XDG_STATE_HOME/hostreach-kind/dns/<cluster>.json) (C(~/.local/state/hostreach-kind/dns/<cluster>.json) when unset)
    of the user the module runs as - a JSON object with C(cluster), C(domain) and C(nameserver), written atomically when
    O(state=present) has planned, before the change (not in check mode), and removed by O(state=absent). The record is the
    module's own bookkeeping, and its write is not a change C(changed) reports. The macOS resolver file needs none, its
    mark names the cluster.
  - Once the cluster is gone - C(kind delete cluster) removes its context, so its context is not in the kubeconfig, or
    there is no kubeconfig at all - O(state=absent) asks nothing of it; on macOS it removes the resolver file marked as
    the cluster's, with systemd-resolved it reverts the link that has exactly the recorded server and domain (as for a
    cluster that answers); RV(cluster_gone) says so. Settings another cluster's record names too are left, with a warning
    (a cluster made since took them over). With nothing recorded or marked, nothing is changed. O(state=present) fails on a
    missing context as before.
  - With O(state=absent) a refused domain is left alone - the module never wrote it - with a warning; to remove what an
    earlier version wrote for it, name it in O(allow_domain).
author:
  - hostreach.kind contributors (@hostreach)
extends_documentation_fragment:
  - hostreach.kind._kube
  - hostreach.kind._attributes
  - hostreach.kind._attributes.actiongroup_hostreach
options:
  state:
    description: V(present) points the domain at the cluster's DNS; V(absent) undoes exactly that.
    type: str
    choices: [present, absent]
    default: present
  resolver:
    description: Which resolver to tell (see the description).
    type: str
    choices: [auto, macos, resolved]
    default: auto
  resolver_dir:
    description: The folder of macOS's per-domain resolver files.
    type: path
    default: /etc/resolver
  dns_service:
    description: The cluster's DNS Service, C(<namespace>/<name>).
    type: str
    default: kube-system/kube-dns
  allow_domain:
    description:
      - A domain the default rule refuses (see the description), sent to the cluster all the same when it is exactly the
        domain the cluster serves (compared without case, a trailing dot ignored), such as V(corp.dev) for a cluster
        created with that C(networking.dnsDomain). Another domain the cluster names is still refused.
      - It must be a valid domain; the cluster's domain is checked as always.
      - Unset or empty, only the default rule applies.
    type: str
  apply:
    description:
      - V(true) makes the change itself (root, C(become)).
      - V(false) reads, plans and refuses exactly as V(true) does and changes nothing but the record (see the
        description); C(changed) says whether the plan changes anything, RV(content) (macOS) or RV(commands) (systemd-resolved) hold the change for a root task.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details:
      - Reads the cluster and the resolver and reports what would change; writes nothing, the record included.
  diff_mode:
    support: full
    details:
      - The resolver file, or the link's DNS settings, before and after.
"""

EXAMPLES = r"""
- name: Resolve the kind cluster's Service names from this machine
  become: true
  hostreach.kind.kind_cluster_dns:
    cluster: kind
  register: cluster_dns

- name: Show the domain
  ansible.builtin.debug:
    msg: "curl http://web.default.svc.{{ cluster_dns.domain }}"

- name: Undo it (also once the cluster is deleted)
  become: true
  hostreach.kind.kind_cluster_dns:
    cluster: kind
    state: absent

- name: Plan as the user on Linux; only resolvectl runs as root
  hostreach.kind.kind_cluster_dns:
    cluster: kind
    apply: false
  register: plan

- name: Tell systemd-resolved
  become: true
  ansible.builtin.command:
    argv: "{{ item }}"
  loop: "{{ plan.commands | default([]) | hostreach.kind.resolvectl_commands }}"
  changed_when: true
"""

RETURN = r"""
domain:
  description: The cluster's DNS domain.
  returned: success, unless the cluster is gone and nothing of it is left
  type: str
  sample: cluster.local
domain_source:
  description: Where the domain was read (for a cluster that is gone, the resolver file's mark or the record).
  returned: success, unless the cluster is gone and nothing of it is left
  type: str
  sample: networking.dnsDomain of kube-system/kubeadm-config
nameserver:
  description: The DNS Service's ClusterIP (empty for a gone cluster's macOS resolver file, which is removed unread).
  returned: success, unless the cluster is gone and nothing of it is left
  type: str
  sample: 10.96.0.10
resolver:
  description: The resolver told (V(macos), V(resolved)), or V(none).
  returned: success
  type: str
  sample: macos
cluster_gone:
  description:
    - V(true) when O(state=absent) found the cluster gone (no context for it in the kubeconfig, or no kubeconfig) and
      went by the resolver file's mark or the record instead of asking it.
  returned: success
  type: bool
  sample: false
reason:
  description: With RV(resolver=none), why nothing was done.
  returned: when RV(resolver) is none
  type: str
  sample: systemd-resolved does not run here
path:
  description: With V(macos), the resolver file.
  returned: when RV(resolver) is macos, unless O(state=absent) left a refused domain alone
  type: str
  sample: /etc/resolver/cluster.local
content:
  description:
    - With V(macos), what the resolver file holds after the change; V(null) when the change removes it.
  returned: when RV(resolver) is macos and C(changed) is true
  type: str
  sample: "# hostreach.kind cluster kind: cluster.local is answered by the cluster's DNS Service, and only it\nnameserver 10.96.0.10\n"
commands:
  description:
    - With V(resolved), the C(resolvectl) commands that make the change, as argument lists (run, or with O(apply=false)
      or in check mode to be run); empty when nothing changes.
  returned: when RV(resolver) is resolved, unless O(state=absent) left a refused domain alone
  type: list
  elements: list
  sample: [[resolvectl, dns, br-1e9b417bacdc, 10.96.0.10], [resolvectl, domain, br-1e9b417bacdc, "~cluster.local"]]
link:
  description: With V(resolved), the link given the DNS server and the routing domain.
  returned: when RV(resolver) is resolved, unless O(state=absent) left a refused domain alone
  type: str
  sample: br-1e9b417bacdc
"""

import os
import platform
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hostreach.kind.plugins.module_utils import _cluster_dns, _cluster_routes, _config_file, _host_routes, _k8s_names, _kube, _records
from ansible_collections.hostreach.kind.plugins.module_utils._errors import HostreachError, InputError, KubeNoContext, PlanError, RouteError, failure


def argument_spec() -> dict:
    """AnsibleModule's keyword arguments."""
    return dict(
        argument_spec=dict(
            _kube.KUBE_COMMON_ARGS,
            state=dict(type="str", choices=["present", "absent"], default="present"),
            resolver=dict(type="str", choices=["auto", "macos", "resolved"], default="auto"),
            resolver_dir=dict(type="path", default="/etc/resolver"),
            dns_service=dict(type="str", default="kube-system/kube-dns"),
            allow_domain=dict(type="str"),
            apply=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )


class Cluster(t.NamedTuple):
    domain: str
    source: str
    nameserver: str
    node_ips: set
    gone: bool = False  # the cluster's context is gone: what it had is taken from the resolver file's mark or the record


def gather_cluster(params: dict) -> Cluster:
    namespace, _sep, name = params["dns_service"].partition("/")
    if not (namespace and name):
        raise InputError(f"dns_service {params['dns_service']!r} is not <namespace>/<name>; nothing was changed")
    _kube.require_sdk()
    api = _kube.connect(params["kubeconfig"], params["context"], params["cluster"])
    domain, source = _cluster_dns.cluster_domain(api.kubeadm_cluster_configuration(), api.kubelet_configuration())
    nameserver = _cluster_dns.nameserver_of(api.read_service(namespace, name), params["dns_service"])
    return Cluster(domain, source, nameserver, {n.ip for n in _cluster_routes.cluster_nodes(api.list_nodes()) if n.ip})


def marked_files(resolver_dir: str) -> dict:
    """{file name: text} of the files in macOS's resolver folder (none when there is no folder)."""
    try:
        names = sorted(os.listdir(resolver_dir))
    except OSError:
        return {}
    files = {name: os.path.join(resolver_dir, name) for name in names}
    return {name: _config_file.read_text(path) or "" for name, path in files.items() if os.path.isfile(path)}


def recorded_cluster(module: AnsibleModule, choice: str, gone: KubeNoContext) -> Cluster | None:
    """A cluster whose context is gone (kind delete cluster), as what it left says, without any request: on macOS the
    resolver file marked with its name, with systemd-resolved its record (_records). None when nothing is left."""
    name, why = module.params["cluster"], f"the cluster is gone: {gone.msg}"
    if choice == "macos":
        domains = _cluster_dns.marked_domains(name, marked_files(module.params["resolver_dir"]))
        if len(domains) > 1:
            module.warn(f"the resolver files of {', '.join(domains[1:])} are marked as cluster {name}'s too: run this again to remove them")
        return Cluster(domains[0], f"the mark of its resolver file ({why})", "", set(), True) if domains else None
    if choice != "resolved":
        return None
    found, left = _cluster_dns.recorded_dns(name, _records.read("dns", name), _records.others("dns", name))
    if left:
        module.warn(left)
    return Cluster(found[0], f"the record {_records.path('dns', name)} ({why})", found[1], set(), True) if found else None


def routed_link(cluster: Cluster, check_mode: bool = False) -> str:
    """The link the host reaches the DNS Service through; it must go through a kind node (or docker-connector's tunnel).
    In check mode the routes may still be to come (a check run of the play adds none): the link toward the nodes, when
    the address is not routed elsewhere."""
    routes = _host_routes.read_routes()
    route = _host_routes.covering(routes, cluster.nameserver)
    if route and (route.gateway in cluster.node_ips or route.device.startswith("utun")):
        return route.device
    if check_mode and not (route and route.network.prefixlen):
        toward = [_host_routes.covering(routes, ip) for ip in sorted(cluster.node_ips)]
        link = next((r.device for r in toward if r and r.network.prefixlen), None)
        if link:
            return link
    where = f"via {route.gateway or '-'} dev {route.device} ({route.network})" if route else "none"
    raise PlanError(
        f"this host does not route the DNS Service {cluster.nameserver} through a kind node (its route: {where}): "
        "route the cluster's ranges first (hostreach_kind_reach: routes, or hostreach.kind.kind_cluster_routes); nothing was changed"
    )


def routed_elsewhere(cluster: Cluster) -> bool:
    """Whether this host routes the DNS Service's address through something that is not one of this cluster's nodes: a
    link with that server then serves another cluster (one with the same Service range), never this one."""
    route = _host_routes.covering(_host_routes.read_routes(), cluster.nameserver)
    return bool(route and route.network.prefixlen and route.gateway and route.gateway not in cluster.node_ips and not route.device.startswith("utun"))


def resolved_runs(module: AnsibleModule) -> bool:
    return bool(module.get_bin_path("resolvectl")) and module.run_command(["resolvectl", "status"])[0] == 0


def macos(module: AnsibleModule, cluster: Cluster) -> dict:
    """The resolver file: written (or removed) only when it is this cluster's or there is none."""
    params = module.params
    path = os.path.join(params["resolver_dir"], cluster.domain)
    before = _config_file.read_text(path)
    problem = _cluster_dns.file_problem(params["cluster"], cluster.domain, path, before)
    if problem and params["state"] == "absent":
        return {"changed": False, "path": path, "diff": {"before": before or "", "after": before or ""}}  # not ours to remove
    if problem:
        raise PlanError(f"{problem}; nothing was changed")
    after = _cluster_dns.resolver_file(params["cluster"], cluster.domain, cluster.nameserver) if params["state"] == "present" else None
    if after != before and params["apply"] and not module.check_mode:
        if after is None:
            os.unlink(path)
        else:
            os.makedirs(params["resolver_dir"], mode=0o755, exist_ok=True)
            _config_file.write(module, path, after)
    done = {"changed": after != before, "path": path, "diff": {"before": before or "", "after": after or ""}}
    return dict(done, content=after) if after != before else done


def resolved(module: AnsibleModule, cluster: Cluster) -> dict:
    """The link's DNS server and routing domain; with absent, the link that has the domain (the routes may be gone)."""

    def resolvectl(*args: str) -> str:
        rc, out, err = module.run_command(["resolvectl", *args])
        if rc != 0:
            raise RouteError(f"`resolvectl {' '.join(args)}` failed: {(err or out).strip()}; telling systemd-resolved needs root (become: true)")
        return out

    dns, domains = _cluster_dns.resolved_links(resolvectl("dns")), _cluster_dns.resolved_links(resolvectl("domain"))
    if module.params["state"] == "present":
        link = routed_link(cluster, module.check_mode)
    else:
        link = next((name for name, values in domains.items() if f"~{cluster.domain}" in values), "")
        link = link or next((name for name, values in dns.items() if cluster.nameserver in values), "")
    commands, problem = _cluster_dns.resolved_plan(link, cluster.domain, cluster.nameserver, dns, domains, module.params["state"])
    if commands and module.params["state"] == "absent" and not cluster.gone and routed_elsewhere(cluster):
        commands = []  # the server at that address is another cluster's (same Service range): its DNS stays
    if problem:
        raise PlanError(f"{problem}; nothing was changed")
    name, present = module.params["cluster"], module.params["state"] == "present"
    if present and not module.check_mode:
        _records.keep(module, "dns", name, _cluster_dns.record_of(name, cluster.domain, cluster.nameserver))  # before the change
    if module.params["apply"] and not module.check_mode:
        for command in commands:
            resolvectl(*command)
    if not present and not module.check_mode:
        _records.keep(module, "dns", name, None)  # after the change (with apply: false, the caller makes it)
    before = f"{link}: dns {' '.join(dns.get(link, []))}; domain {' '.join(domains.get(link, []))}\n"
    after = f"{link}: dns {cluster.nameserver}; domain ~{cluster.domain}\n" if module.params["state"] == "present" else f"{link}: reverted\n"
    done = {"changed": bool(commands), "link": link, "commands": [["resolvectl", *c] for c in commands]}
    return dict(done, diff={"before": before, "after": after if commands else before})


def run(module: AnsibleModule) -> dict:
    params = module.params
    _k8s_names.require_cluster_name(params["cluster"])
    allow = _cluster_dns.allowed_domain(params["allow_domain"])
    try:
        cluster, gone = gather_cluster(params), None
    except KubeNoContext as exc:
        if params["state"] != "absent":
            raise
        cluster, gone = None, exc
    choice = params["resolver"]
    if choice == "auto":
        choice = "macos" if platform.system() == "Darwin" else "resolved" if resolved_runs(module) else "none"
    cluster = recorded_cluster(module, choice, gone) if gone else cluster
    if cluster is None:  # gone, and nothing of it is left (or it was never told to a resolver): nothing to undo
        result = {"changed": False, "resolver": choice, "cluster_gone": True}
    else:
        result = {"changed": False, "domain": cluster.domain, "domain_source": cluster.source, "nameserver": cluster.nameserver, "resolver": choice}
        result["cluster_gone"] = cluster.gone
    if choice == "none":
        return dict(result, reason="systemd-resolved does not run here: a Linux host without it has no per-domain resolver to tell")
    if cluster is None:
        return result
    refused = _cluster_dns.domain_problem(params["cluster"], cluster.domain, cluster.source, allow)
    if refused and params["state"] == "absent":
        module.warn(refused)  # never sent there: nothing to undo
        return result
    if refused:
        raise PlanError(refused)
    if choice == "macos" and params["state"] == "present":
        routed_link(cluster, module.check_mode)
    done = macos(module, cluster) if choice == "macos" else resolved(module, cluster)
    diff = done.pop("diff")
    result.update(done)
    if module._diff:
        result["diff"] = diff
    return result


def main() -> None:
    module = AnsibleModule(**argument_spec())
    try:
        module.exit_json(**run(module))
    except HostreachError as exc:
        module.fail_json(**failure(exc))


if __name__ == "__main__":
    main()
