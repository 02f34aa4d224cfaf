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
      - V(false) reads, plans and refuses exactly as V(true) does and changes nothing; C(changed) says whether the
        plan changes anything, RV(content) (macOS) or RV(commands) (systemd-resolved) hold the change for a root task.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details:
      - Reads the cluster and the resolver and reports what would change; writes nothing.
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

- name: Undo it
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
  returned: success
  type: str
  sample: cluster.local
domain_source:
  description: Where the domain was read.
  returned: success
  type: str
  sample: networking.dnsDomain of kube-system/kubeadm-config
nameserver:
  description: The DNS Service's ClusterIP.
  returned: success
  type: str
  sample: 10.96.0.10
resolver:
  description: The resolver told (V(macos), V(resolved)), or V(none).
  returned: success
  type: str
  sample: macos
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
from ansible_collections.hostreach.kind.plugins.module_utils import _cluster_dns, _cluster_routes, _config_file, _host_routes, _k8s_names, _kube
from ansible_collections.hostreach.kind.plugins.module_utils._errors import HostreachError, InputError, PlanError, RouteError, failure


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


def gather_cluster(params: dict) -> Cluster:
    namespace, _sep, name = params["dns_service"].partition("/")
    if not (namespace and name):
        raise InputError(f"dns_service {params['dns_service']!r} is not <namespace>/<name>; nothing was changed")
    _kube.require_sdk()
    api = _kube.connect(params["kubeconfig"], params["context"], params["cluster"])
    domain, source = _cluster_dns.cluster_domain(api.kubeadm_cluster_configuration(), api.kubelet_configuration())
    nameserver = _cluster_dns.nameserver_of(api.read_service(namespace, name), params["dns_service"])
    return Cluster(domain, source, nameserver, {n.ip for n in _cluster_routes.cluster_nodes(api.list_nodes()) if n.ip})


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
    if commands and module.params["state"] == "absent" and routed_elsewhere(cluster):
        commands = []  # the server at that address is another cluster's (same Service range): its DNS stays
    if problem:
        raise PlanError(f"{problem}; nothing was changed")
    if module.params["apply"] and not module.check_mode:
        for command in commands:
            resolvectl(*command)
    before = f"{link}: dns {' '.join(dns.get(link, []))}; domain {' '.join(domains.get(link, []))}\n"
    after = f"{link}: dns {cluster.nameserver}; domain ~{cluster.domain}\n" if module.params["state"] == "present" else f"{link}: reverted\n"
    done = {"changed": bool(commands), "link": link, "commands": [["resolvectl", *c] for c in commands]}
    return dict(done, diff={"before": before, "after": after if commands else before})


def run(module: AnsibleModule) -> dict:
    params = module.params
    _k8s_names.require_cluster_name(params["cluster"])
    allow = _cluster_dns.allowed_domain(params["allow_domain"])
    cluster = gather_cluster(params)
    choice = params["resolver"]
    if choice == "auto":
        choice = "macos" if platform.system() == "Darwin" else "resolved" if resolved_runs(module) else "none"
    result = {"changed": False, "domain": cluster.domain, "domain_source": cluster.source, "nameserver": cluster.nameserver, "resolver": choice}
    if choice == "none":
        return dict(result, reason="systemd-resolved does not run here: a Linux host without it has no per-domain resolver to tell")
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
