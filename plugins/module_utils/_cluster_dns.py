# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sending a kind cluster's DNS domain (cluster.local, as the cluster itself says) from the host's resolver to the
cluster's DNS Service, and to it only. Pure: what the cluster and the resolver say in, what to write out.

macOS reads /etc/resolver/<domain> (one file per domain, `nameserver <ip>`): the file is ours when its first line is
our marker; a file there that is not ours, or that another cluster wrote for the same domain, is refused.
systemd-resolved (Linux) routes a domain to a link's DNS servers when the link has the routing-only domain `~<domain>`:
the link is the one the host reaches the DNS Service through (the routes of kind_cluster_routes).

The domain is the cluster's word, so it is input: whatever it names, the host's own lookups of it go to the cluster, as
root set it. Taken by default are only kind's default (cluster.local) and names under a suffix that is never delegated
in the public DNS (PRIVATE_SUFFIXES); anything else only when the user names that very domain (allow_domain).
"""

from __future__ import annotations

import ipaddress
import re
import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils._errors import InputError, PlanError

MARKER = "# hostreach.kind cluster "
DOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LINK_LINE = re.compile(r"^Link \d+ \((?P<link>[^)]+)\):\s*(?P<values>.*)$")
# kind's and Kubernetes' default domain: the one name under mDNS's .local that is taken.
KIND_DEFAULT = "cluster.local"
# Suffixes no public name is ever under: .internal (ICANN's private-use TLD, 2024), .test, .example and .invalid
# (RFC 2606, RFC 6761), home.arpa (RFC 8375, home networks). A domain is taken when it is strictly under one of them.
# Not .localdomain: no RFC and no ICANN decision reserves it (a convention only, and localhost.localdomain's).
PRIVATE_SUFFIXES = ("internal", "test", "example", "invalid", "home.arpa")
_REVERSE_ZONES = ("in-addr.arpa", "ip6.arpa")


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


def allowed_domain(value: str | None) -> str | None:
    """The allow_domain option as a domain to compare (lower case, a trailing dot dropped); None when not set."""
    if not value:
        return None
    domain = value.lower()[:-1] if value.endswith(".") else value.lower()
    if not DOMAIN.fullmatch(domain):
        raise InputError(f"allow_domain {value!r} is not a DNS domain (letters, digits, '-' and dots, such as cluster.internal); nothing was changed")
    return domain


def domain_refusal(domain: str) -> str | None:
    """Why the host's resolver must not send ``domain`` (a valid domain) to a cluster, or None when it may."""
    labels = domain.split(".")
    if domain == KIND_DEFAULT or any(domain.endswith(f".{suffix}") for suffix in PRIVATE_SUFFIXES):
        return None
    if labels[-1] == "localhost":
        return "localhost and the names under it are this host itself (RFC 6761)"
    if labels[-1] == "local":
        return (
            f"it is mDNS's domain .local (RFC 6762), where the machines and printers of the local network are found; "
            f"only {KIND_DEFAULT}, kind's and Kubernetes' default, is taken there"
        )
    if any(domain == zone or domain.endswith(f".{zone}") for zone in _REVERSE_ZONES):
        return "it is a reverse-lookup zone: the host's lookups of the names of addresses would be asked of the cluster"
    if len(labels) == 1:
        return "a one-label domain is a top-level domain: every name under it would be asked of the cluster"
    if domain in PRIVATE_SUFFIXES:
        return f"{domain} is the home network's own domain (RFC 8375): only names under it are taken, such as cluster.{domain}"
    reserved = ", ".join(f".{suffix}" for suffix in PRIVATE_SUFFIXES)
    return f"it is not under a suffix reserved for private or special use ({reserved}): names of the public DNS would be asked of the cluster"


def domain_problem(cluster: str, domain: str, source: str, allow: str | None) -> str | None:
    """Why the cluster's domain is refused, with the fix; None when domain_refusal takes it or ``allow`` (allowed_domain's)
    is that very domain."""
    why = domain_refusal(domain)
    if why is None or domain == allow:
        return None
    named = f" (allow_domain names {allow}, not {domain})" if allow else ""
    return (
        f"the cluster {cluster} serves the DNS domain {domain} ({source}), which is not sent to it from this host: {why}{named}. "
        f"If this domain is meant, name it: allow_domain: {domain} (-e hostreach_kind_dns_allow_domain={domain} for the playbooks); "
        f"else give the cluster another domain when it is created, such as {KIND_DEFAULT} or one under .internal "
        "(kubeadmConfigPatches setting networking.dnsDomain in its kind config; the kubelet's clusterDomain follows it); nothing was changed"
    )


def nameserver_of(service: dict, name: str) -> str:
    """The DNS Service's ClusterIP as the resolver gets it: an IP address as ipaddress writes it; PlanError otherwise
    (the value is the cluster's, and goes into the resolver file or a resolvectl command)."""
    value = (service.get("spec") or {}).get("clusterIP")
    if not value or value == "None":
        raise PlanError(f"the DNS Service {name} has no ClusterIP; nothing was changed")
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        raise PlanError(f"the DNS Service {name} has the ClusterIP {str(value)[:80]!r}, which is not an IP address; nothing was changed") from None


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


def marked_domains(cluster: str, files: dict) -> list:
    """The domains whose macOS resolver file ({file name: text}) is marked as the cluster's, sorted: the file is its own
    record, so a gone cluster's is found by its mark alone."""
    return sorted(name for name, text in files.items() if DOMAIN.fullmatch(name) and resolver_owner(text) == cluster)


def record_of(cluster: str, domain: str, nameserver: str) -> dict:
    """What _records keeps of a cluster's systemd-resolved settings (a link's server and domain say nothing of whose)."""
    return {"cluster": cluster, "domain": domain, "nameserver": nameserver}


def recorded_dns(cluster: str, record: dict | None, others: dict) -> tuple:
    """((domain, nameserver) of the cluster's record, or None; why it is left alone). None also when the record holds no
    valid domain and address, and when another cluster's record (of {cluster: record}) names the same pair: a cluster
    made since took the link's settings over, and they are that cluster's now."""
    domain, nameserver = str((record or {}).get("domain") or ""), (record or {}).get("nameserver")
    try:
        nameserver = str(ipaddress.ip_address(nameserver)) if isinstance(nameserver, str) else None
    except ValueError:
        nameserver = None
    if not DOMAIN.fullmatch(domain) or nameserver is None:
        return None, None
    claimed = sorted(o for o, theirs in others.items() if (str((theirs or {}).get("domain")), (theirs or {}).get("nameserver")) == (domain, nameserver))
    if claimed:
        why = f"the record of cluster {claimed[0]} names them too (a cluster made since {cluster} went took them over)"
        return None, f"the DNS settings of {domain} ({nameserver}) stay: {why}"
    return (domain, nameserver), None
