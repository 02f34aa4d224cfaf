"""Service names resolve from a Linux machine through systemd-resolved's per-link DNS (issue 14), on the real thing:
a laptop container with systemd as PID 1 and systemd-resolved on kind's network (harness/laptop.py), the
collection run in it as a user runs it (ansible-playbook here, the community.docker.docker connection, user dev with
sudo, ~dev/.kube/config), playbooks/expose.yml with hostreach_kind_reach=routes (hostreach_kind_dns follows).

kind_cluster_routes puts the Service and Pod ranges into the laptop's table through the node, kind_cluster_dns gives
the link toward the node the cluster's DNS Service (kube-system/kube-dns) and the routing-only domain ~cluster.local.
Every address contacted is a node, Service or pod of the test's clusters, and only after `ip route get` in the laptop
says it goes through a node; the laptop's resolved has no upstream server (harness/laptop-image/resolved-laptop.conf), and a
name outside the cluster's domain is looked up only with every packet to the cluster's DNS Service dropped, so no
query can reach the cluster's CoreDNS and be forwarded to this host's resolvers.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from kubernetes import client

from harness.kind import DEMO_HTTPD_INDEX, KindCluster
from harness.kind_objects import nslookup, wait_for
from harness.laptop import HOME, USER, Laptop

from .laptop_dns import DEMO, DOMAIN, SUMMARY, kube_dns, settings

pytestmark = pytest.mark.kind

# Everything of resolved's that the collection could touch or make resolved rewrite: the stub symlink and what it points
# at, resolved's own files in /run (resolv.conf lists the links' servers, netif/<ifindex> keeps a link's settings), and
# its configuration.
RESOLVER_PATHS = ("/etc/resolv.conf", "/etc/systemd/resolved.conf", "/etc/systemd/resolved.conf.d", "/run/systemd/resolve")
SNAPSHOT = r"""
import base64, json, os, stat, sys
found = {}
def take(path):
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        found[path] = "-> " + os.readlink(path)
        target = os.path.join(os.path.dirname(path), os.readlink(path))
        if os.path.exists(target):
            take(os.path.realpath(target))
    elif stat.S_ISDIR(info.st_mode):
        for name in sorted(os.listdir(path)):
            take(os.path.join(path, name))
    elif stat.S_ISREG(info.st_mode):
        with open(path, "rb") as handle:
            found[path] = base64.b64encode(handle.read()).decode()
for path in sys.argv[1:]:
    if os.path.lexists(path):
        take(path)
print(json.dumps(found))
"""
OUTSIDE_NAME = "hostreach-outside-the-cluster.example"
EXEC_LOG = f"{HOME}/exec-plugin-uids"  # one line per run of the kubeconfig's credential plugin: the uid


def resolver_files(laptop: Laptop) -> dict:
    """Path -> content (base64) or symlink target, of every file under RESOLVER_PATHS (symlinks followed)."""
    return json.loads(laptop.run("/usr/bin/python3", "-c", SNAPSHOT, *RESOLVER_PATHS, check=True).stdout)


def shown(files: dict, path: str) -> str:
    return base64.b64decode(files[path]).decode()


def resolver_view(laptop: Laptop) -> dict:
    """What `resolvectl` says of every link, and the laptop's IPv4 routes."""
    return {
        "dns": laptop.resolvectl("dns"),
        "domain": laptop.resolvectl("domain"),
        "routes": laptop.run("ip", "-4", "route", "show", check=True).stdout,
    }


def routed_through(laptop: Laptop, cluster: KindCluster, address: str) -> None:
    """The laptop sends packets to `address` through a node of `cluster` (checked before any packet goes there)."""
    words = laptop.run("ip", "route", "get", address, check=True).stdout.split()
    assert "via" in words and words[words.index("via") + 1] in cluster.node_ips.values(), f"{address} is not routed through {cluster.name}: {words}"


@pytest.fixture(scope="module")
def before(laptop: Laptop, kind_cluster: KindCluster, demo) -> tuple:
    """The laptop's resolver files and view before any run of this module; its kubeconfig has the cluster, with an
    exec credential plugin that logs the uid it runs as (EXEC_LOG)."""
    laptop.run("rm", "-f", EXEC_LOG, check=True)
    laptop.kubeconfig(kind_cluster, exec_log=EXEC_LOG)
    return resolver_files(laptop), resolver_view(laptop)


@pytest.fixture(scope="module")
def exposed(laptop: Laptop, kind_cluster: KindCluster, demo, before, tmp_path_factory):
    """expose.yml run on the laptop; teardown.yml at the end if a test has not run it."""
    ns = demo[0]
    directory = tmp_path_factory.mktemp("laptop")
    done = laptop.playbook("hostreach.kind.expose", settings(ns, kind_cluster), directory)
    yield done, directory
    if laptop.resolvectl("domain") != before[1]["domain"] or laptop.run("ip", "-4", "route", "show").stdout != before[1]["routes"]:
        laptop.playbook("hostreach.kind.teardown", settings(ns, kind_cluster), directory)


def test_the_laptop_is_a_linux_machine_whose_resolver_is_systemd_resolved_with_no_upstream(laptop: Laptop, before) -> None:
    files, view = before
    assert files["/etc/resolv.conf"] == "-> ../run/systemd/resolve/stub-resolv.conf"
    assert "nameserver 127.0.0.53" in shown(files, "/run/systemd/resolve/stub-resolv.conf").splitlines()
    assert laptop.run("systemctl", "is-active", "systemd-resolved").stdout.strip() == "active"
    status = laptop.resolvectl("status")
    assert "DNS Servers" not in status and "Fallback DNS" not in status, status  # nowhere to send a name to yet
    assert "~" not in view["domain"]


def test_check_mode_changes_nothing(laptop: Laptop, kind_cluster: KindCluster, demo, before, tmp_path: Path) -> None:
    done = laptop.playbook("hostreach.kind.expose", settings(demo[0], kind_cluster), tmp_path, check=True, diff=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert resolver_view(laptop) == before[1]
    assert resolver_files(laptop) == before[0]
    assert laptop.read(SUMMARY) is None


def test_a_service_name_resolves_on_the_laptop_through_the_routed_dns_service_and_answers_http_200(
    laptop: Laptop, kind_cluster: KindCluster, demo, exposed
) -> None:
    ns, service, _pod = demo
    done, _directory = exposed
    assert done.returncode == 0, done.stdout + done.stderr
    nameserver, name = kube_dns(kind_cluster), f"{DEMO}.{ns}.svc.{DOMAIN}"
    link = laptop.link_toward(kind_cluster.node_ips[kind_cluster.control_plane])
    # The link toward the node has the cluster's DNS Service and only the routing domain ~cluster.local.
    assert f"({link}): {nameserver}" in laptop.resolvectl("dns")
    assert [line.split(": ", 1)[1] for line in laptop.resolvectl("domain").splitlines() if "~" in line] == [f"~{DOMAIN}"]
    assert f"({link}): ~{DOMAIN}" in laptop.resolvectl("domain")
    status = laptop.resolvectl("status", link)
    assert "-DefaultRoute" in status, status  # names outside ~cluster.local are not sent to this link's server
    routed_through(laptop, kind_cluster, nameserver)
    routed_through(laptop, kind_cluster, service.spec.cluster_ip)

    assert laptop.run("getent", "hosts", name, check=True).stdout.split() == [service.spec.cluster_ip, name]
    curl = laptop.run("curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}", f"http://{name}/", user="dev")
    assert curl.stdout == f"{DEMO_HTTPD_INDEX}\n200", curl.stderr

    rows = json.loads(laptop.read(SUMMARY))
    assert [(r["url"], r["diagnosis"], r["status"]) for r in rows] == [
        (f"http://{service.spec.cluster_ip}:80", "reachable", 200),
        (f"http://{name}:80", "reachable", 200),
    ]
    assert f"http://{name}:80" in done.stdout and "2 reachable" in done.stdout


def test_the_cluster_is_read_as_the_user_and_only_the_resolver_and_route_commands_run_as_root(laptop: Laptop, exposed) -> None:
    """Issue 18 item 9: expose with routes and DNS on a laptop whose kubeconfig logs in through an exec credential
    plugin. Every run of the plugin was the user's (dev), never root's, though the routes and the resolver changed."""
    done, _directory = exposed
    assert done.returncode == 0, done.stdout + done.stderr
    uids = laptop.read(EXEC_LOG).split()
    dev = laptop.run("id", "-u", USER, check=True).stdout.strip()
    assert uids and set(uids) == {dev}, uids
    assert "Change this host's routes as the plan says (root, `ip route` only)" in done.stdout
    assert "Tell systemd-resolved (Linux)" in done.stdout


def test_a_name_outside_the_clusters_domain_is_not_sent_to_the_clusters_dns(laptop: Laptop, kind_cluster: KindCluster, exposed) -> None:
    nameserver = kube_dns(kind_cluster)
    rule = ["OUTPUT", "-d", nameserver, "-j", "DROP"]
    laptop.run("iptables", "-I", *rule, check=True)
    try:
        query = laptop.run("resolvectl", "query", "--cache=no", OUTSIDE_NAME)
        assert query.returncode != 0 and "No appropriate name servers or networks for name found" in query.stdout + query.stderr, query
        assert laptop.run("getent", "hosts", OUTSIDE_NAME).returncode == 2  # through the stub too: not found
        counters = laptop.run("iptables", "-L", "OUTPUT", "-v", "-n", "-x", check=True).stdout
        dropped = [line.split() for line in counters.splitlines() if nameserver in line and "DROP" in line]
        assert dropped and dropped[0][0] == "0", counters  # not one packet toward the cluster's DNS
    finally:
        laptop.run("iptables", "-D", *rule, check=True)
    # The counter counts what goes to the cluster's DNS: a cluster name does.
    count = ["OUTPUT", "-d", nameserver, "-j", "ACCEPT"]
    laptop.run("iptables", "-I", *count, check=True)
    try:
        laptop.run("resolvectl", "query", "--cache=no", f"kubernetes.default.svc.{DOMAIN}", check=True)
        counters = laptop.run("iptables", "-L", "OUTPUT", "-v", "-n", "-x", check=True).stdout
        counted = [line.split() for line in counters.splitlines() if nameserver in line and "ACCEPT" in line]
        assert counted and int(counted[0][0]) > 0, counters
    finally:
        laptop.run("iptables", "-D", *count, check=True)


def test_a_pod_resolves_the_same_name(kind_cluster: KindCluster, demo) -> None:
    ns, service, pod = demo
    name = f"{DEMO}.{ns}.svc.{DOMAIN}"
    assert wait_for(lambda: nslookup(kind_cluster, ns, pod.metadata.name, name), 30, f"an answer for {name} in a pod") == [service.spec.cluster_ip]


def test_the_macos_resolver_file_simulated_in_the_laptop_names_the_routed_dns_service(laptop: Laptop, kind_cluster: KindCluster, exposed) -> None:
    """SIMULATION of macOS's /etc/resolver on the laptop (a folder of its own): the real module against the real
    cluster writes the file macOS would read, and removes it."""
    directory = "/tmp/hostreach-resolver-sim"
    task = {"cluster": kind_cluster.name, "resolver": "macos", "resolver_dir": directory, "kubeconfig": f"{HOME}/.kube/config"}
    play = [{"hosts": "laptop", "gather_facts": False, "become": True, "tasks": [{"hostreach.kind.kind_cluster_dns": task}]}]
    written = laptop.playbook(play, {}, Path(exposed[1]))
    assert written.returncode == 0, written.stdout + written.stderr
    assert laptop.read(f"{directory}/{DOMAIN}") == (
        f"# hostreach.kind cluster {kind_cluster.name}: {DOMAIN} is answered by the cluster's DNS Service, and only it\n"
        f"nameserver {kube_dns(kind_cluster)}\nport 53\n"
    )
    task["state"] = "absent"
    removed = laptop.playbook(play, {}, Path(exposed[1]))
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert laptop.run("ls", "-A", directory, check=True).stdout == ""


def test_teardown_leaves_the_laptops_resolver_as_it_was(laptop: Laptop, kind_cluster: KindCluster, demo, before, exposed) -> None:
    ns = demo[0]
    done = laptop.playbook("hostreach.kind.teardown", settings(ns, kind_cluster), exposed[1])
    assert done.returncode == 0, done.stdout + done.stderr
    assert resolver_files(laptop) == before[0]  # byte for byte
    assert resolver_view(laptop) == before[1]  # the link's DNS and domain as before, the routes gone
    assert laptop.run("getent", "hosts", f"{DEMO}.{ns}.svc.{DOMAIN}").returncode == 2


def test_a_second_cluster_with_the_same_domain_is_refused_and_the_first_keeps_its_dns(
    laptop: Laptop, kind_cluster: KindCluster, subnets_cluster: KindCluster, demo, before, tmp_path: Path
) -> None:
    """Both clusters' DNS Services are reached through the laptop's one link toward kind's network; the second cluster
    has its own Service range (so its routes go in beside the first's) and the same domain, cluster.local."""
    ns, service, _pod = demo
    laptop.kubeconfig(kind_cluster, subnets_cluster)
    first, second = kube_dns(kind_cluster), kube_dns(subnets_cluster)
    # The run names one namespace for both clusters: the second has it too (empty), as a team's clusters do.
    subnets_cluster.core_v1().create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    try:
        done = laptop.playbook("hostreach.kind.expose", settings(ns, kind_cluster, subnets_cluster), tmp_path)
        assert done.returncode != 0
        link = laptop.link_toward(kind_cluster.node_ips[kind_cluster.control_plane])
        assert (
            f"the link {link} already sends ~{DOMAIN} to {first}, not to {second} (resolvectl dns {link}): two clusters share the domain {DOMAIN}"
            in done.stdout
        ), done.stdout
        assert f"({link}): {first}\n" in laptop.resolvectl("dns")  # the first cluster's server, not replaced
        routed_through(laptop, subnets_cluster, second)  # the second's routes went in all the same
        assert laptop.run("getent", "hosts", f"{DEMO}.{ns}.svc.{DOMAIN}", check=True).stdout.split()[0] == service.spec.cluster_ip

        # The second cluster's teardown leaves the first one's DNS.
        alone = laptop.playbook("hostreach.kind.teardown", settings(ns, subnets_cluster), tmp_path)
        assert alone.returncode == 0, alone.stdout + alone.stderr
        assert f"({link}): {first}\n" in laptop.resolvectl("dns") and f"({link}): ~{DOMAIN}\n" in laptop.resolvectl("domain")
    finally:
        torn = laptop.playbook("hostreach.kind.teardown", settings(ns, subnets_cluster, kind_cluster), tmp_path)
        subnets_cluster.core_v1().delete_namespace(ns)
    assert torn.returncode == 0, torn.stdout + torn.stderr
    assert resolver_files(laptop) == before[0]
    assert resolver_view(laptop) == before[1]
