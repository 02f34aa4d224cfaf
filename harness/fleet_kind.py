"""The SSH fleet (harness/fleet.py) in front of a kind cluster of harness/kind.py.

A laptop reaches the cluster the way a developer's machine on kind's Docker network would: `Fleet.route_to(
kind_subnet(cluster))` routes the fleet to the network of the node containers, and `laptop_kubeconfig(cluster)` is
the kind kubeconfig with the server at the control-plane node's own address and port 6443 (kind's kubeconfig names
127.0.0.1 and a published port, which only the root namespace has). kubeadm's serving certificate lists the node
IP among its names; `check_api_from(host, python)` proves it: the kubernetes SDK connects from inside the laptop,
as its user, with TLS verification on.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import subprocess
from pathlib import Path

import yaml

from .fleet import FleetHost
from .kind import KindCluster

API_PORT = 6443  # kube-apiserver's secure port on the control-plane node
KIND_NETWORK = "kind"
CHECK_API = "from kubernetes import client, config; config.load_kube_config(); print(client.VersionApi().get_code().git_version)"


def kind_subnet(cluster: KindCluster) -> str:
    """The IPv4 subnet of the Docker network `kind` that holds the cluster's control-plane node."""
    inspect = ["docker", "network", "inspect", KIND_NETWORK, "--format", "{{json .IPAM.Config}}"]
    config = json.loads(subprocess.run(inspect, capture_output=True, text=True, check=True).stdout)
    node = ipaddress.ip_address(cluster.node_ips[cluster.control_plane])
    subnets = [ipaddress.ip_network(entry["Subnet"]) for entry in config]
    (subnet,) = [str(s) for s in subnets if s.version == 4 and node in s]
    return subnet


def laptop_kubeconfig(cluster: KindCluster, contexts: tuple[str, ...] = ()) -> str:
    """The kind kubeconfig (context kind-<cluster>) with the server https://<control-plane node IP>:6443. With
    `contexts`, its one cluster, user and context are there under each of those names instead, and kind-<cluster>
    is missing."""
    config = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    for entry in config["clusters"]:
        entry["cluster"]["server"] = f"https://{cluster.node_ips[cluster.control_plane]}:{API_PORT}"
    if contexts:
        (kind_cluster,), (user,) = config["clusters"], config["users"]
        config["clusters"] = [{"name": name, "cluster": copy.deepcopy(kind_cluster["cluster"])} for name in contexts]
        config["users"] = [{"name": name, "user": copy.deepcopy(user["user"])} for name in contexts]
        config["contexts"] = [{"name": name, "context": {"cluster": name, "user": name}} for name in contexts]
        config["current-context"] = contexts[0]
    return yaml.safe_dump(config, sort_keys=False)


def check_api_from(host: FleetHost, python: Path | str) -> str:
    """The API server's version, asked from inside the laptop as its user with its ~/.kube/config; fails saying why."""
    done = host.run([str(python), "-c", CHECK_API], check=False)
    if done.returncode != 0:
        raise AssertionError(f"{host.name} cannot reach the kind API server with its ~/.kube/config: {done.stderr.strip()[-1500:]}")
    return done.stdout.strip()
