"""The watch agent's speed on a real kind cluster (issue 20): how soon a new Service answers, what idling costs.

One kind cluster (default hostreach-bench, created if missing and deleted after), a namespace of the run with a
Deployment `backend` (2 ready demo-httpd pods), and the agent as `make watch` runs it (harness/watch.py: direct mode
on this Linux host, the services step, that namespace, a summary file). Measured:

  service   `create Service` (ClusterIP, selecting backend) -> its URL, from the summary file the agent keeps, answers
            HTTP 200 from this host. One Service at a time, --services of them: median and p95.
  floor     kube-proxy's own delay: a NodePort Service created directly (in a namespace the agent does not watch) ->
            its nodePort answers HTTP 200 at the node's address. The same count: median and p95; the ratio
            service/floor is what the agent adds (debounce, the narrowed expose, its probe).
  resync    the narrowed expose the agent runs for one cluster, when nothing changed (median of --reps), beside
            `ansible-playbook` with one task (benchmarks/ping.yml), the fixed cost any playbook run pays.
  idle      the agent left alone for --idle seconds: its CPU (its own and its finished runs', from /proc), its RSS at
            the end, and the apiserver's LIST and WATCH requests meanwhile (apiserver_request_total, which does not say
            who asked), set beside the same count over a window as long before the agent started (at most 120 s): the
            LIST rate the cluster's own components make. What the agent adds is the difference.

  cluster   a second kind cluster created while an agent follows `hostreach_kind_clusters: all` (kube-system, the
            Services carrying the run's label): once kind returns (its node Ready), its kube-dns Service is labelled,
            and the time from the node's Ready condition to a reachable URL of it in the summary is measured, beside
            the time CoreDNS's endpoints became ready (what the URL waits for whatever the agent does). One round.

Checks (errors, exit status 1): every Service's URL answers 200 within 60 s; the agent is still running at the end.
Targets are printed with the figures, never checked: service p95 <= 5 s; first URL <= 10 s after the node is Ready;
idle CPU < 1 %, RSS < 100 MB, no LIST.

  python -m benchmarks.watch_bench --services 20 --reps 3 --idle 600 --kind hostreach-bench [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / ".build" / "collections"))

from ansible_collections.hostreach.kind.plugins.module_utils._watch_plan import resync_vars
from ansible_collections.hostreach.kind.plugins.module_utils._watch_playbooks import Playbooks

from benchmarks.nodeport_bench import ANSIBLE_PLAYBOOK, BenchError, bench_cluster, log, machine, median
from harness.kind import DEMO_HTTPD_PORT, kind_sh, loaded_demo_httpd_image
from harness.watch import WatchAgent

BENCH = Path(__file__).resolve().parent
TARGETS = (
    "service p95 <= 5 s; first URL of a new cluster <= 10 s after its node is Ready; idle CPU < 1 %, RSS < 100 MB, "
    "no LIST beyond the periodic check (idle LIST rate = the rate before)"
)
TICKS = os.sysconf("SC_CLK_TCK")


def p95(values: list) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as reply:  # a node of the bench's own cluster
            return reply.status == 200
    except OSError:
        return False


def until(condition, timeout: float, what: str, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(step)
    raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")


class Bench:
    def __init__(self, cluster, image: str, folder: Path) -> None:
        from kubernetes import client, config

        self.c, self.cluster, self.image, self.folder = client, cluster, image, folder
        api = config.new_client_from_config(config_file=cluster.kubeconfig, context=cluster.context)
        self.core, self.apps, self.api = client.CoreV1Api(api), client.AppsV1Api(api), api
        run = uuid.uuid4().hex[:6]
        self.watched, self.unwatched = f"watch-bench-{run}", f"watch-floor-{run}"
        self.summary = folder / "summary.json"
        self.node_ip = next(a.address for a in self.core.list_node().items[0].status.addresses if a.type == "InternalIP")

    def namespaces(self) -> None:
        c = self.c
        for name in (self.watched, self.unwatched):
            self.core.create_namespace(c.V1Namespace(metadata=c.V1ObjectMeta(name=name)))
            probe = c.V1Probe(http_get=c.V1HTTPGetAction(path="/", port=DEMO_HTTPD_PORT), period_seconds=1)
            container = c.V1Container(name="httpd", image=self.image, image_pull_policy="Never", readiness_probe=probe)
            pod = c.V1PodTemplateSpec(metadata=c.V1ObjectMeta(labels={"app": "backend"}), spec=c.V1PodSpec(containers=[container]))
            spec = c.V1DeploymentSpec(replicas=2, selector=c.V1LabelSelector(match_labels={"app": "backend"}), template=pod)
            self.apps.create_namespaced_deployment(name, c.V1Deployment(metadata=c.V1ObjectMeta(name="backend"), spec=spec))
        for name in (self.watched, self.unwatched):
            until(lambda n=name: self.apps.read_namespaced_deployment("backend", n).status.ready_replicas == 2, 180, f"backend ready in {name}", 1)

    def service(self, namespace: str, name: str, type_: str = "ClusterIP"):
        c = self.c
        port = c.V1ServicePort(name="http", port=80, target_port=DEMO_HTTPD_PORT)
        body = c.V1Service(metadata=c.V1ObjectMeta(name=name), spec=c.V1ServiceSpec(type=type_, selector={"app": "backend"}, ports=[port]))
        return self.core.create_namespaced_service(namespace, body)

    def url_of(self, name: str) -> str | None:
        try:
            rows = json.loads(self.summary.read_text())
        except (OSError, ValueError):
            return None
        return next((r["url"] for r in rows if r["namespace"] == self.watched and r["service"] == name and r.get("url")), None)

    def agent_vars(self) -> dict:
        return {
            "hostreach_kind_mode": "direct",
            "hostreach_kind_steps": ["services"],
            "hostreach_kind_cluster": self.cluster.name,
            "hostreach_kind_kubeconfig": self.cluster.kubeconfig,
            "hostreach_kind_namespaces": [self.watched],
            "hostreach_kind_summary_file": str(self.summary),
        }

    def cleanup(self) -> None:
        for name in (self.watched, self.unwatched):
            self.core.delete_namespace(name)


def service_latency(bench: Bench, count: int, log) -> list:
    samples = []
    for i in range(count):
        name = f"svc-{i:02d}"
        started = time.monotonic()
        bench.service(bench.watched, name)
        until(lambda n=name: (url := bench.url_of(n)) and answers(url), 60, f"{name}'s URL to answer")
        samples.append(time.monotonic() - started)
        log(f"service {name}: {samples[-1]:.2f} s")
    return samples


def floor_latency(bench: Bench, count: int, log) -> list:
    samples = []
    for i in range(count):
        started = time.monotonic()
        created = bench.service(bench.unwatched, f"floor-{i:02d}", "NodePort")
        url = f"http://{bench.node_ip}:{created.spec.ports[0].node_port}/"
        until(lambda u=url: answers(u), 60, f"{url} to answer")
        samples.append(time.monotonic() - started)
        log(f"floor {i}: {samples[-1]:.2f} s")
    return samples


SECOND = "hostreach-wbench2"
SECOND_SUBNETS = {"pod_subnet": "10.248.0.0/16", "service_subnet": "10.114.0.0/20"}  # apart from every harness cluster's


def ready_since(core, what: str) -> float:
    """The wall-clock time the first node's condition `what` became True (the API gives whole seconds)."""
    node = core.list_node().items[0]
    return next(c.last_transition_time.timestamp() for c in node.status.conditions if c.type == what and c.status == "True")


def endpoints_ready(core, namespace: str, service: str) -> bool:
    """Whether the Service's EndpointSlices have a ready endpoint."""
    from kubernetes import client

    slices = client.DiscoveryV1Api(core.api_client).list_namespaced_endpoint_slice(namespace, label_selector=f"kubernetes.io/service-name={service}")
    return any(e.conditions and e.conditions.ready for s in slices.items for e in s.endpoints or [])


def cluster_start(bench: Bench, folder: Path, log) -> dict:
    """A second cluster created under an agent following every cluster: node Ready -> its first URL reachable."""
    from harness.kind import cluster_up, kubeconfig_path

    run, summary = uuid.uuid4().hex[:6], folder / "clusters.json"
    kubeconfigs = ":".join(sorted({bench.cluster.kubeconfig, str(kubeconfig_path(SECOND))}))
    settings = {**bench.agent_vars(), "hostreach_kind_clusters": "all", "hostreach_kind_namespaces": ["kube-system"]}
    settings.update(hostreach_kind_label_selector=f"hostreach-bench={run}", hostreach_kind_kubeconfig=kubeconfigs, hostreach_kind_summary_file=str(summary))
    del settings["hostreach_kind_cluster"]
    agent = WatchAgent(folder / "clusters-state", folder / "clusters-agent.log")
    try:
        agent.start(settings, interval=600)
        agent.wait_line(r"^\S+ following ", timeout=180)
        log(f"creating kind cluster {SECOND}")
        second = cluster_up(SECOND, workers=0, **SECOND_SUBNETS)
        core = second.core_v1()
        core.patch_namespaced_service("kube-dns", "kube-system", {"metadata": {"labels": {"hostreach-bench": run}}})
        seen: dict = {}

        def reachable() -> bool:
            if "endpoints" not in seen and endpoints_ready(core, "kube-system", "kube-dns"):
                seen["endpoints"] = time.time()  # as this loop saw it, within 0.2 s
            rows = json.loads(summary.read_text()) if summary.exists() else []
            return any(r["cluster"] == SECOND and r.get("reachable") for r in rows)

        until(reachable, 180, f"a reachable URL of {SECOND} in the summary", 0.2)
        url_at, node_ready = time.time(), ready_since(core, "Ready")
        return {"after_ready": url_at - node_ready, "after_endpoints": url_at - max(node_ready, seen.get("endpoints", url_at))}
    finally:
        agent.stop()
        kind_sh("down", SECOND, check=False)


def timed(argv: list) -> float:
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv[:3])} ... exited {done.returncode}: {done.stdout[-800:]}")
    return time.monotonic() - started


def resync_seconds(bench: Bench, reps: int) -> tuple:
    """(the agent's no-op resync of one cluster, ansible-playbook with one task), medians. The resync is run as the
    agent runs it (_watch_playbooks.Playbooks, with its fact cache), after one run that fills that cache."""
    playbooks = Playbooks(["-e", json.dumps(bench.agent_vars())], str(bench.folder / "resync"), ANSIBLE_PLAYBOOK)
    narrowed = resync_vars(["services"], [bench.cluster.name])
    runs = [playbooks.run("expose", narrowed) for _rep in range(reps + 1)]
    failed = [run.detail for run in runs if not run.ok]
    if failed:
        raise BenchError(f"a no-op resync failed: {failed[0]}")
    one_task = [ANSIBLE_PLAYBOOK, str(BENCH / "ping.yml")]
    return median([run.seconds for run in runs[1:]]), median([timed(one_task) for _rep in range(reps)])


def cpu_seconds(pid: int) -> float:
    """The process's CPU and that of its waited-for children (the agent's finished runs), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / TICKS


def rss_mb(pid: int) -> float:
    found = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(found.group(1)) / 1024 if found else 0.0


def requests(bench: Bench) -> dict:
    """apiserver_request_total by verb (LIST, WATCH), summed over resources."""
    response = bench.api.call_api(*bench.api.param_serialize("GET", "/metrics", auth_settings=["BearerToken"]))
    totals: dict = {"LIST": 0.0, "WATCH": 0.0}
    for line in response.read().decode().splitlines():
        if line.startswith("apiserver_request_total{"):
            labels, value = line.rsplit(" ", 1)
            verb = dict(re.findall(r'(\w+)="([^"]*)"', labels)).get("verb")
            if verb in totals:
                totals[verb] += float(value)
    return totals


def baseline(bench: Bench, seconds: float, log) -> dict:
    """LIST and WATCH requests per minute while no agent runs: the cluster's own components."""
    log(f"counting the apiserver's requests for {seconds:.0f} s before the agent starts")
    before, started = requests(bench), time.monotonic()
    time.sleep(seconds)
    after, elapsed = requests(bench), time.monotonic() - started
    return {verb: 60 * (after[verb] - before[verb]) / elapsed for verb in ("LIST", "WATCH")}


def idle(bench: Bench, agent: WatchAgent, seconds: float, log) -> dict:
    pid = agent.process.pid
    cpu, before, started = cpu_seconds(pid), requests(bench), time.monotonic()
    log(f"idle for {seconds:.0f} s")
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    after = requests(bench)
    if agent.process.poll() is not None:
        raise BenchError(f"the agent ended while idle:\n{agent.output()[-2000:]}")
    return {
        "seconds": elapsed,
        "cpu_percent": 100 * (cpu_seconds(pid) - cpu) / elapsed,
        "rss_mb": rss_mb(pid),
        "lists": int(after["LIST"] - before["LIST"]),
        "watches": int(after["WATCH"] - before["WATCH"]),
        "lists_per_minute": 60 * (after["LIST"] - before["LIST"]) / elapsed,
    }


def report(result: dict) -> str:
    s, f, i = result["service"], result["floor"], result["idle"]
    lines = [
        "| measure | median | p95 | n |\n| --- | --- | --- | --- |",
        f"| create Service -> URL 200 through the agent | {median(s):.2f} s | {p95(s):.2f} s | {len(s)} |",
        f"| floor: NodePort Service -> nodePort 200 (kube-proxy) | {median(f):.2f} s | {p95(f):.2f} s | {len(f)} |",
        f"| ratio agent / floor | {median(s) / median(f):.1f}x | {p95(s) / p95(f):.1f}x | |",
        "",
        f"no-op resync of one cluster (narrowed expose): {result['resync']:.2f} s median; ansible-playbook with one task: {result['one_task']:.2f} s",
        f"new cluster: its first URL reachable {result['cluster']['after_ready']:.1f} s after its node was Ready (whole seconds), "
        f"{result['cluster']['after_endpoints']:.1f} s after CoreDNS's endpoints were",
        f"idle {i['seconds']:.0f} s: agent CPU {i['cpu_percent']:.2f} %, RSS {i['rss_mb']:.0f} MB; "
        f"apiserver LIST {i['lists']}, WATCH {i['watches']} (all clients): {i['lists_per_minute']:.1f} LIST/min, "
        f"{result['baseline']['LIST']:.1f} LIST/min before the agent started",
        f"targets: {TARGETS}",
    ]
    return "\n".join(lines)


def measure(cluster, image: str, args, log) -> dict:
    with tempfile.TemporaryDirectory(prefix="watch-bench-") as tmp:
        bench = Bench(cluster, image, Path(tmp))
        bench.namespaces()
        quiet = baseline(bench, min(args.idle, 120), log)
        agent = WatchAgent(Path(tmp) / "state", Path(tmp) / "agent.log")
        try:
            agent.start(bench.agent_vars(), interval=args.interval)
            agent.wait_line(r"^\S+ following ", timeout=180)
            result = {"service": service_latency(bench, args.services, log), "floor": floor_latency(bench, args.services, log)}
            result["idle"], result["baseline"] = idle(bench, agent, args.idle, log), quiet
            result["resync"], result["one_task"] = resync_seconds(bench, args.reps)
            result["cluster"] = cluster_start(bench, Path(tmp), log)
            return result
        finally:
            agent.stop()
            bench.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=20, help="Services created one after the other (default 20)")
    parser.add_argument("--reps", type=int, default=3, help="rounds of the no-op resync (default 3)")
    parser.add_argument("--idle", type=float, default=600, help="seconds the agent idles while measured (default 600)")
    parser.add_argument("--interval", type=float, default=60, help="the agent's periodic check (default 60)")
    parser.add_argument("--kind", metavar="CLUSTER", default="hostreach-bench", help="kind cluster (created if missing, deleted after)")
    parser.add_argument("--json", metavar="FILE", help="write every sample here")
    args = parser.parse_args()

    log(f"machine: {machine()}")
    try:
        with bench_cluster(args.kind) as cluster, loaded_demo_httpd_image(cluster) as image:
            result = measure(cluster, image, args, log)
    except (BenchError, subprocess.CalledProcessError, AssertionError) as error:
        log(f"ERROR: {error}")
        return 1
    print(report(result))
    print(f"\n{machine()}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "cluster": args.kind, **result}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
