#!/usr/bin/env python3
"""Multi-node workloads on a cluster of real nodes on this machine (a head
and two 1-CPU nodes), for flare and, side by side, Ray's own
``ray.cluster_utils.Cluster`` when Ray is installed.

Usage::

    python bench/cluster_bench.py                       # flare
    python bench/cluster_bench.py --ray-python /tmp/rayvenv/bin/python
    python bench/cluster_bench.py --only start remote_task_sync

Each runtime runs in a subprocess of its own; the parent prints a markdown
table (ratio > 1: flare is better). Workloads:

==================  ===========================================================
``start``           Cluster(head) + 2 add_node + init + one task on each node
                    (s; the cluster's shutdown is not timed)
``remote_task_sync`` ``get(f.remote())`` in a loop, f pinned to another node
                    (round trips/s)
``remote_task_batch`` batches of 1000 ``f.remote()`` pinned to another node
                    (tasks/s)
``remote_actor_sync`` ``get(a.noop.remote())``, the caller a task on another
                    node than the actor (calls/s)
``spread_6x05``     6 tasks of 0.5 s on 3 x 1 CPU (s; ideal 1.0)
==================  ===========================================================
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

WORKLOADS = ["start", "remote_task_sync", "remote_task_batch", "remote_actor_sync",
             "spread_6x05"]
HIGHER_IS_BETTER = {"remote_task_sync", "remote_task_batch", "remote_actor_sync"}
UNITS = {"start": "s", "remote_task_sync": "trips/s", "remote_task_batch": "tasks/s",
         "remote_actor_sync": "calls/s", "spread_6x05": "s"}


def run_child(impl: str, only) -> dict:
    if impl == "ray":
        import ray
        from ray.cluster_utils import Cluster
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    else:
        import flare as ray
        from flare.cluster_utils import Cluster
        from flare.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    results = {}
    start = time.perf_counter()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address)

    @ray.remote(num_cpus=1)
    def where():
        return ray.get_runtime_context().get_node_id()

    ids = [ray.get_runtime_context().get_node_id()] + [w.node_id for w in workers]
    ray.get([where.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n, soft=False))
             .remote() for n in ids])
    results["start"] = time.perf_counter() - start
    try:
        other = NodeAffinitySchedulingStrategy(workers[0].node_id, soft=False)

        @ray.remote(num_cpus=0)
        def noop():
            return None

        if "remote_task_sync" in only:
            for _ in range(50):
                ray.get(noop.options(scheduling_strategy=other).remote())
            rates = []
            for _ in range(3):
                t = time.perf_counter()
                for _ in range(300):
                    ray.get(noop.options(scheduling_strategy=other).remote())
                rates.append(300 / (time.perf_counter() - t))
            results["remote_task_sync"] = statistics.median(rates)
        if "remote_task_batch" in only:
            ray.get([noop.options(scheduling_strategy=other).remote() for _ in range(200)])
            rates = []
            for _ in range(3):
                t = time.perf_counter()
                ray.get([noop.options(scheduling_strategy=other).remote() for _ in range(1000)])
                rates.append(1000 / (time.perf_counter() - t))
            results["remote_task_batch"] = statistics.median(rates)
        if "remote_actor_sync" in only:
            @ray.remote(num_cpus=0)
            class Echo:
                def noop(self):
                    return None

            @ray.remote(num_cpus=0)
            def caller(actor, n):
                ray.get(actor.noop.remote())
                t = time.perf_counter()
                for _ in range(n):
                    ray.get(actor.noop.remote())
                return n / (time.perf_counter() - t)

            actor = Echo.remote()  # on the head, where this driver runs
            rates = [ray.get(caller.options(scheduling_strategy=other).remote(actor, 300))
                     for _ in range(3)]
            results["remote_actor_sync"] = statistics.median(rates)
        if "spread_6x05" in only:
            @ray.remote(num_cpus=1)
            def half():
                time.sleep(0.5)

            ray.get([half.remote() for _ in range(3)])
            t = time.perf_counter()
            ray.get([half.remote() for _ in range(6)])
            results["spread_6x05"] = time.perf_counter() - t
    finally:
        ray.shutdown()
        cluster.shutdown()
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--impl", choices=["flare", "ray", "both"], default=None)
    parser.add_argument("--only", nargs="*", default=WORKLOADS)
    parser.add_argument("--flare-python", default=sys.executable)
    parser.add_argument("--ray-python", default=None)
    parser.add_argument("--child", choices=["flare", "ray"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, set(args.only))))
        return 0
    impls = ["flare"] + (["ray"] if args.ray_python or args.impl in ("ray", "both") else [])
    if args.impl == "flare":
        impls = ["flare"]
    out = {}
    for impl in impls:
        python = args.flare_python if impl == "flare" else (args.ray_python or sys.executable)
        proc = subprocess.run([python, __file__, "--child", impl, "--only", *args.only],
                              capture_output=True, text=True, timeout=900,
                              env=dict(os.environ, RAY_DEDUP_LOGS="0"))
        if proc.returncode != 0:
            print(f"{impl} failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
            continue
        out[impl] = json.loads(proc.stdout.strip().splitlines()[-1])
    print("| workload | unit | flare | ray | flare/ray |")
    print("|---|---|---:|---:|---:|")
    for name in WORKLOADS:
        if name not in args.only and name != "start":
            continue
        f, r = out.get("flare", {}).get(name), out.get("ray", {}).get(name)
        ratio = ""
        if f and r:
            ratio = f"{(f / r if name in HIGHER_IS_BETTER else r / f):.1f}x"
        fmt = lambda v: "" if v is None else (f"{v:,.0f}" if v > 100 else f"{v:.2f}")
        print(f"| {name} | {UNITS[name]} | {fmt(f)} | {fmt(r)} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
