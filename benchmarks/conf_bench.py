"""Planning a large docker-connector.conf: docker_bridge_routes' parser and planner against the floor.

For each size N, a config with N distinct `route` lines (plus the usual addr/port/mtu lines) is planned
the way a run of the module plans it: parse, plan with a few wanted subnets (half already present, half
new), render, and list the routes of the result. The floor is what any tool must do with the same text:
split it into lines and put them in a set. Best of --reps runs each; the ratio says how far above the
floor the planner is, and the per-line figure stays flat when planning is linear.

Then one glued route line (`--glued`, subnets glued without a separator as the manual recipe's one-liner writes a
dual-stack network (docs/chain.md), and an adversarial value with two readings at every `/` and none in the end, which took minutes at 200
characters before issue 18): parse and plan it; the per-subnet figure stays flat when the split is linear.

Usage (from the repo root, with the venv's python; `make bench`, `make bench-smoke`):
  python -m benchmarks.conf_bench --sizes 1000,10000,100000 --glued 100,1000,10000 --reps 3
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / ".build" / "collections"))

from ansible_collections.hostreach.kind.plugins.module_utils import _connector_conf


def config_text(n: int) -> str:
    head = "addr 192.168.251.1/24\nport 2511\nmtu 1400\n# routes\n"
    return head + "".join(f"route 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}/32\n" for i in range(n))


def plan_like_a_run(text: str) -> list:
    present = [ipaddress.ip_network("10.0.0.1/32"), ipaddress.ip_network("10.0.0.2/32")]
    new = [ipaddress.ip_network("172.18.0.0/16"), ipaddress.ip_network("172.19.0.0/16")]
    planned = _connector_conf.plan(_connector_conf.parse(text), present + new)
    return _connector_conf.routes(_connector_conf.parse(planned.text))


def glued_line(kind: str, n: int) -> str:
    if kind == "dual-stack":
        return "route " + "".join(f"10.{i >> 8 & 255}.{i & 255}.0/24fd00:{i:x}::/64" for i in range(n)) + "\n"
    return "route 1.1.1.1/" + "111.1.1.1/" * n + "1x\n"


def plan_glued(text: str) -> list:
    return _connector_conf.routes(_connector_conf.parse(_connector_conf.plan(_connector_conf.parse(text), []).text))


def glued_table(sizes: list, reps: int) -> int:
    print(f"\n{'glued line':>12} {'subnets':>9} {'chars':>9} {'planner s':>10} {'us/subnet':>10}")
    for kind in ("dual-stack", "adversarial"):
        for n in sizes:
            text = glued_line(kind, n)
            routes = plan_glued(text)
            if len(routes) != (n if kind == "dual-stack" else 0):
                print(f"ERROR: {kind} line of {n} subnets planned to {len(routes)} routes", file=sys.stderr)
                return 1
            seconds = best_of(reps, plan_glued, text)
            print(f"{kind:>12} {n:>9} {len(text):>9} {seconds:>10.3f} {seconds / n * 1e6:>10.1f}")
    return 0


def floor(text: str) -> set:
    return set(text.split("\n"))


def best_of(reps: int, function, text: str) -> float:
    times = []
    for _rep in range(reps):
        start = time.perf_counter()
        function(text)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--glued", default="100,1000,10000")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    print(f"{'route lines':>12} {'size':>9} {'planner s':>10} {'floor s':>9} {'ratio':>7} {'us/line':>8}")
    for n in (int(x) for x in args.sizes.split(",")):
        text = config_text(n)
        routes = plan_like_a_run(text)
        if len(routes) != n + 2:
            print(f"ERROR: planned {len(routes)} routes for {n} lines + 2 new", file=sys.stderr)
            return 1
        planner = best_of(args.reps, plan_like_a_run, text)
        base = best_of(args.reps, floor, text)
        print(f"{n:>12} {len(text) / 1e6:>8.2f}M {planner:>10.3f} {base:>9.4f} {planner / base:>7.0f} {planner / n * 1e6:>8.2f}")
    return glued_table([int(x) for x in args.glued.split(",")], args.reps)


if __name__ == "__main__":
    sys.exit(main())
