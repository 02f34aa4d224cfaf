"""state=absent of kind_cluster_routes and kind_cluster_dns once the cluster is gone (issue 20, item 5): `kind delete
cluster` removed its context, so nothing can be asked of it; what expose put in is found by its record
(module_utils/_records) or its mark, removed, and nothing else is touched.

The modules run in-process (ansible_runner.in_process). The cluster answers through a stand-in API until the test
deletes it (its context then is missing: the real _kubeconfig error). This host's table is a stand-in that `ip` changes
(AnsibleModule.run_command), the Docker VM a recorder, systemd-resolved a stand-in that `resolvectl` changes.
"""

from __future__ import annotations

import ipaddress
import json
import typing as t
from pathlib import Path

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common import warnings as ansible_warnings
from ansible_collections.hostreach.kind.plugins.module_utils import _host_routes, _kube, _records, _route_targets
from ansible_collections.hostreach.kind.plugins.module_utils._errors import KubeNoContext
from ansible_collections.hostreach.kind.plugins.modules import kind_cluster_dns, kind_cluster_routes

from tests.ansible_runner import in_process

from .test_kind_cluster_routes import Api, node

NODE = "172.18.0.2"
DEFAULT = {"dst": "default", "gateway": "192.168.1.1", "dev": "eth0", "protocol": "dhcp"}
KIND_NET = {"dst": "172.18.0.0/16", "dev": "br-1e9b417bacdc", "protocol": "kernel"}


def api(name: str, address: str, service: str, pods: str) -> Api:
    """A kind cluster with one node at `address` and its own ranges."""
    return Api([node(f"{name}-control-plane", address, pods, True)], service)


class Host:
    """This host's main table as `ip -j route show table main` prints it; `ip route replace|del` change it."""

    def __init__(self) -> None:
        self.routes = [dict(DEFAULT), dict(KIND_NET)]
        self.changes: list = []

    def ip(self, args: list) -> tuple:
        if args[:3] == ["ip", "-j", "route"]:
            return 0, json.dumps(self.routes), ""
        verb, cidr, via = args[2], args[3], args[5]
        self.changes.append(args)
        self.routes = [r for r in self.routes if r["dst"] != cidr]
        if verb == "replace":
            self.routes.append({"dst": cidr, "gateway": via, "dev": "br-1e9b417bacdc", "protocol": int(args[7])})
        return 0, "", ""

    def proto_119(self) -> set:
        return {(r["dst"], r["gateway"]) for r in self.routes if r.get("protocol") == 119}

    def as_read(self) -> list:
        return _host_routes.parse_ip_json(json.dumps([r for r in self.routes if r.get("protocol") != 119]))


@pytest.fixture
def clusters(monkeypatch: pytest.MonkeyPatch) -> dict:
    """{name: Api} of the clusters that exist; a name not in it has no context (as after kind delete cluster)."""
    running: dict = {}

    def connect(kubeconfig: t.Any, context: t.Any, cluster: str) -> Api:
        if cluster not in running:
            raise KubeNoContext(f"kubeconfig /home/dev/.kube/config has no context 'kind-{cluster}' (from cluster {cluster!r} (context kind-<cluster>))")
        return running[cluster]

    monkeypatch.setattr(_kube, "connect", connect)
    monkeypatch.setattr(_kube, "require_sdk", lambda: None)
    return running


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Host:
    table = Host()
    monkeypatch.setattr(AnsibleModule, "run_command", lambda self, args, **kwargs: table.ip(args))
    monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: f"/usr/sbin/{name}")
    monkeypatch.setattr(_host_routes, "read_routes", table.as_read)
    return table


def run(module: t.Any, args: dict, check: bool) -> dict:
    """The module in-process; its result, with this run's warnings as text."""
    ansible_warnings._global_warnings.clear()
    result = in_process(module, args, check=check)
    result["warnings"] = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    return result


def routes(cluster: str, check: bool = False, **args: t.Any) -> dict:
    return run(kind_cluster_routes, {"cluster": cluster, **args}, check)


def test_absent_removes_a_gone_clusters_host_routes_by_its_record_and_then_changes_nothing(clusters: dict, host: Host) -> None:
    clusters["dev"] = api("dev", NODE, "10.96.0.0/16", "10.244.0.0/24")
    assert routes("dev")["changed"] is True
    made = host.proto_119()
    assert made == {("10.96.0.0/16", NODE), ("10.244.0.0/24", NODE)}
    record = json.loads(Path(_records.path("routes", "dev")).read_text())
    assert {(r["cidr"], r["via"], r["role"]) for r in record["routes"]} == {("10.96.0.0/16", NODE, "service"), ("10.244.0.0/24", NODE, "pod")}
    del clusters["dev"]  # kind delete cluster
    host.changes.clear()

    checked = routes("dev", check=True, state="absent")
    assert checked["changed"] is True and checked["cluster_gone"] is True and not checked.get("failed"), checked.get("msg")
    assert host.proto_119() == made and host.changes == [] and Path(_records.path("routes", "dev")).exists()

    torn = routes("dev", state="absent")
    assert torn["changed"] is True and torn["cluster_gone"] is True, torn.get("msg")
    assert sorted(torn["removed"]) == sorted(f"{c} via {v}" for c, v in made)
    assert host.proto_119() == set() and not Path(_records.path("routes", "dev")).exists()
    assert torn["service_cidrs_source"].startswith(f"the record {_records.path('routes', 'dev')} (the cluster is gone: kubeconfig")

    again = routes("dev", state="absent")
    assert (again["changed"], again["cluster_gone"], again["removed"]) == (False, True, [])


def test_a_gone_clusters_absent_removes_its_routes_and_leaves_another_clusters_and_the_users(clusters: dict, host: Host) -> None:
    clusters["old"] = api("old", NODE, "10.96.0.0/16", "10.244.0.0/24")
    clusters["other"] = api("other", "172.18.0.3", "10.112.0.0/20", "10.247.0.0/24")
    routes("old")
    routes("other")
    del clusters["old"]
    user = {"dst": "10.250.9.0/24", "gateway": NODE, "dev": "br-1e9b417bacdc", "protocol": 119}  # proto 119 through old's node, in no record
    host.routes.append(user)
    torn = routes("old", state="absent")
    assert torn["changed"] is True and sorted(torn["removed"]) == [f"10.244.0.0/24 via {NODE}", f"10.96.0.0/16 via {NODE}"], torn
    assert host.proto_119() == {("10.112.0.0/20", "172.18.0.3"), ("10.247.0.0/24", "172.18.0.3"), ("10.250.9.0/24", NODE)}


def test_a_gone_clusters_absent_leaves_what_a_cluster_made_since_took_over(clusters: dict, host: Host) -> None:
    """`old` is deleted without a teardown; `new`, made since, got the same node address and Service range, and its
    expose took `old`'s routes through that address over (the Service range's route kept, the old Pod range's pruned)."""
    clusters["old"] = api("old", NODE, "10.96.0.0/16", "10.244.0.0/24")
    routes("old")
    del clusters["old"]
    clusters["new"] = api("new", NODE, "10.96.0.0/16", "10.244.1.0/24")
    assert routes("new")["removed"] == [f"10.244.0.0/24 via {NODE}"]
    before = host.proto_119()

    torn = routes("old", state="absent")
    assert (torn["changed"], torn["removed"]) == (False, []) and host.proto_119() == before
    assert torn["warnings"] == [f"10.96.0.0/16 via {NODE} stays: the record of cluster new names it too (a cluster made since old went took it over)"]


def test_a_gone_cluster_without_a_record_has_nothing_removed(clusters: dict, host: Host) -> None:
    host.routes.append({"dst": "10.96.0.0/16", "gateway": NODE, "dev": "br-1e9b417bacdc", "protocol": 119})
    torn = routes("never", state="absent")
    assert (torn["changed"], torn["cluster_gone"], torn["removed"]) == (False, True, []) and host.changes == []


def test_present_still_fails_on_a_missing_context(clusters: dict, host: Host) -> None:
    failed = routes("gone")
    assert failed["failed"] is True and "has no context 'kind-gone'" in failed["msg"] and failed["cluster_gone"] is True
    assert not Path(_records.path("routes", "gone")).exists()


def test_apply_false_plans_the_gone_clusters_removal_for_the_root_step(clusters: dict, host: Host) -> None:
    clusters["dev"] = api("dev", NODE, "10.96.0.0/16", "10.244.0.0/24")
    routes("dev")
    del clusters["dev"]
    host.changes.clear()
    planned = routes("dev", state="absent", apply=False)
    assert sorted(planned["commands"]) == sorted(
        [["ip", "route", "del", "10.96.0.0/16", "via", NODE, "proto", "119"], ["ip", "route", "del", "10.244.0.0/24", "via", NODE, "proto", "119"]]
    )
    assert host.changes == []


def test_connector_absent_removes_the_gone_clusters_lines_and_vm_routes_only(clusters: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "docker-connector.conf"
    config.write_text("route 172.17.0.0/16\nroute 10.112.0.0/20 # hostreach.kind cluster other\n")
    vm_table = {"other": "10.112.0.0/20 via 172.18.0.9 dev eth0\n"}
    scripts: list = []

    def vm(self: t.Any, script: str) -> str:
        scripts.append(script)
        return "".join(vm_table.values()) if script == "ip route show" else ""

    monkeypatch.setattr(_route_targets.Connector, "_vm", vm)
    monkeypatch.setattr(_host_routes, "read_routes", lambda: [])
    args = {"target": "connector", "connector_config": str(config)}
    clusters["dev"] = api("dev", NODE, "10.96.0.0/16", "10.244.0.0/24")
    assert routes("dev", **args)["changed"] is True
    assert "route 10.96.0.0/16 # hostreach.kind cluster dev" in config.read_text()
    vm_table["dev"] = f"10.96.0.0/16 via {NODE} dev eth0\n10.244.0.0/24 via {NODE} dev eth0\n"
    del clusters["dev"]
    scripts.clear()

    torn = routes("dev", state="absent", **args)
    assert torn["changed"] is True and torn["cluster_gone"] is True, torn.get("msg")
    assert config.read_text() == "route 172.17.0.0/16\nroute 10.112.0.0/20 # hostreach.kind cluster other\n"
    (script,) = [s for s in scripts if s != "ip route show"]
    assert sorted(script.splitlines()[1:]) == [f"ip route del 10.244.0.0/24 via {NODE}", f"ip route del 10.96.0.0/16 via {NODE}"]


# -- kind_cluster_dns -------------------------------------------------------------------------------------------------

DNS = kind_cluster_dns.Cluster("cluster.local", "networking.dnsDomain of kube-system/kubeadm-config", "10.96.0.10", {NODE})
LINK = "br-1e9b417bacdc"


class Resolved:
    """systemd-resolved's per-link settings as `resolvectl dns` and `resolvectl domain` print them."""

    def __init__(self) -> None:
        self.dns: dict = {LINK: [], "eth0": ["192.168.1.1"]}
        self.domains: dict = {LINK: [], "eth0": ["lan"]}
        self.changes: list = []

    def run(self, args: list) -> tuple:
        if args[1:] in (["status"], ["dns"], ["domain"]):
            table = self.dns if args[1] == "dns" else self.domains
            return 0, "Global:\n" + "".join(f"Link {i} ({k}): {' '.join(v)}\n" for i, (k, v) in enumerate(sorted(table.items()))), ""
        self.changes.append(args[1:])
        if args[1] == "revert":
            self.dns[args[2]], self.domains[args[2]] = [], []
        else:
            (self.dns if args[1] == "dns" else self.domains)[args[2]] = args[3:]
        return 0, "", ""


def dns(monkeypatch: pytest.MonkeyPatch, cluster: kind_cluster_dns.Cluster | None, check: bool = False, **args: t.Any) -> dict:
    """The module with the cluster's side given (None: its context is gone)."""

    def gather(params: dict) -> kind_cluster_dns.Cluster:
        if cluster is None:
            raise KubeNoContext("kubeconfig /home/dev/.kube/config has no context 'kind-dev'")
        return cluster

    monkeypatch.setattr(kind_cluster_dns, "gather_cluster", gather)
    return run(kind_cluster_dns, {"cluster": "dev", **args}, check)


@pytest.fixture
def resolved(monkeypatch: pytest.MonkeyPatch) -> Resolved:
    state = Resolved()
    monkeypatch.setattr(AnsibleModule, "run_command", lambda self, args, **kwargs: state.run(args))
    monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: f"/usr/bin/{name}")
    monkeypatch.setattr(kind_cluster_dns, "routed_link", lambda cluster, check_mode=False: LINK)
    # The cluster's routes are still in (teardown removes them after the DNS), through the gone cluster's node.
    routed = [_host_routes.Route(ipaddress.ip_network("10.96.0.0/16"), NODE, LINK, "119")]
    monkeypatch.setattr(_host_routes, "read_routes", lambda: routed)
    return state


def test_resolved_absent_reverts_a_gone_clusters_link_by_its_record(monkeypatch: pytest.MonkeyPatch, resolved: Resolved) -> None:
    assert dns(monkeypatch, DNS, resolver="resolved")["changed"] is True
    assert (resolved.dns[LINK], resolved.domains[LINK]) == (["10.96.0.10"], ["~cluster.local"])
    assert json.loads(Path(_records.path("dns", "dev")).read_text()) == {"cluster": "dev", "domain": "cluster.local", "nameserver": "10.96.0.10"}

    checked = dns(monkeypatch, None, check=True, resolver="resolved", state="absent")
    assert checked["changed"] is True and checked["cluster_gone"] is True and checked["commands"] == [["resolvectl", "revert", LINK]]
    assert resolved.dns[LINK] == ["10.96.0.10"] and Path(_records.path("dns", "dev")).exists()

    torn = dns(monkeypatch, None, resolver="resolved", state="absent")
    assert torn["changed"] is True and torn["cluster_gone"] is True and torn["domain"] == "cluster.local", torn.get("msg")
    assert (resolved.dns, resolved.domains) == (Resolved().dns, Resolved().domains)
    assert not Path(_records.path("dns", "dev")).exists()

    again = dns(monkeypatch, None, resolver="resolved", state="absent")
    assert (again["changed"], again["cluster_gone"]) == (False, True) and "domain" not in again


def test_resolved_absent_leaves_what_a_cluster_made_since_took_over(monkeypatch: pytest.MonkeyPatch, resolved: Resolved) -> None:
    dns(monkeypatch, DNS, resolver="resolved")
    Path(_records.path("dns", "new")).write_text(_records.render({"cluster": "new", "domain": "cluster.local", "nameserver": "10.96.0.10"}))
    torn = dns(monkeypatch, None, resolver="resolved", state="absent")
    assert torn["changed"] is False and resolved.changes == [["dns", LINK, "10.96.0.10"], ["domain", LINK, "~cluster.local"]]
    assert torn["warnings"] == [
        "the DNS settings of cluster.local (10.96.0.10) stay: the record of cluster new names them too (a cluster made since dev went took them over)"
    ]


def test_macos_absent_removes_the_file_marked_as_the_gone_clusters_and_no_other(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_host_routes, "read_routes", lambda: [_host_routes.Route(ipaddress.ip_network("10.96.0.0/16"), NODE, "utun5")])
    folder = tmp_path / "resolver"
    args = {"resolver": "macos", "resolver_dir": str(folder)}
    assert dns(monkeypatch, DNS, **args)["changed"] is True
    (folder / "corp.internal").write_text("# hostreach.kind cluster other: corp.internal is answered by the cluster's DNS Service, and only it\n")
    (folder / "vpn.test").write_text("nameserver 192.0.2.1\n")

    torn = dns(monkeypatch, None, **args, state="absent")
    assert torn["changed"] is True and torn["cluster_gone"] is True and torn["path"] == str(folder / "cluster.local"), torn.get("msg")
    assert sorted(p.name for p in folder.iterdir()) == ["corp.internal", "vpn.test"]
    assert dns(monkeypatch, None, **args, state="absent")["changed"] is False
