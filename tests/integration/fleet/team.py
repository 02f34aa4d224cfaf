"""The team of test_fleet_expose.py, shared by the fleet tests of this package (package-scoped, through conftest.py),
so a test that needs the same laptops in front of the same cluster (test_fleet_runner.py) costs one run, not a fleet:
five laptops of harness/fleet.py, each with its namespace of the shared kind cluster; laptop1 and laptop2 healthy,
laptop3 without Docker, laptop4 without the cluster's context, laptop5 unreachable (its sshd stopped by
`laptop_down`, from the first test that asks for it until the package is done). test_fleet_expose.py says how each
laptop is made so."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.fleet import Fleet, FleetHost, fleet_up, leftovers
from harness.fleet_kind import check_api_from, kind_subnet, laptop_kubeconfig
from harness.fleet_venv import offline_pip_conf, sdk_pins, shared_venv, wheelhouse
from harness.kind import KindCluster
from harness.kind_objects import cluster_ip_service, demo_pod, namespace

FLEET_SIZE = 5
SERVICES = ("web", "api")  # in every laptop's namespace, both in front of one demo-httpd pod (on the healthy ones)
OTHER_CONTEXTS = ("kind-elsewhere", "staging")  # laptop4's kubeconfig has these and no other
SUMMARY_FILE = "hostreach-summary.json"  # in each laptop's HOME: hostreach_kind_summary_file
OWN_VENV = ".venvs/hostreach"  # laptop1's hostreach_kind_venv, in its HOME


@dataclass
class Team:
    """The fleet in front of the cluster, and what the test gave each laptop."""

    fleet: Fleet
    cluster: KindCluster
    inventory: Path
    namespaces: dict[str, str]  # laptop -> its namespace of the cluster
    no_engine: str  # laptop3's Docker endpoint
    outputs: Path
    node_ports: dict[str, dict[str, int]] = field(default_factory=dict)  # after the first run: namespace -> Service -> nodePort

    @property
    def healthy(self) -> list[FleetHost]:
        return self.fleet.hosts[:2]

    @property
    def docker_down(self) -> FleetHost:
        return self.fleet.hosts[2]

    @property
    def no_context(self) -> FleetHost:
        return self.fleet.hosts[3]

    @property
    def unreachable(self) -> FleetHost:
        return self.fleet.hosts[4]

    def urls_per_laptop(self) -> int:
        """One URL per Service port and node: http://<node IP>:<nodePort>."""
        return len(SERVICES) * len(self.cluster.node_ips)

    def summary_file(self, host: FleetHost) -> Path:
        return host.path(SUMMARY_FILE)


# -- the cluster side -------------------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def laptop_namespaces(kind_cluster: KindCluster, demo_httpd_image: str) -> Iterator[list[str]]:
    """One namespace per laptop with the Services; a Ready demo pod behind them in the healthy laptops' two."""
    core = kind_cluster.core_v1()
    with contextlib.ExitStack() as stack:
        names = [stack.enter_context(namespace(kind_cluster, f"fleet-laptop{n}")) for n in range(1, FLEET_SIZE + 1)]
        for index, ns in enumerate(names):
            for service in SERVICES:
                cluster_ip_service(core, ns, service, {"app": "demo"})
            if index < 2:
                demo_pod(core, ns, "demo", demo_httpd_image, labels={"app": "demo"})
        yield names


# -- the fleet ----------------------------------------------------------------------------------------------------


def write_team_inventory(fleet: Fleet, cluster: KindCluster, names: list[str], python: Path, no_engine: str) -> Path:
    host_vars = {
        host.name: {"hostreach_kind_namespaces": [ns], "hostreach_kind_summary_file": str(host.path(SUMMARY_FILE))}
        for host, ns in zip(fleet.hosts, names, strict=True)
    }
    own_venv = {"hostreach_kind_python": "", "hostreach_kind_venv": str(fleet.hosts[0].path(OWN_VENV)), "hostreach_kind_venv_packages": sdk_pins()}
    host_vars[fleet.hosts[0].name].update(own_venv)
    host_vars[fleet.hosts[2].name].update(hostreach_kind_clusters="all", hostreach_kind_docker_host=no_engine)
    group_vars = {
        "hostreach_kind_mode": "direct",
        "hostreach_kind_steps": ["services"],
        "hostreach_kind_cluster": cluster.name,
        "hostreach_kind_python": str(python),
    }
    return fleet.write_inventory(fleet.run_dir / "inventory.yml", group_vars=group_vars, host_vars=host_vars)


@pytest.fixture(scope="package")
def team(kind_cluster: KindCluster, laptop_namespaces: list[str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    """Five laptops in front of the cluster; afterwards the fleet and its plumbing are gone (checked)."""
    python, wheels = shared_venv(), wheelhouse()
    outputs = tmp_path_factory.mktemp("fleet-expose")
    print(f"\nfleet expose outputs: {outputs}")
    with fleet_up(FLEET_SIZE) as fleet:
        fleet.route_to(kind_subnet(kind_cluster))
        for host in fleet.hosts:
            contexts = OTHER_CONTEXTS if host is fleet.hosts[3] else ()
            host.write(".kube/config", laptop_kubeconfig(kind_cluster, contexts))
        fleet.hosts[0].write(".config/pip/pip.conf", offline_pip_conf(wheels), mode=0o644)
        no_engine = f"unix://{fleet.run_dir}/no-engine/docker.sock"
        inventory = write_team_inventory(fleet, kind_cluster, laptop_namespaces, python, no_engine)
        (outputs / "inventory.yml").write_text(inventory.read_text())
        for host in fleet.hosts[:2]:  # the route, the forward rules, the certificate's node IP, the shared venv
            check_api_from(host, python)
        yield Team(fleet, kind_cluster, inventory, {h.name: ns for h, ns in zip(fleet.hosts, laptop_namespaces, strict=True)}, no_engine, outputs)
    assert leftovers(fleet.run_id, [h.user for h in fleet.hosts], [h.uid for h in fleet.hosts], str(fleet.block)) == []


@pytest.fixture(scope="package")
def laptop_down(team: Team) -> Iterator[FleetHost]:
    """laptop5's sshd is stopped for the expose runs of the package's tests."""
    with team.fleet.unreachable(team.unreachable) as host:
        yield host
