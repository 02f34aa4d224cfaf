"""How a fleet run grows with the number of laptops (issue 21, item 4): expose over 1, 5, 10, 20 laptops of the SSH
fleet (harness/fleet.py: one network namespace, sshd and user each; real SSH), `forks` equal to the fleet's size,
three ways of using SSH:

  plain                   no ControlPersist (every task opens its own SSH connection), no pipelining
  controlpersist          Ansible's default ssh_args (ControlMaster=auto, ControlPersist=60s), no pipelining: a
                          module task is still mkdir, sftp put, chmod, run, rm over the shared connection
  controlpersist+pipeline ControlPersist and pipelining: a module task is one command, the module on its stdin

Each laptop is as test_fleet_expose.py's healthy ones are: direct mode, steps [services], its own namespace of the
kind cluster with two Services (no pods: the probe decides "no ready endpoints" without connecting, so what is
measured is the controller and SSH, not the cluster), the shared venv as its interpreter. One run over every laptop
exposes the Services first; the measured runs are reruns that change nothing (what a fleet run on a schedule does).
Every run starts without a control master (those of the run before are closed).

Measured per run: wall time, and the controller's CPU (ansible-playbook, its workers and the ssh clients it waited
for; a ControlPersist master outlives the run and is not counted) per laptop. The ratio to one laptop's wall time is
what the target is about: 20 laptops in at most 3 times one laptop's wall time on this 2-core controller.
Checks (errors, exit status 1): every run passes on every laptop.

  python -m benchmarks.fleet_bench --sizes 1,5,10,20 --reps 2 --kind hostreach-test [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.nodeport_bench import BenchError, bench_cluster, log, machine, median
from harness.fleet import GROUP, Fleet, ansible_bin, fleet_up
from harness.fleet_kind import kind_subnet, laptop_kubeconfig
from harness.fleet_venv import shared_venv
from harness.kind import KindCluster
from harness.kind_objects import cluster_ip_service, namespace

PERSIST = "-C -o ControlMaster=auto -o ControlPersist=60s"  # Ansible's default ssh_args
VARIANTS = {
    "plain": {"ANSIBLE_SSH_ARGS": "-C", "ANSIBLE_PIPELINING": "0"},
    "controlpersist": {"ANSIBLE_SSH_ARGS": PERSIST, "ANSIBLE_PIPELINING": "0"},
    "controlpersist+pipeline": {"ANSIBLE_SSH_ARGS": PERSIST, "ANSIBLE_PIPELINING": "1"},
}
TARGET = "20 laptops in at most 3x one laptop's wall time"


def inventory(fleet: Fleet, size: int, cluster: KindCluster, namespaces: list, python: Path) -> Path:
    """The first `size` laptops, each exposing its own namespace, as test_fleet_expose.py's healthy laptops."""
    hosts = fleet.hosts[:size]
    group_vars = {"hostreach_kind_mode": "direct", "hostreach_kind_steps": ["services"], "hostreach_kind_cluster": cluster.name}
    group_vars["hostreach_kind_python"] = str(python)
    host_vars = {h.name: {"hostreach_kind_namespaces": [ns]} for h, ns in zip(hosts, namespaces, strict=False)}
    return fleet.write_inventory(fleet.run_dir / f"inventory-{size}.yml", hosts=hosts, group_vars=group_vars, host_vars=host_vars)


def expose(fleet: Fleet, path: Path, size: int, variant: str) -> dict:
    """One run of expose over the inventory: wall seconds and controller CPU seconds."""
    fleet.close_control_masters()
    env = {**fleet.ansible_env(), **VARIANTS[variant], "ANSIBLE_FORKS": str(size)}
    argv = [ansible_bin("ansible-playbook"), "-i", str(path), "hostreach.kind.expose", "-e", f"target={GROUP}"]
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall, after = time.monotonic() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise BenchError(f"expose over {size} laptops ({variant}) exited {done.returncode}:\n{done.stdout[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu}


def measure(fleet: Fleet, cluster: KindCluster, namespaces: list, sizes: list, reps: int, variants: list, log) -> dict:
    python = shared_venv()
    inventories = {size: inventory(fleet, size, cluster, namespaces, python) for size in sizes}
    log(f"first run over {max(sizes)} laptops (exposes every namespace's Services)")
    expose(fleet, inventories[max(sizes)], max(sizes), "controlpersist+pipeline")
    results: dict = {variant: {} for variant in variants}
    for size in sizes:
        for variant in variants:
            runs = [expose(fleet, inventories[size], size, variant) for _rep in range(reps)]
            results[variant][size] = {"wall": median([r["wall"] for r in runs]), "cpu": median([r["cpu"] for r in runs])}
            log(f"{size:>2} laptops, {variant}: {results[variant][size]['wall']:.1f} s wall, {results[variant][size]['cpu']:.1f} s CPU")
    return results


def report(results: dict, sizes: list) -> str:
    lines = ["| SSH | laptops | wall | x one laptop | controller CPU per laptop |", "| --- | --- | --- | --- | --- |"]
    for variant, by_size in results.items():
        one = by_size[min(sizes)]["wall"]
        for size in sizes:
            row = by_size[size]
            lines.append(f"| {variant} | {size} | {row['wall']:.1f} s | {row['wall'] / one:.1f}x | {row['cpu'] / size:.2f} s |")
    return "\n".join([*lines, "", f"target: {TARGET} (the ratio column, from {min(sizes)} laptop(s))"])


@contextlib.contextmanager
def laptops_in_front_of(cluster: KindCluster, size: int):
    """`size` laptops of the SSH fleet, each with a namespace of the cluster holding two Services, routed to it."""
    core = cluster.core_v1()
    with contextlib.ExitStack() as stack:
        names = [stack.enter_context(namespace(cluster, f"fleet-bench{n}")) for n in range(1, size + 1)]
        for ns in names:
            for service in ("web", "api"):
                cluster_ip_service(core, ns, service, {"app": "none"})
        fleet = stack.enter_context(fleet_up(size))
        fleet.route_to(kind_subnet(cluster))
        for host in fleet.hosts:
            host.write(".kube/config", laptop_kubeconfig(cluster))
        yield fleet, names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,5,10,20", help="fleet sizes, comma-separated (default 1,5,10,20)")
    parser.add_argument("--reps", type=int, default=2, help="runs per size and variant; the median is reported (default 2)")
    parser.add_argument("--kind", metavar="CLUSTER", default="hostreach-bench", help="kind cluster (created if missing, deleted after)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)} (default all)")
    parser.add_argument("--json", metavar="FILE", help="write the figures here")
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",")})

    log(f"machine: {machine()}")
    try:
        with bench_cluster(args.kind) as cluster, laptops_in_front_of(cluster, max(sizes)) as (fleet, names):
            results = measure(fleet, cluster, names, sizes, args.reps, args.variants.split(","), log)
    except (BenchError, subprocess.CalledProcessError) as error:
        log(f"ERROR: {error}")
        return 1
    print(report(results, sizes))
    print(f"\n{machine()}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "sizes": sizes, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
