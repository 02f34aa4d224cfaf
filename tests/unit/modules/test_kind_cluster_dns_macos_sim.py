"""kind_cluster_dns's macOS path, SIMULATED on Linux: `resolver: macos` with `resolver_dir` a temporary folder in place
of macOS's /etc/resolver (macOS reads /etc/resolver/<domain>; nothing here does, so what is proved is the file the
module writes, marks, refuses and removes, not that a Mac resolves with it: the name resolving through the cluster's
DNS Service is proved on Linux, tests/integration/dns).

The module runs in-process (ansible_runner.in_process) with the cluster's side given: what gather_cluster reads from
the API (domain, DNS Service IP, node IPs) and the host's routes (the DNS Service routed through a node, as
kind_cluster_routes leaves it, or not).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import pytest
from ansible.module_utils.common import warnings as ansible_warnings
from ansible_collections.hostreach.kind.plugins.module_utils import _host_routes
from ansible_collections.hostreach.kind.plugins.modules import kind_cluster_dns

from tests.ansible_runner import in_process

NODE = "172.18.0.2"
CLUSTER = kind_cluster_dns.Cluster("cluster.local", "networking.dnsDomain of kube-system/kubeadm-config", "10.96.0.10", {NODE})
ROUTED = [
    _host_routes.Route(ipaddress.ip_network("0.0.0.0/0"), "192.168.1.1", "en0"),
    _host_routes.Route(ipaddress.ip_network("10.96.0.0/16"), NODE, "br-1e9b417bacdc", "119"),
]
EXPECTED = "# hostreach.kind cluster dev: cluster.local is answered by the cluster's DNS Service, and only it\nnameserver 10.96.0.10\nport 53\n"


@pytest.fixture
def resolver_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The simulated /etc/resolver (not made yet: macOS has none until something writes one); the cluster as given."""
    monkeypatch.setattr(kind_cluster_dns, "gather_cluster", lambda params: CLUSTER)
    monkeypatch.setattr(_host_routes, "read_routes", lambda: ROUTED)
    return tmp_path / "etc" / "resolver"


def dns(resolver_dir: Path, check: bool = False, **args) -> dict:
    return in_process(kind_cluster_dns, {"cluster": "dev", "resolver": "macos", "resolver_dir": str(resolver_dir), **args}, check=check)


def test_check_mode_says_what_it_would_write_and_writes_nothing(resolver_dir: Path) -> None:
    result = dns(resolver_dir, check=True)
    assert result["changed"] is True and not result.get("failed"), result.get("msg")
    assert result["diff"] == {"before": "", "after": EXPECTED}
    assert not resolver_dir.exists()


def test_the_resolver_file_sends_the_clusters_domain_to_its_dns_service_marked_as_the_clusters(resolver_dir: Path) -> None:
    result = dns(resolver_dir)
    assert result["changed"] is True and not result.get("failed"), result.get("msg")
    path = resolver_dir / "cluster.local"
    assert (result["resolver"], result["path"], result["domain"], result["nameserver"]) == ("macos", str(path), "cluster.local", "10.96.0.10")
    assert path.read_text() == EXPECTED
    assert oct(path.stat().st_mode & 0o777) == "0o644" and oct(resolver_dir.stat().st_mode & 0o777) == "0o755"
    before = path.stat().st_mtime_ns
    again = dns(resolver_dir)
    assert again["changed"] is False and path.stat().st_mtime_ns == before


def test_absent_removes_the_clusters_file_and_then_changes_nothing(resolver_dir: Path) -> None:
    dns(resolver_dir)
    removed = dns(resolver_dir, state="absent")
    assert removed["changed"] is True and removed["diff"] == {"before": EXPECTED, "after": ""}
    assert os.listdir(resolver_dir) == []
    assert dns(resolver_dir, state="absent")["changed"] is False


def test_a_file_for_the_domain_not_written_by_the_collection_is_refused_and_kept(resolver_dir: Path) -> None:
    resolver_dir.mkdir(parents=True)
    path = resolver_dir / "cluster.local"
    path.write_bytes(b"nameserver 192.0.2.1\n")  # a VPN client's, say
    refused = dns(resolver_dir)
    assert refused["failed"] is True
    assert refused["msg"] == (
        f"{path} exists and was not written by hostreach.kind: cluster.local is already sent somewhere; move that file away, "
        "or leave DNS off; nothing was changed"
    )
    assert dns(resolver_dir, state="absent")["changed"] is False  # teardown leaves it too, without failing
    assert path.read_bytes() == b"nameserver 192.0.2.1\n"


def test_a_second_cluster_of_the_same_domain_is_refused_and_its_teardown_leaves_the_first_ones_file(resolver_dir: Path) -> None:
    dns(resolver_dir)  # cluster dev
    refused = dns(resolver_dir, cluster="prod")
    assert refused["failed"] is True
    assert refused["msg"].startswith("clusters dev and prod both serve the domain cluster.local: give one of them another")
    torn = dns(resolver_dir, cluster="prod", state="absent")
    assert torn["changed"] is False and not torn.get("failed"), torn.get("msg")
    assert (resolver_dir / "cluster.local").read_text() == EXPECTED


def test_a_dns_service_this_host_does_not_route_through_a_node_is_refused(resolver_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_host_routes, "read_routes", lambda: ROUTED[:1])  # only the default route: 10.96.0.10 would leave the machine
    refused = dns(resolver_dir)
    assert refused["failed"] is True
    assert refused["msg"].startswith("this host does not route the DNS Service 10.96.0.10 through a kind node")
    assert not resolver_dir.exists()


def test_check_mode_before_the_routes_previews_the_file_a_real_run_refuses(resolver_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A check run of expose.yml adds no routes (kind_cluster_routes only plans them): the DNS step still previews."""
    bridge = _host_routes.Route(ipaddress.ip_network("172.18.0.0/16"), None, "bridge100")  # the nodes' network, reached directly
    monkeypatch.setattr(_host_routes, "read_routes", lambda: [ROUTED[0], bridge])
    preview = dns(resolver_dir, check=True)
    assert preview["changed"] is True and not preview.get("failed"), preview.get("msg")
    assert preview["diff"]["after"] == EXPECTED and not resolver_dir.exists()
    assert dns(resolver_dir)["failed"] is True
    # An address routed somewhere else than a node (a VPN's route) is refused in check mode too.
    vpn = _host_routes.Route(ipaddress.ip_network("10.96.0.0/12"), "10.8.0.1", "tun0")
    monkeypatch.setattr(_host_routes, "read_routes", lambda: [ROUTED[0], bridge, vpn])
    refused = dns(resolver_dir, check=True)
    assert refused["failed"] is True and "(its route: via 10.8.0.1 dev tun0 (10.96.0.0/12))" in refused["msg"]


HOSTILE = ["com", "local", "10.in-addr.arpa", "example.com"]


def warnings(result: dict) -> list:
    """The warnings' texts (Ansible 2.19 reports each as a dict with its event). Ansible keeps them for the process:
    a test that reads them starts with none (monkeypatch.setattr(ansible_warnings, "_global_warnings", {}))."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


def serving(monkeypatch: pytest.MonkeyPatch, domain: str) -> None:
    """The cluster as given, serving `domain` (its networking.dnsDomain)."""
    monkeypatch.setattr(kind_cluster_dns, "gather_cluster", lambda params: CLUSTER._replace(domain=domain))


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
@pytest.mark.parametrize("domain", HOSTILE)
def test_a_domain_that_takes_the_hosts_own_names_writes_no_resolver_file_and_says_why(
    resolver_dir: Path, monkeypatch: pytest.MonkeyPatch, domain: str, check: bool
) -> None:
    serving(monkeypatch, domain)
    refused = dns(resolver_dir, check=check)
    assert refused["failed"] is True and refused["changed"] is False
    assert refused["msg"].startswith(f"the cluster dev serves the DNS domain {domain} (networking.dnsDomain of kube-system/kubeadm-config), which is not")
    assert f"allow_domain: {domain}" in refused["msg"] and refused["msg"].endswith("nothing was changed")
    assert not resolver_dir.exists()
    # Another domain named does not let it through either.
    assert dns(resolver_dir, check=check, allow_domain="corp.example")["failed"] is True and not resolver_dir.exists()


@pytest.mark.parametrize("domain", HOSTILE)
def test_a_refused_domain_named_in_allow_domain_is_sent_to_the_cluster(resolver_dir: Path, monkeypatch: pytest.MonkeyPatch, domain: str) -> None:
    serving(monkeypatch, domain)
    result = dns(resolver_dir, allow_domain=f"{domain.upper()}.")
    assert result["changed"] is True and not result.get("failed"), result.get("msg")
    assert (resolver_dir / domain).read_text() == EXPECTED.replace("cluster.local", domain)


def test_teardown_of_a_refused_domain_leaves_the_resolver_alone_unless_named(resolver_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An earlier version wrote /etc/resolver/com for the cluster: teardown warns and keeps it; named, it goes."""
    serving(monkeypatch, "com")
    assert dns(resolver_dir, allow_domain="com")["changed"] is True
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
    kept = dns(resolver_dir, state="absent")
    assert kept["changed"] is False and not kept.get("failed"), kept.get("msg")
    says = "the cluster dev serves the DNS domain com (networking.dnsDomain of kube-system/kubeadm-config)"
    assert [message.split(", which")[0] for message in warnings(kept)] == [says]
    assert (resolver_dir / "com").exists()
    assert dns(resolver_dir, state="absent", allow_domain="com")["changed"] is True
    assert os.listdir(resolver_dir) == []


def test_an_allow_domain_that_is_no_domain_is_refused_before_the_cluster_is_read(resolver_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kind_cluster_dns, "gather_cluster", lambda params: pytest.fail("the cluster was read"))
    refused = dns(resolver_dir, allow_domain="../../etc")
    assert refused["failed"] is True and refused["msg"].startswith("allow_domain '../../etc' is not a DNS domain")
    assert not resolver_dir.exists()


def test_apply_false_plans_the_file_as_the_user_and_leaves_the_write_to_the_root_step(resolver_dir: Path) -> None:
    """Issue 18 item 9: the module reads and plans; the file's content goes to the role's root task, nothing is written."""
    planned = dns(resolver_dir, apply=False)
    assert planned["changed"] is True and planned["content"] == EXPECTED and planned["path"] == str(resolver_dir / "cluster.local")
    assert not resolver_dir.exists()
    dns(resolver_dir)  # what the root step does, done here by the module
    assert "content" not in dns(resolver_dir, apply=False)  # nothing to change: nothing for the root step
    removal = dns(resolver_dir, apply=False, state="absent")
    assert removal["changed"] is True and removal["content"] is None and (resolver_dir / "cluster.local").read_text() == EXPECTED
