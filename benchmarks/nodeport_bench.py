"""Exposing many Services: one kind_nodeport task against what users would otherwise run.

For each N, N ClusterIP Services are created in a fresh namespace of a tier 1 control plane
(harness/tier1.sh: etcd + kube-apiserver + kube-controller-manager on 127.0.0.1), and every variant is
timed for a FIRST run (ClusterIP -> NodePort) and a NO-OP rerun:
  a  one hostreach.kind.kind_nodeport task       ansible-playbook benchmarks/one_task.yml
  b  kubernetes.core.k8s in a loop                ansible-playbook benchmarks/k8s_loop.yml
  c  a `kubectl patch` shell loop                 benchmarks/kubectl_loop.sh
  d  the floor: one LIST + the needed PATCHes     python benchmarks/floor.py
Fixed costs, one run each per round: e, an empty play (ansible-playbook itself); f, a play with one
ansible.builtin.ping task (ansible-playbook plus one module task). (a) minus (f) is what the
kind_nodeport module itself costs, to set beside the floor.
Rounds alternate the variants (the order rotates every round). Before each first run the Services
are reset to ClusterIP, concurrently and outside the timed section. Every run is checked (exit code,
every Service NodePort with a nodePort): a failure is an error, exit status 1. Ratios never fail.

API requests are counted from the apiserver's own counters: the delta of `apiserver_request_total`
on /metrics around each run, for the resources the variants touch (services, configmaps; LISTs of
nodes), by verb and dry run. Discovery requests (GET /api, /apis) are not counted: the
controller-manager makes them too, every few seconds, and (a) and (d) make none. The control plane is
a private tier 1 instance (its own ports and state directory), so no other client's requests are
counted.

With --kind NAME, the whole expose.yml is also timed on a real kind cluster (harness/kind.sh, the
demo cluster of harness/demo.yml): one run, then no-op reruns alternating with the
empty play.

Usage (from the repo root, with the venv's python; `make bench` / `make bench-smoke`), as a module of the package
`benchmarks`, which imports the test harness as the package `harness` (both at the repo root):
  python -m benchmarks.nodeport_bench --sizes 10,100,500 --reps 5 --loop-reps 2 [--kind hostreach-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import sysconfig
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from harness.versions import binary_dirs, cache_dir

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"
PYTHON = sys.executable
ANSIBLE_PLAYBOOK = str(Path(PYTHON).with_name("ansible-playbook"))
KUBECTL = str(binary_dirs()["k8s"] / "kubectl")
MERGE_PATCH = "application/merge-patch+json"
RESTORE_ANNOTATION = "hostreach.kind/original"
# The requests the variants make: anything on services and configmaps, LISTs of nodes. The
# controller-manager also GETs, PATCHes and PUTs the benchmark's Node object (its node controllers
# reacting to a node with no kubelet), so other verbs on nodes are not the variants' and not counted.
COUNTED = {"services": None, "configmaps": None, "nodes": ("LIST",)}
# A tier 1 instance of its own, apart from the shared one (16443) and other engineers' instances.
TIER1_ENV = {
    "HOSTREACH_TIER1_DIR": str(cache_dir() / "run" / "tier1-bench"),
    "HOSTREACH_TIER1_ETCD_PORT": "23840",
    "HOSTREACH_TIER1_ETCD_PEER_PORT": "23841",
    "HOSTREACH_TIER1_API_PORT": "16480",
}
VARIANTS = {
    "a": "one kind_nodeport task",
    "b": "kubernetes.core.k8s loop",
    "c": "kubectl patch loop",
    "d": "floor (client: LIST + PATCHes)",
}
FIXED = {"e": ("empty play", "empty.yml"), "f": ("one ansible.builtin.ping task", "ping.yml")}


class BenchError(Exception):
    """A real failure: a command failed or did not leave the Services as expected."""


@dataclass
class Samples:
    """Timings (seconds) and API request counts of one variant at one N."""

    first: list = field(default_factory=list)
    noop: list = field(default_factory=list)
    requests_first: list = field(default_factory=list)
    requests_noop: list = field(default_factory=list)
    api_seconds_first: list = field(default_factory=list)  # floor only: time spent in requests


def median(values: list) -> float | None:
    return statistics.median(values) if values else None


def run(argv: list, env: dict | None = None) -> tuple[float, str]:
    """Runs a command, returns (seconds, stdout); a non-zero exit is a BenchError with the output."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout[-4000:]}")
    return seconds, done.stdout


def ansible_env() -> dict:
    return {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "collections"),
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_NOCOLOR": "true",
        "PATH": f"{Path(PYTHON).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


class Cluster:
    """The tier 1 control plane: the Services under test, resets, checks and the request counters."""

    def __init__(self, kubeconfig: str, context: str) -> None:
        from kubernetes import client, config

        self.kubeconfig, self.context = kubeconfig, context
        self.api = config.new_client_from_config(config_file=kubeconfig, context=context)
        self.api.configuration.connection_pool_maxsize = 16
        self.core = client.CoreV1Api(self.api)
        self.client = client

    def create_services(self, namespace: str, count: int) -> None:
        c = self.client
        self.core.create_namespace(c.V1Namespace(metadata=c.V1ObjectMeta(name=namespace)))

        def create(i: int) -> None:
            port = c.V1ServicePort(name="http", port=80, target_port=8080)
            spec = c.V1ServiceSpec(type="ClusterIP", selector={"app": f"bench-{i}"}, ports=[port])
            self.core.create_namespaced_service(namespace, c.V1Service(metadata=c.V1ObjectMeta(name=f"svc-{i:04d}"), spec=spec))

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(create, range(count)))
        # The controller-manager publishes kube-root-ca.crt into every new namespace: wait for it, so
        # that write is not counted as a variant's request.
        self.wait(
            lambda: self.core.list_namespaced_config_map(namespace, field_selector="metadata.name=kube-root-ca.crt").items, f"kube-root-ca.crt in {namespace}"
        )

    def wait(self, condition, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(0.2)

    def reset(self, namespace: str) -> None:
        """Every Service back to ClusterIP (the apiserver drops the nodePorts) without the restore annotation."""
        body = {"metadata": {"annotations": {RESTORE_ANNOTATION: None}}, "spec": {"type": "ClusterIP"}}
        names = [s.metadata.name for s in self.core.list_namespaced_service(namespace).items if s.spec.type != "ClusterIP"]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda name: self.core.patch_namespaced_service(name, namespace, body, _content_type=MERGE_PATCH), names))
        self.check(namespace, "ClusterIP")

    def check(self, namespace: str, wanted: str, count: int | None = None) -> None:
        services = self.core.list_namespaced_service(namespace).items
        wrong = [s.metadata.name for s in services if s.spec.type != wanted or (wanted == "NodePort") != all(p.node_port for p in s.spec.ports)]
        if wrong or (count is not None and len(services) != count):
            raise BenchError(
                f"namespace {namespace}: expected {count or 'all'} Services of type {wanted}; wrong: {wrong[:5]} ({len(wrong)}), total {len(services)}"
            )

    def delete_namespace(self, namespace: str) -> None:
        """Deletes it and waits until it is gone: the namespace controller's LISTs and deletions of its
        Services must not fall into the next N's counts."""
        self.core.delete_namespace(namespace)

        def gone() -> bool:
            return not self.core.list_namespace(field_selector=f"metadata.name={namespace}").items

        self.wait(gone, f"namespace {namespace} to be deleted", timeout=180)

    def create_node(self) -> str:
        """A Node API object (no kubelet) with InternalIP 127.0.0.1, so kind_nodeport builds URLs as on kind."""
        c = self.client
        name = f"bench-no-kubelet-{uuid.uuid4().hex[:6]}"
        self.core.create_node(c.V1Node(metadata=c.V1ObjectMeta(name=name)))
        self.core.patch_node_status(name, {"status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": name}]}})
        return name

    def request_counters(self) -> Counter:
        """apiserver_request_total from /metrics for the counted resources, keyed by (verb, resource, dry_run)."""
        response = self.api.call_api(*self.api.param_serialize("GET", "/metrics", auth_settings=["BearerToken"]))
        counters: Counter = Counter()
        for line in response.read().decode().splitlines():
            if not line.startswith("apiserver_request_total{"):
                continue
            labels, value = line.rsplit(" ", 1)
            label = dict(re.findall(r'(\w+)="([^"]*)"', labels))
            if label.get("component") != "apiserver":
                continue
            resource = label["resource"]
            if resource in COUNTED and (COUNTED[resource] is None or label["verb"] in COUNTED[resource]):
                counters[(label["verb"], label["resource"], label["dry_run"])] += float(value)
        return counters


@contextmanager
def counting(cluster: Cluster, into: list):
    """Appends the requests made inside the block (a Counter of deltas) to `into`."""
    before = cluster.request_counters()
    yield
    after = cluster.request_counters()
    into.append(Counter({key: int(after[key] - before.get(key, 0)) for key in after if after[key] - before.get(key, 0)}))


def api_requests(delta: Counter) -> int:
    return sum(delta.values())


class Variants:
    """How each variant is run against one namespace."""

    def __init__(self, cluster: Cluster, namespace: str) -> None:
        self.cluster, self.namespace = cluster, namespace
        self.extra = [
            "-e",
            json.dumps(
                {"bench_kubeconfig": cluster.kubeconfig, "bench_context": cluster.context, "bench_namespace": namespace, "ansible_python_interpreter": PYTHON}
            ),
        ]
        self.env = ansible_env()

    def playbook(self, name: str) -> tuple[float, dict]:
        seconds, _out = run([ANSIBLE_PLAYBOOK, str(BENCH / name), *self.extra], self.env)
        return seconds, {}

    def a(self) -> tuple[float, dict]:
        return self.playbook("one_task.yml")

    def b(self) -> tuple[float, dict]:
        return self.playbook("k8s_loop.yml")

    def c(self) -> tuple[float, dict]:
        seconds, _out = run([str(BENCH / "kubectl_loop.sh"), KUBECTL, self.cluster.kubeconfig, self.cluster.context, self.namespace])
        return seconds, {}

    def d(self) -> tuple[float, dict]:
        seconds, out = run([PYTHON, str(BENCH / "floor.py"), self.cluster.kubeconfig, self.cluster.context, self.namespace])
        return seconds, json.loads(out.strip().splitlines()[-1])

    def fixed(self, key: str) -> float:
        return self.playbook(FIXED[key][1])[0]


def bench_size(cluster: Cluster, size: int, reps: int, loop_reps: int, log) -> dict:
    namespace = f"bench-n{size}-{uuid.uuid4().hex[:6]}"
    cluster.create_services(namespace, size)
    cluster.check(namespace, "ClusterIP", size)
    variants = Variants(cluster, namespace)
    samples = {key: Samples() for key in VARIANTS}
    fixed: dict = {key: [] for key in FIXED}
    try:
        for round_no in range(reps):
            order = list(VARIANTS)[round_no % len(VARIANTS) :] + list(VARIANTS)[: round_no % len(VARIANTS)]
            for key in order:
                if key == "b" and round_no >= loop_reps:
                    continue
                sample = samples[key]
                cluster.reset(namespace)
                with counting(cluster, sample.requests_first):
                    seconds, info = getattr(variants, key)()
                sample.first.append(seconds)
                if "api_seconds" in info:
                    sample.api_seconds_first.append(info["api_seconds"])
                cluster.check(namespace, "NodePort", size)
                with counting(cluster, sample.requests_noop):
                    seconds, _info = getattr(variants, key)()
                sample.noop.append(seconds)
                cluster.check(namespace, "NodePort", size)
                log(f"N={size} round {round_no + 1}/{reps} {key}: first {sample.first[-1]:.2f}s, no-op {seconds:.2f}s")
            for key, values in fixed.items():
                values.append(variants.fixed(key))
    finally:
        cluster.delete_namespace(namespace)
    return {"size": size, "samples": samples, "fixed": fixed}


def ratio(x: float | None, y: float | None) -> str:
    return f"{x / y:.2f}" if x and y else "-"


def seconds_cell(values: list) -> str:
    return f"{median(values):.2f}" if values else "-"


def requests_cell(deltas: list) -> str:
    return str(int(median([api_requests(d) for d in deltas]))) if deltas else "-"


def breakdown(delta: Counter) -> str:
    return ", ".join(f"{verb} {resource}{' (dry run)' if dry else ''} {n}" for (verb, resource, dry), n in sorted(delta.items()))


def report(results: list, kind: dict | None) -> str:
    lines = []
    if results:
        lines += ["| N | variant | first run (s) | no-op rerun (s) | runs | API requests first / no-op |", "| ---: | --- | ---: | ---: | ---: | --- |"]
        for result in results:
            size = result["size"]
            for key, name in VARIANTS.items():
                s = result["samples"][key]
                requests = f"{requests_cell(s.requests_first)} / {requests_cell(s.requests_noop)}"
                lines.append(f"| {size} | ({key}) {name} | {seconds_cell(s.first)} | {seconds_cell(s.noop)} | {len(s.first)} | {requests} |")
            for key, (name, _playbook) in FIXED.items():
                lines.append(f"| {size} | ({key}) {name} | {seconds_cell(result['fixed'][key])} | | {len(result['fixed'][key])} | 0 |")
        lines += [
            "",
            "Ratios of medians (first run / no-op rerun); (a-f)/d is the module without Ansible's fixed cost of one task, against the floor:",
            "",
            "| N | a/b | a/c | a/d | (a-f)/d | (d) API time, first run (s) |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for result in results:
            m = {key: (median(s.first), median(s.noop)) for key, s in result["samples"].items()}
            ping = median(result["fixed"]["f"])
            cells = [f"{ratio(m['a'][0], m[other][0])} / {ratio(m['a'][1], m[other][1])}" for other in "bcd"]
            module = [m["a"][i] - ping if m["a"][i] and ping else None for i in (0, 1)]
            cells.append(f"{ratio(module[0], m['d'][0])} / {ratio(module[1], m['d'][1])}")
            lines.append(f"| {result['size']} | {' | '.join(cells)} | {seconds_cell(result['samples']['d'].api_seconds_first)} |")
        lines += ["", "API requests of one run (apiserver_request_total deltas), (a) at every N, the others at the largest:"]
        runs = [(result["size"], "a") for result in results] + [(results[-1]["size"], key) for key in VARIANTS if key != "a"]
        for size, key in runs:
            s = next(result for result in results if result["size"] == size)["samples"][key]
            if s.requests_first:
                lines.append(f"- ({key}) N={size}: first run: {breakdown(s.requests_first[-1])}; no-op: {breakdown(s.requests_noop[-1])}")
    if kind:
        lines += [
            "",
            f"expose.yml on kind cluster {kind['cluster']} ({kind['services']} Services in namespace default): first run {kind['first']:.2f}s; "
            f"no-op rerun median {median(kind['noop']):.2f}s over {len(kind['noop'])} runs ({', '.join(f'{x:.2f}' for x in kind['noop'])}); "
            f"empty play median {median(kind['empty']):.2f}s",
        ]
    return "\n".join(lines)


def first_line(argv: list) -> str:
    return (subprocess.run(argv, stdout=subprocess.PIPE, text=True, check=False).stdout.splitlines() or ["?"])[0]


def log(message: str) -> None:
    """A progress line on stderr, with the time and the load average the figures depend on."""
    print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.2f}] {message}", file=sys.stderr, flush=True)


@contextmanager
def bench_cluster(name: str):
    """The kind cluster `name` for a benchmark: made when missing, and then deleted after; a running one is used as it
    is (make bench-smoke shares the test cluster)."""
    from harness.kind import cluster_up, kind_sh

    existed = kind_sh("status", name, check=False).returncode == 0
    try:
        yield cluster_up(name)
    finally:
        if not existed:
            kind_sh("down", name, check=False)


def machine() -> str:
    """The CPUs, memory, load and the versions of everything timed."""
    from kubernetes import __version__ as sdk

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), "0")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    # kubernetes.core as the `ansible` package installs it (no Galaxy here)
    manifest = Path(sysconfig.get_paths()["purelib"]) / "ansible_collections" / "kubernetes" / "core" / "MANIFEST.json"
    k8s_core_version = json.loads(manifest.read_text())["collection_info"]["version"] if manifest.is_file() else "?"
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {int(memory) // 1024 // 1024} GiB RAM, load average {load}; {platform.platform()}; "
        f"Python {platform.python_version()}; {first_line([ANSIBLE_PLAYBOOK, '--version'])}; kubernetes.core {k8s_core_version}; "
        f"kubernetes SDK {sdk}; {first_line([KUBECTL, 'version', '--client'])}; apiserver {binary_dirs()['k8s'].parent.name}"
    )


@contextmanager
def tier1(kubeconfig: str | None):
    """The given kubeconfig, else the benchmark's own tier 1 instance (started here, stopped after if it was)."""
    if kubeconfig:
        yield kubeconfig
        return
    env = {**os.environ, **TIER1_ENV}
    script = str(REPO / "harness" / "tier1.sh")
    started = subprocess.run([script, "status"], env=env, stdout=subprocess.DEVNULL, check=False).returncode != 0
    up = subprocess.run([script, "up"], env=env, stdout=subprocess.PIPE, text=True, check=False)
    if up.returncode != 0:
        raise BenchError(f"harness/tier1.sh up failed (exit {up.returncode}); its error output is above")
    try:
        yield up.stdout.strip().splitlines()[-1]
    finally:
        if started:
            subprocess.run([script, "down"], env=env, stdout=subprocess.DEVNULL, check=False)


def bench_kind(name: str, reps: int, log) -> dict:
    """expose.yml on a kind cluster with the demo app: one run, then no-op reruns alternating with the empty play."""
    from harness.kind import kind_sh

    existed = kind_sh("status", name, check=False).returncode == 0
    env = ansible_env()
    run([ANSIBLE_PLAYBOOK, str(REPO / "harness" / "demo.yml"), "-e", f"hostreach_kind_cluster={name}"], env)
    kubeconfig = str(cache_dir() / "run" / f"kind-{name}" / "kubeconfig")
    expose = [ANSIBLE_PLAYBOOK, "hostreach.kind.expose", "-e", f"hostreach_kind_cluster={name}", "-e", f"hostreach_kind_kubeconfig={kubeconfig}"]
    empty = [ANSIBLE_PLAYBOOK, str(BENCH / "empty.yml")]
    try:
        first, _out = run(expose, env)
        log(f"kind: expose.yml first run {first:.2f}s")
        noop, empties = [], []
        for round_no in range(reps):
            seconds, out = run(expose, env)
            if not re.search(r"changed=0\s", out):
                raise BenchError(f"expose.yml rerun {round_no + 1} changed something:\n{out[-3000:]}")
            noop.append(seconds)
            empties.append(run(empty, env)[0])
            log(f"kind: expose.yml no-op rerun {round_no + 1}/{reps}: {seconds:.2f}s")
        from kubernetes import client, config

        core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig, context=f"kind-{name}"))
        services = len(core.list_namespaced_service("default").items)
    finally:
        if not existed:
            kind_sh("down", name, check=False)
    return {"cluster": name, "first": first, "noop": noop, "empty": empties, "services": services}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,500", help="comma-separated N (default 10,100,500); empty: no tier 1 part")
    parser.add_argument("--reps", type=int, default=5, help="rounds per N; each variant runs once per round (default 5)")
    parser.add_argument("--loop-reps", type=int, default=2, help="rounds in which the slow variant (b) runs too (default 2)")
    parser.add_argument("--kubeconfig", help="use this tier 1 kubeconfig instead of starting the benchmark's own instance")
    parser.add_argument("--context", default="tier1")
    parser.add_argument("--kind", metavar="CLUSTER", help="also time expose.yml no-op reruns on this kind cluster (created if missing, deleted after)")
    parser.add_argument("--kind-reps", type=int, default=5)
    parser.add_argument("--json", metavar="FILE", help="write every sample here")
    args = parser.parse_args()

    sizes = [int(n) for n in args.sizes.split(",") if n.strip()]
    log(f"machine: {machine()}")
    started = time.monotonic()
    results: list = []
    try:
        if sizes:
            with tier1(args.kubeconfig) as kubeconfig:
                cluster = Cluster(kubeconfig, args.context)
                node = cluster.create_node()
                try:
                    results = [bench_size(cluster, size, args.reps, args.loop_reps, log) for size in sizes]
                finally:
                    cluster.core.delete_node(node)
        kind = bench_kind(args.kind, args.kind_reps, log) if args.kind else None
    except BenchError as error:
        log(f"ERROR: {error}")
        return 1
    print(report(results, kind))
    print(f"\n{machine()}; took {time.monotonic() - started:.0f}s")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "tier1": [raw(r) for r in results], "kind": kind}, indent=1))
    return 0


def raw(result: dict) -> dict:
    """One N's samples as JSON: seconds as measured, request deltas as {"VERB resource [dry run]": count}."""
    samples = {}
    for key, s in result["samples"].items():
        samples[key] = {
            **vars(s),
            **{name: [{" ".join(filter(None, k)): n for k, n in d.items()} for d in getattr(s, name)] for name in ("requests_first", "requests_noop")},
        }
    return {"size": result["size"], "fixed": result["fixed"], "samples": samples}


if __name__ == "__main__":
    sys.exit(main())
