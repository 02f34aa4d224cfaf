"""Where kind_nodeport's time goes: cProfile of the module itself, first run and no-op rerun.

Runs benchmarks/one_task.yml once with ANSIBLE_KEEP_REMOTE_FILES to get the AnsiballZ wrapper Ansible
executed, explodes it (`AnsiballZ_kind_nodeport.py explode`), and runs the exploded module in this
module under cProfile in a fresh interpreter (imports included, as in a real run): once with every
Service ClusterIP (first run), once again (no-op). Prints the wall time and the top functions by
cumulative time, and writes the profiles for `python -m pstats`.

Usage (from the repo root): python -m benchmarks.profile_module [--size 500] [--top 25] [--out /tmp/kind_nodeport]
(uses the benchmark's own tier 1 instance, like nodeport_bench.py, or --kubeconfig)
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.nodeport_bench import ANSIBLE_PLAYBOOK, BENCH, PYTHON, REPO, Cluster, ansible_env, tier1

MODULE = "ansible_collections.hostreach.kind.plugins.modules.kind_nodeport"


def exploded_module(cluster: Cluster, namespace: str, keep: Path) -> Path:
    """The debug_dir of the AnsiballZ wrapper of one kind_nodeport run (its args included)."""
    extra = {"bench_kubeconfig": cluster.kubeconfig, "bench_context": cluster.context, "bench_namespace": namespace, "ansible_python_interpreter": PYTHON}
    env = {**ansible_env(), "ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TMP": str(keep)}
    subprocess.run([ANSIBLE_PLAYBOOK, str(BENCH / "one_task.yml"), "-e", json.dumps(extra)], env=env, check=True, stdout=subprocess.DEVNULL)
    wrapper = next(keep.glob("ansible-tmp-*/AnsiballZ_kind_nodeport.py"))
    subprocess.run([PYTHON, str(wrapper), "explode"], check=True, stdout=subprocess.DEVNULL)
    return wrapper.parent / "debug_dir"


def profile_run(debug_dir: Path, out: Path, top: int) -> None:
    """Runs the exploded module once under cProfile (its JSON result is swallowed) and prints the top functions.
    Called in a fresh interpreter (--run), so the module's imports are measured as in a real run."""
    sys.path.insert(0, str(debug_dir))  # the module's own copy of ansible.module_utils and the collection
    from ansible.module_utils._internal._ansiballz import _loader  # the same loader AnsiballZ uses

    params = (debug_dir / "args").read_bytes()
    profile = cProfile.Profile()
    result = io.StringIO()
    start = time.perf_counter()
    profile.enable()
    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(result):
        _loader.run_module(json_params=params, profile="legacy", module_fqn=MODULE, modlib_path=str(debug_dir), extensions={})
    profile.disable()
    wall = time.perf_counter() - start
    profile.dump_stats(out)
    changed = json.loads(result.getvalue()).get("changed")
    print(f"\n== {out.name}: wall {wall:.2f}s under cProfile, changed={changed}, result {len(result.getvalue())} bytes; profile in {out}")
    pstats.Stats(str(out)).strip_dirs().sort_stats("cumulative").print_stats(top)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=500, help="number of ClusterIP Services (default 500)")
    parser.add_argument("--top", type=int, default=25, help="functions to print per profile")
    parser.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "kind_nodeport"), help="profile file prefix")
    parser.add_argument("--kubeconfig", help="a tier 1 kubeconfig instead of the benchmark's own instance")
    parser.add_argument("--context", default="tier1")
    parser.add_argument("--run", nargs=2, metavar=("DEBUG_DIR", "PROFILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        profile_run(Path(args.run[0]), Path(args.run[1]), args.top)
        return 0

    def fresh(name: str) -> None:
        subprocess.run([PYTHON, "-m", __spec__.name, "--top", str(args.top), "--run", str(debug_dir), f"{args.out}-{name}.prof"], cwd=REPO, check=True)

    with tier1(args.kubeconfig) as kubeconfig, tempfile.TemporaryDirectory(prefix="kind_nodeport-keep-") as keep:
        cluster = Cluster(kubeconfig, args.context)
        namespace = f"bench-profile-{uuid.uuid4().hex[:6]}"
        node = cluster.create_node()
        try:
            cluster.create_services(namespace, args.size)
            debug_dir = exploded_module(cluster, namespace, Path(keep))
            cluster.reset(namespace)
            fresh("first")
            cluster.check(namespace, "NodePort", args.size)
            fresh("noop")
        finally:
            cluster.core.delete_node(node)
            cluster.delete_namespace(namespace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
