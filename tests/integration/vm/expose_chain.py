"""The collection's own playbooks (expose.yml, doctor.yml, teardown.yml) end to end in the Mac + Docker VM model.

`chain` (module scope, in the module's VM, see `vm_spec`): a real kind cluster running on the VM's engine
(harness/vm_kind.py; its network is a bridge network of the VM) with the demo app, a pod of Deployment
demo-httpd behind the ClusterIP Service default/demo-httpd (port 80 -> 8080, nothing published); the Mac's route to the
kind network's subnet through the tunnel; the tools image of the VM firewall step and a stand-in connector image, both
made in the VM's engine (nothing is pulled). `web` (conftest) adds the plain demo httpd container on a user bridge
network of the VM, its port not published, and the Mac's route to its subnet.

The playbooks run INSIDE the Mac namespace (`ip netns exec <mac> ansible-playbook ...`: the VM's docker socket is a
unix socket, reachable from any namespace), as a Mac user runs them, with
    hostreach_kind_mode=connector, hostreach_kind_steps=[container, services]
The `connector` step (the host side: brew, the config file, the root LaunchDaemon, the utun routes) needs macOS and is
not run (extensions/molecule/macos_sim simulates it); the routes docker-connector would add for its `route` lines are
added by the harness (DockerVM.route_from_mac), and the veth pair stands for its tunnel, so the connector container
is the macos_sim stand-in: it runs with the role's flags, host network and NET_ADMIN, and carries nothing.
The kubeconfig is kind's own (https://127.0.0.1:<port>), reached through the harness's stand-in for Docker Desktop's
port forwarding (vm_kind.forward_api_to_mac), so the Kubernetes API does not depend on the tunnel, as on a Mac.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.kind import DEMO_HTTPD_INDEX
from harness.vm import DockerVM, Web
from harness.vm_kind import VMKindCluster, connector_standin_image, tools_image, vm_kind_cluster
from harness.watch import WatchAgent
from tests.ansible_runner import playbook

from .vm_helpers import assert_answers, assert_dropped, wait_running

TUNNEL_COMMENT = "hostreach.kind-tunnel"  # docker_vm_firewall's mark on the rules it adds
TOOLS_IMAGE = "hostreach/vm-tools:chain"
STANDIN_IMAGE = "hostreach/connector-standin:chain"
CONNECTOR = "connector"  # connector_container_name's default
FIREWALL_TASK = "hostreach.kind.connector_container : Let the tunnel through the Docker VM's firewall (state={state})"
CONTAINER_TASK = "hostreach.kind.connector_container : Run the connector container (host network, NET_ADMIN, restart always)"
NODEPORT_TASK = "hostreach.kind.nodeport_services : Switch the Services to NodePort and probe their URLs (state={state})"
ORIGINAL_ANNOTATION = "hostreach.kind/original"
KUBELET_PORT = 10250  # listens on the node's every address and is never published: an unpublished port of the node
RECAP = re.compile(r"^localhost\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$", re.M)
FINDING = re.compile(r"^(?P<status>OK|BROKEN|N/A)\s+(?P<link>\S.*?)\s{2,}(?P<detail>.*)$")


@dataclass(frozen=True)
class Finding:
    status: str  # ok, broken, n/a
    link: str
    detail: str


@dataclass(frozen=True)
class Run:
    """One ansible-playbook run in the Mac, as its user sees it."""

    name: str
    rc: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return f"ansible-playbook hostreach.kind.{self.name} exited {self.rc} after {self.seconds:.0f}s:\n{self.stdout}\n{self.stderr}"

    @property
    def recap(self) -> dict[str, int]:
        """PLAY RECAP of localhost: ok, changed, unreachable, failed, skipped, rescued, ignored."""
        match = RECAP.search(self.stdout)
        assert match, self.output
        return {key: int(value) for key, _sep, value in (pair.partition("=") for pair in match["counts"].split())}

    @property
    def changed_tasks(self) -> list[str]:
        """The tasks that reported `changed` (once each, in run order)."""
        changed: list[str] = []
        task = ""
        for line in self.stdout.splitlines():
            if line.startswith("TASK ["):
                task = line[len("TASK [") : line.rindex("]")]
            elif line.startswith("changed: [localhost]") and task not in changed:
                changed.append(task)
        return changed

    @property
    def table(self) -> list[str]:
        """The doctor's printed table (the msg lines of its task "The chain, link by link"), verbatim."""
        lines = self.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("TASK [hostreach.kind.doctor : The chain, link by link]"))
        begin = next(i for i in range(start, len(lines)) if lines[i].strip() == '"msg": [')
        table = []
        for line in lines[begin + 1 :]:
            if line.strip() == "]":
                return table
            table.append(json.loads(line.strip().removesuffix(",")))
        raise AssertionError(f"the doctor's table does not end:\n{self.stdout}")

    @property
    def findings(self) -> list[Finding]:
        found = []
        for line in self.table:
            match = FINDING.match(line)
            if match:
                found.append(Finding(match["status"].lower(), match["link"], match["detail"]))
        return found

    def finding(self, link_prefix: str) -> Finding:
        return next(f for f in self.findings if f.link.startswith(link_prefix))

    @property
    def first_broken(self) -> Finding | None:
        return next((f for f in self.findings if f.status == "broken"), None)

    def print_table(self, title: str) -> None:
        print(f"\n--- doctor, {title} (exit {self.rc}, {self.seconds:.0f}s) ---")
        print("\n".join(self.table))


@dataclass(frozen=True)
class Chain:
    vm: DockerVM
    cluster: VMKindCluster
    summary_file: Path
    extra_vars: dict

    def run(self, name: str, *, check: bool = False, diff: bool = False) -> Run:
        """ansible-playbook hostreach.kind.<name> inside the Mac namespace, with this chain's settings."""
        start = time.monotonic()
        done = playbook(f"hostreach.kind.{name}", self.extra_vars, check=check, diff=diff, prefix=("ip", "netns", "exec", self.vm.mac_netns))
        return Run(name, done.returncode, done.stdout, done.stderr, time.monotonic() - start)

    def summary(self) -> list[dict]:
        return json.loads(self.summary_file.read_text())

    def demo_row(self) -> dict:
        """The summary file's row of the demo Service (one URL: the cluster has one node)."""
        rows = [row for row in self.summary() if row["service"] == "demo-httpd" and row["namespace"] == "default"]
        assert len(rows) == 1, rows
        return rows[0]

    def connector(self) -> dict | None:
        """`docker inspect` of the connector container in the VM, None when there is none."""
        done = self.vm.docker("inspect", CONNECTOR, check=False)
        return json.loads(done.stdout)[0] if done.returncode == 0 else None


@pytest.fixture(scope="module")
def chain(docker_vm: DockerVM, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    """The kind cluster with the demo app in the module's VM, routed on the Mac, and the settings of the playbook runs."""
    with vm_kind_cluster(docker_vm) as cluster:
        demo_image = docker_vm.load_demo_httpd("chain")
        cluster.load_image(demo_image)
        cluster.deploy_demo_httpd(demo_image)
        docker_vm.route_from_mac(cluster.subnet)  # as docker-connector does for the kind network's `route` line
        summary_file = tmp_path_factory.mktemp("chain") / "summary.json"
        extra_vars = {
            "hostreach_kind_mode": "connector",
            "hostreach_kind_steps": ["container", "services"],  # `connector` (the host side) needs macOS
            "hostreach_kind_docker_host": docker_vm.docker_host,
            "hostreach_kind_vm_tools_image": tools_image(docker_vm, TOOLS_IMAGE),
            "hostreach_kind_vm_tools_pull": "never",
            "hostreach_kind_vm_tunnel_interface": docker_vm.vm_if,  # the model's tunnel is a veth, not the connector's tun<N>
            "connector_container_image": connector_standin_image(docker_vm, STANDIN_IMAGE),
            "connector_container_pull": "never",
            "hostreach_kind_cluster": cluster.name,
            "hostreach_kind_kubeconfig": cluster.kubeconfig,
            "hostreach_kind_summary_file": str(summary_file),
        }
        yield Chain(vm=docker_vm, cluster=cluster, summary_file=summary_file, extra_vars=extra_vars)


def firewall_ruleset(vm: DockerVM) -> str:
    """Every rule of the VM (nft sees the iptables-nft tables too), without the counters traffic moves."""
    return re.sub(r"counter packets \d+ bytes \d+", "counter", vm.nft_ruleset())


def tunnel_rules(vm: DockerVM) -> list[str]:
    """Where docker_vm_firewall's rules are, as `<table> <chain>`: iptables tables on the iptables backend, nft tables
    on the nftables one."""
    where = []
    if vm.spec.firewall == "iptables":
        for table in ("raw", "filter"):
            where += [f"{table} {line.split()[1]}" for line in vm.iptables_save(table).splitlines() if TUNNEL_COMMENT in line]
    else:
        table = chain_name = ""
        for line in vm.nft_ruleset().splitlines():
            words = line.split()
            if words[:1] == ["table"]:
                table = " ".join(words[1:3])
            elif words[:1] == ["chain"]:
                chain_name = words[1]
            elif TUNNEL_COMMENT in line:
                where.append(f"{table} {chain_name}")
    return sorted(where)


def remove_tunnel_rules_by_hand(vm: DockerVM) -> None:
    """`iptables -t <table> -D <the rule>` inside the VM for each of docker_vm_firewall's rules (iptables backend)."""
    for table in ("raw", "filter"):
        for line in vm.iptables_save(table).splitlines():
            if TUNNEL_COMMENT in line and line.startswith("-A "):
                vm.in_vm("iptables", "-t", table, "-D", *shlex.split(line)[1:])
    assert tunnel_rules(vm) == []


def doctor_blames_the_firewall(chain: Chain, url: str, title: str, missing: str) -> Run:
    """With the tunnel's rules gone: `url` is dropped, and the doctor fails with the VM's firewall as the first broken
    link, naming the `missing` rules. Its table is printed under `title`."""
    assert_dropped(chain.vm, url)
    run = chain.run("doctor")
    run.print_table(title)
    assert run.rc != 0, run.output
    assert run.first_broken is not None and run.first_broken.link == "VM firewall", run.table
    assert f"it drops the tunnel's traffic; missing: {missing}" in run.first_broken.detail
    return run


def node_url(chain: Chain, port: int) -> str:
    return f"http://{chain.cluster.node_ip}:{port}/"


def assert_nothing_answers_the_mac(chain: Chain, web: Web) -> None:
    """An unpublished port of the kind node and of the plain container: dropped in the VM (a timeout, not a refusal)."""
    assert_dropped(chain.vm, node_url(chain, KUBELET_PORT))
    assert_dropped(chain.vm, web.url)


def service_is_as_before(chain: Chain) -> None:
    service = chain.cluster.service()
    assert service["spec"]["type"] == "ClusterIP"
    assert all("nodePort" not in port for port in service["spec"]["ports"])
    assert ORIGINAL_ANNOTATION not in (service["metadata"].get("annotations") or {})


def expose_and_check(chain: Chain, web: Web, expected_rules: list[str]) -> Run:
    """expose.yml from the Mac: it succeeds, the rules are in the VM, the connector container runs as the role says,
    the summary file has the demo Service's URL answering 200, and the Mac gets 200 from it and from the container."""
    run = chain.run("expose")
    assert run.rc == 0, run.output
    assert tunnel_rules(chain.vm) == expected_rules
    connector = chain.connector()
    assert connector is not None and connector["State"]["Running"], run.output
    assert connector["HostConfig"]["NetworkMode"] == "host" and "NET_ADMIN" in connector["HostConfig"]["CapAdd"]
    assert connector["HostConfig"]["RestartPolicy"]["Name"] == "always"
    row = chain.demo_row()
    assert row["type"] == "NodePort" and row["reachable"] is True and row["status"] == 200, row
    assert row["url"].startswith(f"http://{chain.cluster.node_ip}:"), row
    assert_answers(chain.vm, row["url"], DEMO_HTTPD_INDEX)
    assert_answers(chain.vm, web.url, DEMO_HTTPD_INDEX)  # the firewall rule opens every bridge network, not only kind's
    service = chain.cluster.service()
    assert service["spec"]["type"] == "NodePort" and ORIGINAL_ANNOTATION in service["metadata"]["annotations"]
    print(f"\nexpose.yml: {run.seconds:.0f}s, {run.recap}")
    return run


def rerun_changes_nothing(chain: Chain) -> Run:
    summary = chain.summary_file.read_bytes()
    run = chain.run("expose")
    assert run.rc == 0, run.output
    assert run.recap["changed"] == 0, run.changed_tasks
    assert chain.summary_file.read_bytes() == summary
    print(f"\nexpose.yml rerun: {run.seconds:.0f}s, {run.recap}")
    return run


def teardown_and_check(chain: Chain, web: Web) -> Run:
    """teardown.yml from the Mac: no rule of ours is left in the VM, the Mac's traffic is dropped again, the Service is
    ClusterIP again, the connector container is gone."""
    url = chain.demo_row()["url"]
    run = chain.run("teardown")
    assert run.rc == 0, run.output
    assert TUNNEL_COMMENT not in chain.vm.iptables_save("filter") + chain.vm.iptables_save("raw") + chain.vm.nft_ruleset()
    assert chain.connector() is None
    service_is_as_before(chain)
    assert_dropped(chain.vm, url)
    assert_nothing_answers_the_mac(chain, web)
    print(f"\nteardown.yml: {run.seconds:.0f}s, {run.recap}")
    return run


def restart_engine_and_wait(chain: Chain) -> None:
    """A restart of the VM's engine; back when the kind node, the demo pod and the connector container run again, and
    the demo URL answers inside the VM (kube-proxy has programmed the node again: a probe before that is not the Mac's
    path failing, and a rerun's summary would say so)."""
    url = chain.demo_row()["url"]
    chain.vm.restart_engine()
    wait_running(chain.vm, chain.cluster.control_plane, timeout=90)
    chain.cluster.wait_ready()
    if chain.connector() is not None:
        wait_running(chain.vm, CONNECTOR)
    wait_answers(chain.vm, url, timeout=60.0, inside_vm=True)


def wait_answers(vm: DockerVM, url: str, timeout: float = 30.0, inside_vm: bool = False) -> None:
    """Until the Mac (or, `inside_vm`, the VM itself) gets 200 from the URL (kube-proxy reprograms its rules after the
    node restarted)."""
    get, who = (vm.http_in_vm, "the VM") if inside_vm else (vm.http_from_mac, "the Mac")
    deadline = time.monotonic() + timeout
    while (probe := get(url, timeout=3)).status != 200:
        assert time.monotonic() < deadline, f"{url} does not answer {who} {timeout}s on: {probe}"
        time.sleep(1)


def watch_restores_after_engine_restart(chain: Chain, folder: Path, rules: list[str], before_restart=None) -> float:
    """`make watch` running in the Mac: the VM's engine restarts (its event stream ends), and with no command typed the
    agent redoes the VM side once the engine answers: the tunnel's rules are back and the Mac gets 200 again. Returns
    the seconds from the restart until the Mac's 200. `before_restart(chain)` runs once the agent follows."""
    url = chain.demo_row()["url"]
    agent = WatchAgent(folder / "state", folder / "agent.log")
    agent.start(chain.extra_vars, interval=60, prefix=("ip", "netns", "exec", chain.vm.mac_netns))
    try:
        agent.wait_line(r"^\S+ following ", timeout=180)
        if before_restart is not None:
            before_restart(chain)
        started = time.monotonic()
        chain.vm.restart_engine()
        agent.wait_line(r"event: the Docker engine restarted", timeout=120)
        wait_answers(chain.vm, url, timeout=120.0)
        seconds = time.monotonic() - started
        assert tunnel_rules(chain.vm) == rules
        agent.wait_line(r"resync engine \[container,services\] after: the Docker engine restarted.* -> ok", timeout=120)
        print(f"\nengine restarted -> the Mac's 200 again: {seconds:.1f} s\n{agent.output()}")
        return seconds
    finally:
        agent.stop()
