"""`Fleet.route_to(subnet)` (harness/fleet.py): a laptop reaches the kind cluster's node only once the fleet is
routed to the kind network, and the plumbing (the namespaces' routes, the tagged DOCKER-USER and raw PREROUTING rules) is gone after
teardown, and after the sweep of a fleet whose pytest died. The only peer is the kind node the harness made."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from harness.fleet import FleetHost, fleet_up, leftovers, sweep_stale_fleets, tagged_rules
from harness.fleet_kind import API_PORT, kind_subnet
from harness.kind import KindCluster
from harness.versions import REPO_ROOT

pytestmark = [pytest.mark.fleet, pytest.mark.kind]


def tcp_connect(host: FleetHost, address: str, port: int) -> str:
    """From inside the laptop, as its user: 'connected', or the error."""
    code = textwrap.dedent(
        f"""\
        import socket
        try:
            socket.create_connection(({address!r}, {port}), timeout=5).close()
            print("connected")
        except OSError as error:
            print(error.strerror or error)
        """
    )
    return host.run(["/usr/bin/python3", "-c", code]).stdout.strip()


def test_route_to_lets_the_laptops_reach_the_kind_node_and_teardown_removes_it(kind_cluster: KindCluster) -> None:
    subnet = kind_subnet(kind_cluster)
    node = kind_cluster.node_ips[kind_cluster.control_plane]
    with fleet_up(2) as fleet:
        with pytest.raises(ValueError, match="overlaps"):
            fleet.route_to(str(fleet.block))
        host = fleet.hosts[0]
        assert tcp_connect(host, node, API_PORT) == "Network is unreachable", "nothing routed before route_to"
        fleet.route_to(subnet)
        assert [rule.split()[:3] for rule in tagged_rules(fleet.run_id)] == [["filter", "-A", "DOCKER-USER"]] * 2 + [["raw", "-A", "PREROUTING"]]
        for laptop in fleet.hosts:
            route = subprocess.run(["ip", "-n", laptop.netns, "-4", "route", "show", subnet], capture_output=True, text=True, check=True).stdout
            assert route.split()[:3] == [subnet, "via", laptop.peer], route
            assert tcp_connect(laptop, node, API_PORT) == "connected"
    assert tagged_rules(fleet.run_id) == []
    assert leftovers(fleet.run_id, [h.user for h in fleet.hosts], [h.uid for h in fleet.hosts], str(fleet.block)) == []


OWNER = textwrap.dedent(
    """\
    import json, sys, time
    sys.path.insert(0, sys.argv[1])
    from harness.fleet import Fleet
    made = Fleet.up(1)
    made.route_to(sys.argv[2])
    host = made.hosts[0]
    print(json.dumps({"run_id": made.run_id, "user": host.user, "uid": host.uid, "block": str(made.block)}), flush=True)
    time.sleep(600)
    """
)


def test_the_sweep_of_a_dead_fleet_removes_its_forward_rules(kind_cluster: KindCluster) -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(REPO_ROOT), kind_subnet(kind_cluster)], stdout=subprocess.PIPE, text=True)
    try:
        made = json.loads(owner.stdout.readline())
    finally:
        os.kill(owner.pid, signal.SIGKILL)  # no teardown runs
        owner.wait()
    assert len(tagged_rules(made["run_id"])) == 3
    assert made["run_id"] in sweep_stale_fleets()
    assert tagged_rules(made["run_id"]) == []
    assert leftovers(made["run_id"], [made["user"]], [made["uid"]], made["block"]) == []
