"""expose.yml on a real kind cluster with many Services, 40% of them without a ready endpoint (issue 11).

For each N (default 10, 100, 300) a fresh namespace of the kind cluster gets N ClusterIP Services
(port `http` 80 -> 8080), the way real namespaces have them:
  60%  select Deployment `backend`: 2 pods of the demo-httpd image, ready (one Deployment behind many Services)
  20%  select Deployment `scaled-down`: 0 replicas (no pod matches)
  20%  select Deployment `starting`: 1 pod that never passes its readiness probe (1 endpoint, not ready)
Each round, after every Service is reset to ClusterIP (outside the timing; the restore annotation goes too),
three commands are timed from the outside, as a user runs them:
  first   ansible-playbook hostreach.kind.expose   (every Service -> NodePort, every URL probed)
  no-op   ansible-playbook hostreach.kind.expose   again (nothing to change; must report changed=0)
  empty   ansible-playbook benchmarks/empty.yml    (the fixed cost of ansible-playbook)
expose.yml runs with its defaults (auto mode, which is direct on Linux: the host routes to kind's network) and
-e hostreach_kind_cluster, _kubeconfig, _namespaces=[the namespace]. Reported: medians over the rounds.

Checks (a failure is an error, exit status 1): every command exits 0; after the first run every Service is
NodePort; the no-op rerun reports changed=0; the summary's count line accounts for N rows. Counted and printed,
never checked: how many rows the summary says are reachable, without ready endpoints, unreachable.

--profile: after the timed rounds, per N, one first run and one no-op rerun with the ansible.posix.profile_tasks
callback (seconds per task), and the kind_nodeport module alone under cProfile (its AnsiballZ payload exploded, run
in a fresh interpreter, as benchmarks.profile_module does): seconds in imports, the API requests, the probes.

Usage (from the repo root, with the venv's python; `make bench` / `make bench-smoke`), as a module of the package
`benchmarks`, which imports the test harness as the package `harness` (both at the repo root):
  python -m benchmarks.expose_bench --sizes 10,100,300 --reps 3 --kind hostreach-bench [--profile] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.nodeport_bench import (
    ANSIBLE_PLAYBOOK,
    MERGE_PATCH,
    PYTHON,
    RESTORE_ANNOTATION,
    BenchError,
    ansible_env,
    bench_cluster,
    log,
    machine,
    median,
    run,
)
from harness.kind import DEMO_HTTPD_PORT, loaded_demo_httpd_image
from harness.versions import cache_dir

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"

COUNT_LINE = re.compile(r"(\d+) reachable, (\d+) without ready endpoints, (\d+) unreachable")
MODULE = "ansible_collections.hostreach.kind.plugins.modules.kind_nodeport"
# The module's phases, by the function of plugins/modules/kind_nodeport.py that does each.
PHASES = {
    "gather_services": "LIST Services",
    "converge": "PATCHes (dry run + write)",
    "gather_nodes": "LIST Nodes",
    "gather_readiness": "LIST EndpointSlices",
    "probes": "probes (incl. the wait, the re-listing)",
}
TARGETS = "at N=100 first run <= 15 s and no-op rerun <= 5 s; no-op rerun at N=300 <= 1.5 x the one at N=10"


class Namespace:
    """One N's namespace in the kind cluster: its workloads, Services, reset and checks."""

    def __init__(self, api, name: str, size: int, image: str) -> None:
        from kubernetes import client

        self.c, self.name, self.size, self.image = client, name, size, image
        self.core, self.apps, self.discovery = client.CoreV1Api(api), client.AppsV1Api(api), client.DiscoveryV1Api(api)
        groups = [("backend", 3), ("scaled-down", 1), ("starting", 1)]  # fifths: 60% / 20% / 20%
        pattern = [group for group, fifths in groups for _fifth in range(fifths)]
        self.selects = {f"svc-{i:04d}": pattern[i % 5] for i in range(size)}

    def deployment(self, name: str, replicas: int, ready_port: int) -> None:
        c = self.c
        probe = c.V1Probe(http_get=c.V1HTTPGetAction(path="/", port=ready_port), period_seconds=2)
        container = c.V1Container(name="httpd", image=self.image, image_pull_policy="Never", readiness_probe=probe)
        pod = c.V1PodTemplateSpec(metadata=c.V1ObjectMeta(labels={"app": name}), spec=c.V1PodSpec(containers=[container], termination_grace_period_seconds=0))
        spec = c.V1DeploymentSpec(replicas=replicas, selector=c.V1LabelSelector(match_labels={"app": name}), template=pod)
        self.apps.create_namespaced_deployment(self.name, c.V1Deployment(metadata=c.V1ObjectMeta(name=name), spec=spec))

    def create(self) -> None:
        c = self.c
        self.core.create_namespace(c.V1Namespace(metadata=c.V1ObjectMeta(name=self.name)))
        self.deployment("backend", 2, DEMO_HTTPD_PORT)
        self.deployment("scaled-down", 0, DEMO_HTTPD_PORT)
        self.deployment("starting", 1, 9999)  # nothing listens on 9999: never ready

        def service(item: tuple) -> None:
            name, app = item
            port = c.V1ServicePort(name="http", port=80, target_port=DEMO_HTTPD_PORT)
            body = c.V1Service(metadata=c.V1ObjectMeta(name=name), spec=c.V1ServiceSpec(selector={"app": app}, ports=[port]))
            self.core.create_namespaced_service(self.name, body)

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(service, self.selects.items()))
        wanted = {"backend": (2, 0), "scaled-down": (0, 0), "starting": (0, 1)}
        self.wait(lambda: all(self.endpoints(name) == wanted[app] for name, app in self.selects.items()), "every Service's EndpointSlices", 300)

    def endpoints(self, service: str) -> tuple:
        slices = self.discovery.list_namespaced_endpoint_slice(self.name, label_selector=f"kubernetes.io/service-name={service}").items
        endpoints = [e for s in slices for e in s.endpoints or []]
        ready = sum(1 for e in endpoints if e.conditions is None or e.conditions.ready is not False)
        return ready, len(endpoints) - ready

    def wait(self, condition, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise BenchError(f"timed out after {timeout:.0f}s waiting for {what} in {self.name}")
            time.sleep(1)

    def reset(self) -> None:
        """Every Service back to ClusterIP (the apiserver drops the nodePorts), without the restore annotation."""
        body = {"metadata": {"annotations": {RESTORE_ANNOTATION: None}}, "spec": {"type": "ClusterIP"}}
        names = [s.metadata.name for s in self.core.list_namespaced_service(self.name).items if s.spec.type != "ClusterIP"]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda name: self.core.patch_namespaced_service(name, self.name, body, _content_type=MERGE_PATCH), names))
        self.check("ClusterIP")

    def check(self, wanted: str) -> None:
        services = self.core.list_namespaced_service(self.name).items
        wrong = [s.metadata.name for s in services if s.spec.type != wanted]
        if wrong or len(services) != self.size:
            raise BenchError(f"namespace {self.name}: expected {self.size} Services of type {wanted}; wrong: {wrong[:5]} ({len(wrong)}), total {len(services)}")

    def delete(self) -> None:
        self.core.delete_namespace(self.name)


def counts(output: str, size: int) -> tuple:
    """(reachable, without ready endpoints, unreachable) from the summary's count line; they must add up to N."""
    found = COUNT_LINE.findall(output)
    if not found:
        raise BenchError(f"no count line in the summary:\n{output[-3000:]}")
    numbers = tuple(int(n) for n in found[-1])
    if sum(numbers) != size:
        raise BenchError(f"the count line {found[-1]} does not add up to the {size} Services (one node: one URL each)")
    return numbers


def unreachable_rows(output: str, namespace: str) -> list:
    """The summary rows (as printed) of URLs that did not answer: neither reachable nor without ready endpoints."""
    rows = re.findall(rf'^\s*"(\S+\s+{re.escape(namespace)}/\S+\s+\S+\s+.*?)",?$', output, re.M)
    return [row for row in rows if not re.search(r"\s(reachable( \(HTTP \d+\))?|no ready endpoints.*|skipped: .*|not probed)$", row)]


def changed(output: str) -> int:
    match = re.search(r"changed=(\d+)", output)
    if not match:
        raise BenchError(f"no PLAY RECAP in the output:\n{output[-3000:]}")
    return int(match.group(1))


class Expose:
    """The commands of one N."""

    def __init__(self, cluster: str, kubeconfig: str, namespace: Namespace) -> None:
        self.namespace = namespace
        self.extra = {"hostreach_kind_cluster": cluster, "hostreach_kind_kubeconfig": kubeconfig, "hostreach_kind_namespaces": [namespace.name]}
        self.env = ansible_env()
        self.unreachable: list = []  # per run that had any: the summary rows of the URLs that did not answer

    def expose(self, env: dict | None = None, **extra) -> tuple:
        """(seconds, CPU seconds, output) of one expose.yml run."""
        return timed([ANSIBLE_PLAYBOOK, "hostreach.kind.expose", "-e", json.dumps({**self.extra, **extra})], {**self.env, **(env or {})})

    def first(self) -> tuple:
        seconds, cpu, out = self.expose()
        self.namespace.check("NodePort")
        if changed(out) == 0:
            raise BenchError(f"the first run changed nothing:\n{out[-3000:]}")
        return seconds, cpu, self.counted(out)

    def noop(self) -> tuple:
        seconds, cpu, out = self.expose()
        if changed(out) != 0:
            raise BenchError(f"the no-op rerun changed something:\n{out[-3000:]}")
        return seconds, cpu, self.counted(out)

    def counted(self, out: str) -> tuple:
        """The count line's numbers; the rows of URLs that did not answer are kept too (what they said, and why)."""
        found = counts(out, self.namespace.size)
        if found[2]:
            self.unreachable.append(unreachable_rows(out, self.namespace.name))
        return found

    def empty(self) -> tuple:
        seconds, cpu, _out = timed([ANSIBLE_PLAYBOOK, str(BENCH / "empty.yml")], self.env)
        return seconds, cpu


def timed(argv: list, env: dict) -> tuple:
    """(seconds, CPU seconds, output): the CPU time (user + system) of the command and everything it ran and waited
    for (Ansible's workers, the module's interpreter). On 2 cores shared with other jobs the wall time varies with
    their load; the CPU time much less, so it tells a real change from a busy minute."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds, out = run(argv, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, out


def bench_size(api, cluster: str, kubeconfig: str, image: str, size: int, reps: int, profile: bool, log) -> dict:
    namespace = Namespace(api, f"bench-expose-n{size}-{uuid.uuid4().hex[:6]}", size, image)
    namespace.create()
    expose = Expose(cluster, kubeconfig, namespace)
    result: dict = {"size": size, "counts_first": [], "counts_noop": [], "load": []}
    result.update({key: [] for key in ("first", "noop", "empty", "first_cpu", "noop_cpu", "empty_cpu")})
    try:
        for round_no in range(reps):
            namespace.reset()
            time.sleep(3)  # kube-proxy drops the old nodePorts: not part of the next run
            for key, step in (("first", expose.first), ("noop", expose.noop)):
                seconds, cpu, found = step()
                result[key].append(seconds)
                result[f"{key}_cpu"].append(cpu)
                result[f"counts_{key}"].append(found)
            seconds, cpu = expose.empty()
            result["empty"].append(seconds)
            result["empty_cpu"].append(cpu)
            result["load"].append(os.getloadavg()[0])
            log(
                f"N={size} round {round_no + 1}/{reps}: "
                + ", ".join(f"{key} {result[key][-1]:.2f}s (CPU {result[key + '_cpu'][-1]:.2f}s)" for key in ("first", "noop", "empty"))
                + f"; first {result['counts_first'][-1]}, no-op {result['counts_noop'][-1]}"
            )
        result["unreachable_rows"] = expose.unreachable
        for rows in expose.unreachable:
            log(f"N={size}: {len(rows)} URL(s) did not answer: " + "; ".join(rows[:5]))
        if profile:
            result["profile"] = profile_size(expose, log)
    finally:
        namespace.delete()
    return result


def task_times(output: str) -> list:
    """(task, seconds) from ansible.posix.profile_tasks' recap, slowest first."""
    recap = output.split("TASKS RECAP", 1)[-1]
    return [(name.strip(), float(seconds)) for name, seconds in re.findall(r"^(.+?) -{2,} (\d+\.\d+)s$", recap, re.M)]


def exploded_module(expose: Expose, keep: Path) -> Path:
    """The debug_dir of the AnsiballZ payload of the role's kind_nodeport task, from a run that keeps remote files."""
    env = {"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TMP": str(keep)}
    expose.expose(env)
    wrapper = next(keep.glob("ansible-tmp-*/AnsiballZ_kind_nodeport.py"))
    subprocess.run([PYTHON, str(wrapper), "explode"], check=True, stdout=subprocess.DEVNULL)
    return wrapper.parent / "debug_dir"


def profile_module(debug_dir: Path, out: Path) -> None:
    """Runs the exploded module once under cProfile in this (fresh) interpreter; writes the profile and the wall time."""
    sys.path.insert(0, str(debug_dir))
    from ansible.module_utils._internal._ansiballz import _loader

    params = (debug_dir / "args").read_bytes()
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
        _loader.run_module(json_params=params, profile="legacy", module_fqn=MODULE, modlib_path=str(debug_dir), extensions={})
    profile.disable()
    profile.dump_stats(out)
    out.with_suffix(".wall").write_text(f"{time.perf_counter() - start:.3f}")


def phases(prof: Path) -> dict:
    """Seconds of the module run: wall, every import (wherever it happens: the kubernetes client loads parts of
    itself on first use), and the cumulative time of each phase's function (which includes imports made in it)."""
    stats = pstats.Stats(str(prof)).stats  # (file, line, function) -> (cc, nc, tt, cumulative, callers)
    found = {"wall": float(prof.with_suffix(".wall").read_text()), "imports": 0.0}
    for (file, _line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.items():
        if file.endswith("kind_nodeport.py") and function in PHASES:
            found[PHASES[function]] = found.get(PHASES[function], 0) + cumulative
        if function == "_find_and_load":  # cumulative time of a recursive function counts its outermost calls only
            found["imports"] += cumulative
    return found


def profile_size(expose: Expose, log) -> dict:
    namespace = expose.namespace
    profile: dict = {}
    env = {"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks", "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "all"}
    namespace.reset()
    time.sleep(3)
    profile["tasks_first"] = task_times(expose.expose(env)[2])
    profile["tasks_noop"] = task_times(expose.expose(env)[2])
    with tempfile.TemporaryDirectory(prefix="expose-bench-keep-") as keep:
        debug_dir = exploded_module(expose, Path(keep))  # a no-op run: its args are the role's
        for name in ("first", "noop"):
            if name == "first":
                namespace.reset()
                time.sleep(3)
            prof = Path(keep) / f"kind_nodeport-{name}.prof"
            subprocess.run([PYTHON, "-m", __spec__.name, "--profile-module", str(debug_dir), str(prof)], cwd=REPO, check=True)
            profile[f"module_{name}"] = phases(prof)
    log(f"N={namespace.size} profiled")
    return profile


def report(results: list, cluster: str) -> str:
    lines = [
        f"expose.yml on kind cluster {cluster}, medians (every run listed in --json):",
        "",
        "| N | first run (s) | no-op rerun (s) | empty play (s) | no-op - empty (s) | CPU s: first / no-op / empty | rounds | load | "
        "first run: reachable / no ready endpoints / unreachable |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        first, noop, empty = median(r["first"]), median(r["noop"]), median(r["empty"])
        cpu = " / ".join(f"{median(r[key + '_cpu']):.2f}" for key in ("first", "noop", "empty"))
        summary = ", ".join(" / ".join(map(str, c)) for c in sorted(set(r["counts_first"])))
        load = f"{min(r['load']):.1f}-{max(r['load']):.1f}"
        lines.append(f"| {r['size']} | {first:.2f} | {noop:.2f} | {empty:.2f} | {noop - empty:.2f} | {cpu} | {len(r['first'])} | {load} | {summary} |")
    by_size = {r["size"]: r for r in results}
    lines += ["", f"Targets ({TARGETS}):"]
    if 100 in by_size:
        first, noop = median(by_size[100]["first"]), median(by_size[100]["noop"])
        lines.append(f"- N=100 first run {first:.2f} s: {'met' if first <= 15 else 'MISSED'}; no-op rerun {noop:.2f} s: {'met' if noop <= 5 else 'MISSED'}")
    if 10 in by_size and 300 in by_size:
        ratio = median(by_size[300]["noop"]) / median(by_size[10]["noop"])
        lines.append(f"- no-op rerun N=300 / N=10 = {ratio:.2f}: {'met' if ratio <= 1.5 else 'MISSED'}")
    for r in results:
        if "profile" in r:
            p = r["profile"]
            lines += ["", f"Profile at N={r['size']}:"]
            for name in ("first", "noop"):
                times = p[f"tasks_{name}"]
                tasks = ", ".join(f"{task.split(' : ')[-1]} {seconds:.2f}" for task, seconds in times[:3])
                rest = sum(seconds for _task, seconds in times[3:])
                total = sum(seconds for _task, seconds in times)
                lines.append(f"- {name} run, {len(times)} tasks, {total:.2f} s (profile_tasks): {tasks}; the other {len(times) - 3}: {rest:.2f}")
                module = ", ".join(f"{phase} {seconds:.2f}" for phase, seconds in p[f"module_{name}"].items())
                lines.append(f"- {name} run, kind_nodeport under cProfile (s): {module}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,300", help="comma-separated N (default 10,100,300)")
    parser.add_argument("--reps", type=int, default=3, help="rounds per N (default 3)")
    parser.add_argument("--kind", metavar="CLUSTER", default="hostreach-bench", help="kind cluster (created if missing, deleted after)")
    parser.add_argument("--profile", action="store_true", help="also profile one first run and one no-op rerun per N")
    parser.add_argument("--json", metavar="FILE", help="write every sample here")
    parser.add_argument("--profile-module", nargs=2, metavar=("DEBUG_DIR", "PROFILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile_module:
        profile_module(Path(args.profile_module[0]), Path(args.profile_module[1]))
        return 0

    from kubernetes import config

    sizes = [int(n) for n in args.sizes.split(",") if n.strip()]
    log(f"machine: {machine()}")
    started = time.monotonic()
    results: list = []
    try:
        with bench_cluster(args.kind) as cluster, loaded_demo_httpd_image(cluster) as image:
            api = config.new_client_from_config(config_file=cluster.kubeconfig, context=cluster.context)
            api.configuration.connection_pool_maxsize = 16
            for size in sizes:
                results.append(bench_size(api, cluster.name, cluster.kubeconfig, image, size, args.reps, args.profile, log))
    except (BenchError, subprocess.CalledProcessError) as error:
        log(f"ERROR: {error}")
        return 1
    print(report(results, args.kind))
    print(f"\n{machine()}; kind node image of {cache_dir()}; took {time.monotonic() - started:.0f}s")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "cluster": args.kind, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
