# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sending a kind cluster's DNS domain (cluster.local, as the cluster itself says) from the host's resolver to the
cluster's DNS Service, and to it only. Pure: what the cluster and the resolver say in, what to write out.

macOS reads /etc/resolver/<domain> (one file per domain, `nameserver <ip>`): the file is ours when its first line is
our marker; a file there that is not ours, or that another cluster wrote for the same domain, is refused.
systemd-resolved (Linux) routes a domain to a link's DNS servers when the link has the routing-only domain `~<domain>`:
the link is the one the host reaches the DNS Service through (the routes of kind_cluster_routes).
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils._errors import PlanError

MARKER = "# hostreach.kind cluster "
DOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LINK_LINE = re.compile(r"^Link \d+ \((?P<link>[^)]+)\):\s*(?P<values>.*)$")


def cluster_domain(cluster_configuration: dict | None, kubelet_configuration: dict | None) -> tuple:
    """(the cluster's DNS domain, where it was read): kubeadm's networking.dnsDomain (kube-system/kubeadm-config), else
    the kubelet's clusterDomain (kube-system/kubelet-config). Never assumed."""
    found = ((cluster_configuration or {}).get("networking") or {}).get("dnsDomain")
    source = "networking.dnsDomain of kube-system/kubeadm-config"
    if not found:
        domains = (kubelet_configuration or {}).get("clusterDomain")
        found, source = (domains[0] if isinstance(domains, list) and domains else domains), "clusterDomain of kube-system/kubelet-config"
    if not found or not DOMAIN.fullmatch(str(found)):
        raise PlanError(
            f"the cluster says nowhere which DNS domain it serves (kube-system/kubeadm-config networking.dnsDomain, kubelet-config clusterDomain): {found!r}"
        )
    return str(found), source


def resolver_file(cluster: str, domain: str, nameserver: str) -> str:
    """The /etc/resolver/<domain> file of macOS for the cluster."""
    return f"{MARKER}{cluster}: {domain} is answered by the cluster's DNS Service, and only it\nnameserver {nameserver}\nport 53\n"


def resolver_owner(text: str | None) -> str | None:
    """The cluster a resolver file was written for; '' for a file that is not ours; None for no file."""
    if text is None:
        return None
    first = text.splitlines()[0] if text else ""
    return first[len(MARKER) :].split(":", 1)[0] if first.startswith(MARKER) else ""


def file_problem(cluster: str, domain: str, path: str, text: str | None) -> str | None:
    owner = resolver_owner(text)
    if owner == "":
        return f"{path} exists and was not written by hostreach.kind: {domain} is already sent somewhere; move that file away, or leave DNS off"
    if owner and owner != cluster:
        return (
            f"clusters {owner} and {cluster} both serve the domain {domain}: give one of them another "
            "(kubeadmConfigPatches setting networking.dnsDomain in its kind config)"
        )
    return None


def resolved_links(domain_output: str) -> dict:
    """`resolvectl domain` (or `dns`) output -> {link: [values]}; the Global line is left out."""
    links = {}
    for line in domain_output.splitlines():
        match = _LINK_LINE.match(line.strip())
        if match:
            links[match.group("link")] = match.group("values").split()
    return links


def resolved_plan(link: str, domain: str, nameserver: str, dns: dict, domains: dict, state: str) -> t.Tuple[list, str | None]:
    """(resolvectl commands, a problem): `link` gets DNS `nameserver` and the routing domain `~domain`. Refused: another
    link that routes the same domain, and a link that already has DNS servers or domains of its own. `resolvectl dns` and
    `domain` replace all of a link's settings, and resolved sends every domain of a link to that link's current server:
    one link serves one cluster (kind puts every cluster on the same Docker network, so a second cluster finds the
    first one's server there). With state=absent the link's settings are reverted (resolved's own defaults), only when
    all it has is this cluster's server and domain."""
    routing = f"~{domain}"
    have_dns, have_domains = dns.get(link, []), domains.get(link, [])
    foreign_dns = [server for server in have_dns if server != nameserver]
    foreign_domains = [name for name in have_domains if name != routing]
    if state == "absent":
        ours = (nameserver in have_dns or routing in have_domains) and not (foreign_dns or foreign_domains)
        return ([["revert", link]] if ours else []), None
    elsewhere = [name for name, values in domains.items() if name != link and routing in values]
    if elsewhere:
        return [], f"the link {elsewhere[0]} already sends {domain} somewhere (resolvectl domain): two clusters, or another tool, share that domain"
    if foreign_dns or foreign_domains:
        sent = " ".join(have_domains) or "its queries"
        if routing in have_domains:
            why = (
                f"two clusters share the domain {domain}: give one of them another (kubeadmConfigPatches setting "
                "networking.dnsDomain in its kind config), or leave DNS off for one (hostreach_kind_dns: false)"
            )
        else:
            why = (
                "systemd-resolved sends every domain of a link to that link's servers, so one link serves one cluster "
                "(every kind cluster is on Docker's kind network): leave DNS off for one (hostreach_kind_dns: false)"
            )
        return [], f"the link {link} already sends {sent} to {' '.join(have_dns) or 'no server'}, not to {nameserver} (resolvectl dns {link}): {why}"
    has = have_dns == [nameserver] and have_domains == [routing]
    return ([] if has else [["dns", link, nameserver], ["domain", link, routing]]), None
