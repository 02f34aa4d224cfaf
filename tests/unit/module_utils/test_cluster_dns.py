"""Sending a cluster's DNS domain to its DNS Service (pure): the domain the cluster says it serves, macOS's resolver file
and whose it is, systemd-resolved's per-link settings as `resolvectl` prints them, and the plan for a link."""

from __future__ import annotations

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _cluster_dns
from ansible_collections.hostreach.kind.plugins.module_utils._errors import InputError, PlanError
from hypothesis import assume, given
from hypothesis import strategies as st

# `resolvectl dns` and `resolvectl domain` of systemd 252 (Debian 12), recorded in the test laptop of
# harness/laptop.py after kind_cluster_dns had run: a link with the cluster's server, one without any.
RESOLVECTL_DNS = "Global:\nLink 722 (eth0): 10.96.0.10\nLink 9 (br-1e9b417bacdc):\n"
RESOLVECTL_DOMAIN = "Global:\nLink 722 (eth0): ~cluster.local\nLink 9 (br-1e9b417bacdc):\n"
# A laptop's Wi-Fi link with DHCP's servers and search domain, and a global server.
RESOLVECTL_DNS_WIFI = "Global: 192.0.2.53\nLink 3 (wlp2s0): 192.0.2.1 2001:db8::1\n"
RESOLVECTL_DOMAIN_WIFI = "Global:\nLink 3 (wlp2s0): home.arpa\n"


def test_the_domain_is_kubeadms_dns_domain_else_the_kubelets_cluster_domain() -> None:
    assert _cluster_dns.cluster_domain({"networking": {"dnsDomain": "cluster.local"}}, {"clusterDomain": "other.local"}) == (
        "cluster.local",
        "networking.dnsDomain of kube-system/kubeadm-config",
    )
    assert _cluster_dns.cluster_domain({"networking": {}}, {"clusterDomain": "dev.internal"}) == ("dev.internal", "clusterDomain of kube-system/kubelet-config")
    assert _cluster_dns.cluster_domain(None, {"clusterDomain": ["first.local", "second.local"]})[0] == "first.local"


@pytest.mark.parametrize(
    "kubeadm, kubelet",
    [
        (None, None),
        ({"networking": {"dnsDomain": ""}}, {}),
        (None, {"clusterDomain": "Not A Domain"}),
        (None, {"clusterDomain": "a..b"}),
        (None, {"clusterDomain": "cluster.local\n"}),
        (None, {"clusterDomain": "../../etc/passwd"}),
    ],
)
def test_a_domain_the_cluster_does_not_say_or_that_is_no_domain_is_never_assumed(kubeadm, kubelet) -> None:
    with pytest.raises(PlanError, match="says nowhere which DNS domain it serves"):
        _cluster_dns.cluster_domain(kubeadm, kubelet)


def test_the_resolver_file_sends_the_domain_to_the_dns_service_and_is_marked_as_the_clusters() -> None:
    text = _cluster_dns.resolver_file("dev", "cluster.local", "10.96.0.10")
    assert text.splitlines() == [
        "# hostreach.kind cluster dev: cluster.local is answered by the cluster's DNS Service, and only it",
        "nameserver 10.96.0.10",
        "port 53",
    ]
    assert _cluster_dns.resolver_owner(text) == "dev"


def test_whose_resolver_file() -> None:
    assert _cluster_dns.resolver_owner(None) is None  # no file
    assert _cluster_dns.resolver_owner("") == ""
    assert _cluster_dns.resolver_owner("nameserver 10.0.0.1\n") == ""  # a file someone else wrote
    assert _cluster_dns.resolver_owner("nameserver 10.0.0.1\n# hostreach.kind cluster dev: x\n") == ""  # the marker counts on line 1 only


def test_a_resolver_file_not_ours_or_another_clusters_is_refused() -> None:
    path = "/etc/resolver/cluster.local"
    assert _cluster_dns.file_problem("dev", "cluster.local", path, None) is None
    assert _cluster_dns.file_problem("dev", "cluster.local", path, _cluster_dns.resolver_file("dev", "cluster.local", "10.96.0.10")) is None
    foreign = _cluster_dns.file_problem("dev", "cluster.local", path, "nameserver 192.0.2.1\n")
    assert foreign.startswith(f"{path} exists and was not written by hostreach.kind")
    other = _cluster_dns.file_problem("dev", "cluster.local", path, _cluster_dns.resolver_file("prod", "cluster.local", "10.112.16.10"))
    assert other.startswith("clusters prod and dev both serve the domain cluster.local") and "networking.dnsDomain" in other


def test_resolvectl_output_by_link() -> None:
    assert _cluster_dns.resolved_links(RESOLVECTL_DNS) == {"eth0": ["10.96.0.10"], "br-1e9b417bacdc": []}
    assert _cluster_dns.resolved_links(RESOLVECTL_DOMAIN) == {"eth0": ["~cluster.local"], "br-1e9b417bacdc": []}
    assert _cluster_dns.resolved_links(RESOLVECTL_DNS_WIFI) == {"wlp2s0": ["192.0.2.1", "2001:db8::1"]}  # Global left out


def plan(link: str, nameserver: str, dns: str, domain: str, state: str = "present", name: str = "cluster.local") -> tuple:
    return _cluster_dns.resolved_plan(link, name, nameserver, _cluster_dns.resolved_links(dns), _cluster_dns.resolved_links(domain), state)


def test_a_link_without_settings_gets_the_server_and_the_routing_only_domain_and_a_rerun_changes_nothing() -> None:
    empty_dns, empty_domain = "Global:\nLink 9 (br-1e9b417bacdc):\n", "Global:\nLink 9 (br-1e9b417bacdc):\n"
    assert plan("br-1e9b417bacdc", "10.96.0.10", empty_dns, empty_domain) == (
        [["dns", "br-1e9b417bacdc", "10.96.0.10"], ["domain", "br-1e9b417bacdc", "~cluster.local"]],
        None,
    )
    assert plan("eth0", "10.96.0.10", RESOLVECTL_DNS, RESOLVECTL_DOMAIN) == ([], None)
    # Half done (the run stopped between the two commands): done again.
    assert plan("eth0", "10.96.0.10", RESOLVECTL_DNS, "Link 722 (eth0):\n")[0] == [["dns", "eth0", "10.96.0.10"], ["domain", "eth0", "~cluster.local"]]


def test_a_second_cluster_of_the_same_domain_on_the_same_link_is_refused() -> None:
    """Every kind cluster is on Docker's kind network, so the second cluster's DNS Service is reached through the same
    link: `resolvectl dns` would replace the first cluster's server."""
    commands, problem = plan("eth0", "10.113.0.10", RESOLVECTL_DNS, RESOLVECTL_DOMAIN)
    assert commands == []
    assert problem.startswith(
        "the link eth0 already sends ~cluster.local to 10.96.0.10, not to 10.113.0.10 (resolvectl dns eth0): two clusters share the domain cluster.local"
    )


def test_a_cluster_of_another_domain_on_a_link_that_serves_one_is_refused() -> None:
    commands, problem = plan("eth0", "10.113.0.10", RESOLVECTL_DNS, RESOLVECTL_DOMAIN, name="second.local")
    assert commands == [] and "one link serves one cluster" in problem


def test_a_link_with_servers_or_domains_of_its_own_is_never_taken_over() -> None:
    commands, problem = plan("wlp2s0", "10.96.0.10", RESOLVECTL_DNS_WIFI, RESOLVECTL_DOMAIN_WIFI)
    assert commands == [] and problem.startswith("the link wlp2s0 already sends home.arpa to 192.0.2.1 2001:db8::1")
    commands, problem = plan("wlp2s0", "10.96.0.10", "Link 3 (wlp2s0):\n", RESOLVECTL_DOMAIN_WIFI)
    assert commands == [] and "already sends home.arpa to no server" in problem


def test_the_domain_routed_on_another_link_is_refused() -> None:
    commands, problem = plan("br-1e9b417bacdc", "10.96.0.10", RESOLVECTL_DNS, RESOLVECTL_DOMAIN)
    assert commands == [] and problem.startswith("the link eth0 already sends cluster.local somewhere")


def test_absent_reverts_a_link_that_has_only_this_clusters_settings() -> None:
    assert plan("eth0", "10.96.0.10", RESOLVECTL_DNS, RESOLVECTL_DOMAIN, "absent") == ([["revert", "eth0"]], None)
    assert plan("eth0", "10.96.0.10", RESOLVECTL_DNS, "Link 722 (eth0):\n", "absent") == ([["revert", "eth0"]], None)  # half done
    assert plan("eth0", "10.96.0.10", "Link 722 (eth0):\n", "Link 722 (eth0):\n", "absent") == ([], None)  # nothing there
    assert plan("", "10.96.0.10", "Global:\n", "Global:\n", "absent") == ([], None)  # no link


def test_absent_leaves_another_clusters_or_tools_settings() -> None:
    # The second cluster's teardown: the link is the first one's.
    assert plan("eth0", "10.113.0.10", RESOLVECTL_DNS, RESOLVECTL_DOMAIN, "absent") == ([], None)
    # Someone added a server or a domain to the link meanwhile: reverting would drop it.
    assert plan("eth0", "10.96.0.10", "Link 722 (eth0): 10.96.0.10 192.0.2.1\n", RESOLVECTL_DOMAIN, "absent") == ([], None)
    assert plan("eth0", "10.96.0.10", RESOLVECTL_DNS, "Link 722 (eth0): ~cluster.local corp.example\n", "absent") == ([], None)


# The domain the cluster names is input: only kind's default and names strictly under a reserved suffix are taken.
SOURCE = "networking.dnsDomain of kube-system/kubeadm-config"
# The last labels under which a domain can be taken at all (cluster.local under local, x.home.arpa under arpa).
TAKEN_LAST_LABELS = {"internal", "test", "example", "invalid", "local", "arpa"}
LABEL = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?", fullmatch=True)
DOMAINS = st.lists(LABEL, min_size=1, max_size=5).map(".".join)


def problem(domain: str, allow: str | None = None) -> str | None:
    return _cluster_dns.domain_problem("dev", domain, SOURCE, _cluster_dns.allowed_domain(allow))


@pytest.mark.parametrize(
    "domain",
    ["cluster.local", "dev.internal", "a.b.internal", "kind.test", "cluster.example", "cluster.invalid", "kind.home.arpa", "x.y.home.arpa"],
)
def test_kinds_default_and_names_under_a_reserved_suffix_are_taken(domain: str) -> None:
    assert _cluster_dns.domain_refusal(domain) is None
    assert problem(domain) is None


@pytest.mark.parametrize(
    "domain, why",
    [
        ("com", "a one-label domain is a top-level domain"),
        ("cluster", "a one-label domain is a top-level domain"),
        ("internal", "a one-label domain is a top-level domain"),
        ("arpa", "a one-label domain is a top-level domain"),
        ("local", "mDNS's domain .local (RFC 6762)"),
        ("printer.local", "mDNS's domain .local (RFC 6762)"),
        ("svc.cluster.local", "mDNS's domain .local (RFC 6762)"),
        ("localhost", "this host itself (RFC 6761)"),
        ("app.localhost", "this host itself (RFC 6761)"),
        ("in-addr.arpa", "a reverse-lookup zone"),
        ("10.in-addr.arpa", "a reverse-lookup zone"),
        ("168.192.in-addr.arpa", "a reverse-lookup zone"),
        ("ip6.arpa", "a reverse-lookup zone"),
        ("d.f.ip6.arpa", "a reverse-lookup zone"),
        ("home.arpa", "home.arpa is the home network's own domain (RFC 8375)"),
        ("example.com", "not under a suffix reserved for private or special use"),
        ("corp.dev", "not under a suffix reserved for private or special use"),
        ("cluster.localdomain", "not under a suffix reserved for private or special use"),  # a convention, reserved by no one
        ("co.uk", "not under a suffix reserved for private or special use"),
        ("uri.arpa", "not under a suffix reserved for private or special use"),
        ("internal.com", "not under a suffix reserved for private or special use"),
        ("test.example.org", "not under a suffix reserved for private or special use"),
    ],
)
def test_a_domain_that_takes_the_hosts_own_names_is_refused_naming_it_why_and_the_fix(domain: str, why: str) -> None:
    assert why in _cluster_dns.domain_refusal(domain)
    message = problem(domain)
    assert message.startswith(f"the cluster dev serves the DNS domain {domain} ({SOURCE}), which is not sent to it from this host: ")
    assert why in message
    assert f"allow_domain: {domain} (-e hostreach_kind_dns_allow_domain={domain} for the playbooks)" in message
    assert "networking.dnsDomain in its kind config" in message and message.endswith("nothing was changed")
    # Named, it is taken; named another way (case, a trailing dot), too; another name does not let it through.
    assert problem(domain, domain) is None
    assert problem(domain, domain.upper() + ".") is None
    other = problem(domain, "other.example.com")
    assert other.startswith(message.split(". If")[0]) and f"(allow_domain names other.example.com, not {domain})" in other


@pytest.mark.parametrize("allow", ["", None])
def test_no_allow_domain_is_none(allow: str | None) -> None:
    assert _cluster_dns.allowed_domain(allow) is None


@pytest.mark.parametrize("allow", ["Not A Domain", "a..b", ".", "com\n", "../etc", "-com", "corp.dev..", "*.corp.dev"])
def test_an_allow_domain_that_is_no_domain_is_refused_before_anything(allow: str) -> None:
    with pytest.raises(InputError, match=r"^allow_domain .* is not a DNS domain"):
        _cluster_dns.allowed_domain(allow)


@given(DOMAINS)
def test_a_one_label_domain_or_one_under_no_reserved_suffix_is_refused_unless_named_exactly(domain: str) -> None:
    assume(len(domain.split(".")) == 1 or domain.split(".")[-1] not in TAKEN_LAST_LABELS)
    assert problem(domain) is not None
    assert problem(domain, domain) is None
    assert problem(domain, domain.upper() + ".") is None
    assert problem(domain, f"x{domain}") is not None and problem(domain, f"x.{domain}") is not None


@given(DOMAINS, st.sampled_from(["localhost", "local", "in-addr.arpa", "ip6.arpa", "arpa"]))
def test_names_of_the_host_mdns_and_reverse_zones_are_refused_unless_named(labels: str, suffix: str) -> None:
    domain = f"{labels}.{suffix}"
    assume(domain != "cluster.local" and not domain.endswith(".home.arpa"))
    assert problem(domain) is not None and problem(domain, domain) is None


@given(DOMAINS, st.sampled_from(_cluster_dns.PRIVATE_SUFFIXES))
def test_every_name_under_a_reserved_suffix_is_taken(labels: str, suffix: str) -> None:
    assert problem(f"{labels}.{suffix}") is None


@given(st.text(max_size=40))
def test_no_override_ever_takes_a_domain_that_is_not_valid(text: str) -> None:
    """What the cluster says is checked before the override is looked at: an invalid domain is refused whatever
    allow_domain says, and allow_domain itself must be a valid domain."""
    assume(not _cluster_dns.DOMAIN.fullmatch(text))
    with pytest.raises(PlanError, match="says nowhere which DNS domain it serves"):
        _cluster_dns.cluster_domain({"networking": {"dnsDomain": text}}, {"clusterDomain": text})
    stripped = text.lower()[:-1] if text.endswith(".") else text.lower()
    if text and not _cluster_dns.DOMAIN.fullmatch(stripped):
        with pytest.raises(InputError):
            _cluster_dns.allowed_domain(text)


@pytest.mark.parametrize(
    ("cluster_ip", "says"),
    [
        (None, "has no ClusterIP"),
        ("None", "has no ClusterIP"),
        ("10.96.0.10\nport 5353", "which is not an IP address"),
        ("10.96.0.10 -- --interface eth0", "which is not an IP address"),
        ("dns.example", "which is not an IP address"),
    ],
)
def test_a_dns_service_address_that_is_not_an_ip_address_is_refused(cluster_ip: object, says: str) -> None:
    """The ClusterIP goes into the resolver file and a resolvectl command: only an IP address gets there."""
    with pytest.raises(PlanError, match=says):
        _cluster_dns.nameserver_of({"spec": {"clusterIP": cluster_ip}}, "kube-system/kube-dns")


def test_a_dns_service_address_comes_back_as_ipaddress_writes_it() -> None:
    assert _cluster_dns.nameserver_of({"spec": {"clusterIP": "10.96.0.10"}}, "kube-system/kube-dns") == "10.96.0.10"
    assert _cluster_dns.nameserver_of({"spec": {"clusterIP": "fd00:10:96:0:0:0:0:a"}}, "kube-system/kube-dns") == "fd00:10:96::a"


# -- a gone cluster's DNS, from its resolver file's mark or its record (issue 20, item 5) --------------------------


def test_the_files_marked_as_the_clusters_are_found_by_their_mark_alone() -> None:
    files = {
        "cluster.local": _cluster_dns.resolver_file("dev", "cluster.local", "10.96.0.10"),
        "dev.internal": _cluster_dns.resolver_file("dev", "dev.internal", "10.96.0.10"),
        "other.internal": _cluster_dns.resolver_file("other", "other.internal", "10.112.0.10"),
        "vpn.test": "nameserver 192.0.2.1\n",
        "..": _cluster_dns.resolver_file("dev", "..", "10.96.0.10"),  # never a domain's file
        "devx.internal": _cluster_dns.resolver_file("devx", "devx.internal", "10.96.0.10"),
    }
    assert _cluster_dns.marked_domains("dev", files) == ["cluster.local", "dev.internal"]
    assert _cluster_dns.marked_domains("gone", files) == []


def test_a_dns_record_gives_back_the_domain_and_server_it_was_made_of() -> None:
    record = _cluster_dns.record_of("dev", "cluster.local", "10.96.0.10")
    assert _cluster_dns.recorded_dns("dev", record, {"other": _cluster_dns.record_of("other", "cluster.local", "10.112.0.10")}) == (
        ("cluster.local", "10.96.0.10"),
        None,
    )


def test_dns_settings_another_clusters_record_names_too_are_left_with_the_reason() -> None:
    record = _cluster_dns.record_of("old", "cluster.local", "10.96.0.10")
    found, left = _cluster_dns.recorded_dns("old", record, {"new": _cluster_dns.record_of("new", "cluster.local", "10.96.0.10")})
    assert found is None
    assert (
        left == "the DNS settings of cluster.local (10.96.0.10) stay: the record of cluster new names them too (a cluster made since old went took them over)"
    )


@pytest.mark.parametrize(
    "record",
    [None, {}, {"domain": "cluster.local"}, {"domain": "cluster.local", "nameserver": "10.96.0.10; reboot"}, {"domain": "-x", "nameserver": "10.96.0.10"}],
)
def test_a_dns_record_without_a_valid_domain_and_address_names_nothing(record: object) -> None:
    assert _cluster_dns.recorded_dns("dev", record, {}) == (None, None)
