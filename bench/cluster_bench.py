#!/usr/bin/env python3
"""Multi-node workloads on a cluster of real nodes on this machine (a head
and two 1-CPU nodes, 1.5 GiB of object store each), for flare and, side by
side, Ray's own ``ray.cluster_utils.Cluster`` when Ray is installed.

Usage::

    python bench/cluster_bench.py                       # flare
    python bench/cluster_bench.py --ray-python /tmp/rayvenv/bin/python
    python bench/cluster_bench.py --only start get_100m
    python bench/cluster_bench.py --scale 32 --ray-python /tmp/rayvenv/bin/python

Each runtime runs in a subprocess of its own; the parent prints a markdown
table (ratio > 1: flare is better). Workloads (rates are medians of 3-7
repetitions after an untimed one; 1 GiB = 2^30 bytes):

==========================  ===================================================
``start``                   Cluster(head) + 2 add_node + init + one task on
                            each node (s; the cluster's shutdown is not timed)
``remote_task_sync``        ``get(f.remote())`` in a loop, f pinned to another
                            node (round trips/s)
``remote_task_batch``       batches of 1000 ``f.remote()`` pinned to another
                            node (tasks/s)
``remote_actor_sync``       ``get(a.noop.remote())``, the caller a task on
                            another node than the actor (calls/s)
``remote_actor_batch``      batches of 1000 ``a.noop.remote()``, the caller a
                            task on another node than the actor (calls/s)
``spread_6x05``             6 tasks of 0.5 s on 3 x 1 CPU (s; ideal 1.0)
``get_100m``, ``get_500m``  ``get(make.remote())`` on the driver (head), make
                            pinned on a worker node, returning a numpy array
                            (GiB/s end to end: making the array is timed too).
                            Each run is paired with the same on the head (a
                            local baseline); ``*_transfer`` is size / the
                            median of (end to end - baseline): what crossing
                            nodes costs. (Both pull at the get;
                            timing the task too keeps the rows comparable
                            with earlier runs)
``put_200m``                ``put`` of an array on the driver, then a task
                            pinned on a worker node reads it (GiB/s over the
                            task's round trip; the put is not timed)
``read_256m_twice``         a 256 MiB array put on the driver, read by two
                            tasks at once, one on each worker node (GiB/s
                            delivered: 2 x 256 MiB over the time both take)
==========================  ===================================================

``--scale N`` runs the scale workload instead: N one-CPU nodes (the head and
N-1 that join it, started without waiting for each other) and one task
pinned on each; it reports the time from the first raylet's start until
every task returned, then, with the cluster idle, each raylet's resident
memory (VmRSS) and that of every process of the cluster (raylets, GCS and
agents, workers). If Ray cannot run N nodes within ``--scale-timeout``, it
is tried again with half as many (down to 4) and the table says which N.

Every cluster is shut down when its workload ends, fails or times out; the
parent adopts whatever a child leaves running (``bench_procs``), kills it
and names it, and names any new /dev/shm entry.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from bench_procs import adopt_orphans, descendants, kill_tree, proc_table, reap_leftovers
from bench_procs import shm_entries, vm_rss_kib

MIB = 1 << 20
GIB = 1 << 30
STORE_BYTES = 1536 * MIB  # per node: room for a 500 MiB object on both ends, and its maker
SCALE_STORE_BYTES = 128 * MIB  # 32 nodes share one machine

# name -> (what the table calls it, unit, higher is better)
WORKLOADS: Dict[str, Tuple[str, str, bool]] = {
    "start": ("start 3 nodes + `init` + a task on each", "s", False),
    "remote_task_sync": ("task round trip to a task pinned on another node", "/s", True),
    "remote_task_batch": ("batches of 1000 tasks pinned on another node", "/s", True),
    "remote_actor_sync": ("actor call round trip, caller on another node", "/s", True),
    "remote_actor_batch": ("actor calls in batches of 1000, caller on another node", "/s", True),
    "spread_6x05": ("6 tasks of 0.5 s on 3 x 1 CPU (ideal 1.0)", "s", False),
    "get_100m": ("`get` of a 100 MiB array a task on another node returns", "GiB/s", True),
    "get_500m": ("`get` of a 500 MiB array a task on another node returns", "GiB/s", True),
    "put_200m": ("200 MiB `put`, read by a task on another node", "GiB/s", True),
    "read_256m_twice": ("256 MiB object read on two other nodes at once", "GiB/s", True),
}
# Rows derived from a workload's figures, printed after it.
DERIVED: Dict[str, Tuple[str, str, bool]] = {
    "get_100m_transfer": ("the same, less the same task on the driver's node", "GiB/s", True),
    "get_500m_transfer": ("the same, less the same task on the driver's node", "GiB/s", True),
}
SCALE_ROWS: Dict[str, Tuple[str, str, bool]] = {
    "scale_start": ("start {n} one-CPU nodes + `init` + a task pinned on each", "s", False),
    "scale_head_rss": ("idle head raylet RSS", "MiB", False),
    "scale_raylet_rss": ("idle raylet RSS, the other nodes: median", "MiB", False),
    "scale_raylet_rss_max": ("idle raylet RSS, the other nodes: max", "MiB", False),
    "scale_cluster_rss": ("RSS of all the cluster's processes, idle ({n} nodes)", "MiB", False),
}
SCALES_WITH_N = {"scale_start", "scale_cluster_rss"}  # no ratio when the two N differ


class Stop(BaseException):
    """Raised in the child at its deadline or on SIGTERM, so that the
    ``finally`` blocks shut its cluster down (libraries rarely catch a
    BaseException)."""


def _stop_on_signals() -> None:
    def stop(signum, _frame):
        raise Stop(f"stopped by {signal.Signals(signum).name}")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGALRM, stop)


def _shield_teardown() -> None:
    """No Stop from here on: a shutdown cut in half would leave nodes behind."""
    signal.alarm(0)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def import_runtime(impl: str):
    """The runtime module, its Cluster class and a function pinning a task to
    a node id (hard node affinity)."""
    if impl == "ray":
        import ray
        from ray.cluster_utils import Cluster
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    else:
        import flare as ray
        from flare.cluster_utils import Cluster
        from flare.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    return ray, Cluster, lambda node_id: NodeAffinitySchedulingStrategy(node_id, soft=False)


def raylet_pid(impl: str, node: Any) -> int:
    if impl == "ray":
        from ray._private import ray_constants
        return node.all_processes[ray_constants.PROCESS_TYPE_RAYLET][0].process.pid
    return node.pid


@contextlib.contextmanager
def running_cluster(ray, Cluster, num_nodes: int, store_bytes: int, timeout: float):
    """A head and ``num_nodes - 1`` nodes of 1 CPU each, this process its
    driver; yields (cluster, [head, *workers]). Shut down on the way out,
    whatever happened."""
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "object_store_memory": store_bytes})
    try:
        workers = [cluster.add_node(wait=False, num_cpus=1, object_store_memory=store_bytes)
                   for _ in range(num_nodes - 1)]
        cluster.wait_for_nodes(timeout=timeout)
        ray.init(address=cluster.address)
        _stop_on_signals()  # again: init may have installed handlers of its own
        try:
            yield cluster, [cluster.head_node, *workers]
        finally:
            _shield_teardown()
            ray.shutdown()
    finally:
        _shield_teardown()
        cluster.shutdown()


def run_on_each_node(ray, pin, num_nodes: int) -> List[str]:
    """One 1-CPU task pinned on each node; returns the node ids, the head's
    (the driver's) first. REQUIRES: ray is initialized on a cluster."""
    @ray.remote(num_cpus=1)
    def where():
        return ray.get_runtime_context().get_node_id()

    head = ray.get_runtime_context().get_node_id()
    ids = [head] + sorted(n["NodeID"] for n in ray.nodes() if n["Alive"] and n["NodeID"] != head)
    assert len(ids) == num_nodes, f"expected {num_nodes} live nodes, found {len(ids)}"
    ran_on = ray.get([where.options(scheduling_strategy=pin(n)).remote() for n in ids])
    assert ran_on == ids, "a pinned task ran on another node than its own"
    return ids


def median_of(reps: int, one: Callable[[], float]) -> float:
    """The median of ``reps`` runs of ``one()``, after an untimed one."""
    one()
    return statistics.median(one() for _ in range(reps))


def basic_workloads(ray, pin, other: str, only, results: Dict[str, float]) -> None:
    @ray.remote(num_cpus=0)
    def noop():
        return None

    def sync_trips() -> float:
        t = time.perf_counter()
        for _ in range(300):
            ray.get(noop.options(scheduling_strategy=pin(other)).remote())
        return 300 / (time.perf_counter() - t)

    def batch() -> float:
        t = time.perf_counter()
        ray.get([noop.options(scheduling_strategy=pin(other)).remote() for _ in range(1000)])
        return 1000 / (time.perf_counter() - t)

    if "remote_task_sync" in only:
        results["remote_task_sync"] = median_of(3, sync_trips)
    if "remote_task_batch" in only:
        results["remote_task_batch"] = median_of(3, batch)
    if "remote_actor_sync" in only or "remote_actor_batch" in only:
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

        @ray.remote(num_cpus=0)
        def batch_caller(actor, n):
            ray.get(actor.noop.remote())
            t = time.perf_counter()
            ray.get([actor.noop.remote() for _ in range(n)])
            return n / (time.perf_counter() - t)

        actor = Echo.remote()  # on the head, where this driver runs
        for name, fn, n in (("remote_actor_sync", caller, 300),
                            ("remote_actor_batch", batch_caller, 1000)):
            if name in only:
                rates = [ray.get(fn.options(scheduling_strategy=pin(other)).remote(actor, n))
                         for _ in range(3)]
                results[name] = statistics.median(rates)
    if "spread_6x05" in only:
        @ray.remote(num_cpus=1)
        def half():
            time.sleep(0.5)

        ray.get([half.remote() for _ in range(3)])
        t = time.perf_counter()
        ray.get([half.remote() for _ in range(6)])
        results["spread_6x05"] = time.perf_counter() - t


def transfer_workloads(ray, pin, head: str, workers: List[str], only,
                       results: Dict[str, float]) -> None:
    import numpy as np

    @ray.remote(num_cpus=0)
    def make(nbytes):
        return np.ones(nbytes, dtype=np.uint8)

    @ray.remote(num_cpus=0)
    def size_of(array):
        return array.nbytes

    def read_on(node: str, ref) -> Any:
        return size_of.options(scheduling_strategy=pin(node)).remote(ref)

    def made_and_got(node: str, nbytes: int) -> float:
        t = time.perf_counter()
        array = ray.get(make.options(scheduling_strategy=pin(node)).remote(nbytes))
        elapsed = time.perf_counter() - t
        assert array.nbytes == nbytes and array[-1] == 1
        return elapsed

    def cross_node_get(name: str, nbytes: int, reps: int) -> None:
        # Each remote run is paired with a local one right after it, so that
        # the difference sees the same load on the machine.
        made_and_got(workers[0], nbytes)
        made_and_got(head, nbytes)
        pairs = [(made_and_got(workers[0], nbytes), made_and_got(head, nbytes))
                 for _ in range(reps)]
        remote = statistics.median(r for r, _ in pairs)
        crossing = statistics.median(r - local for r, local in pairs)
        results[name] = nbytes / remote / GIB
        results[name + "_local_s"] = statistics.median(local for _, local in pairs)
        if crossing > 0:
            results[name + "_transfer"] = nbytes / crossing / GIB

    def read_elsewhere(nbytes: int, nodes: List[str]) -> float:
        ref = ray.put(np.ones(nbytes, dtype=np.uint8))
        t = time.perf_counter()
        assert ray.get([read_on(node, ref) for node in nodes]) == [nbytes] * len(nodes)
        return len(nodes) * nbytes / (time.perf_counter() - t) / GIB

    for name, mib, reps in (("get_100m", 100, 7), ("get_500m", 500, 5)):
        if name in only:
            cross_node_get(name, mib * MIB, reps)
    if "put_200m" in only:
        results["put_200m"] = median_of(5, lambda: read_elsewhere(200 * MIB, workers[:1]))
    if "read_256m_twice" in only:
        results["read_256m_twice"] = median_of(3, lambda: read_elsewhere(256 * MIB, workers))


def child_three_nodes(impl: str, only, timeout: float) -> Dict[str, float]:
    ray, Cluster, pin = import_runtime(impl)
    results: Dict[str, float] = {}
    start = time.perf_counter()
    with running_cluster(ray, Cluster, 3, STORE_BYTES, timeout):
        ids = run_on_each_node(ray, pin, 3)
        results["start"] = time.perf_counter() - start
        basic_workloads(ray, pin, ids[1], only, results)
        transfer_workloads(ray, pin, ids[0], ids[1:], only, results)
    return results


def child_scale(impl: str, num_nodes: int, timeout: float) -> Dict[str, float]:
    ray, Cluster, pin = import_runtime(impl)
    start = time.perf_counter()
    with running_cluster(ray, Cluster, num_nodes, SCALE_STORE_BYTES, timeout) as (_, nodes):
        run_on_each_node(ray, pin, num_nodes)
        elapsed = time.perf_counter() - start
        time.sleep(1)  # idle: the tasks' replies and resource reports have settled
        rss = [vm_rss_kib(raylet_pid(impl, node)) / 1024 for node in nodes]
        everything = descendants({os.getpid()}, proc_table())
        cluster_rss = sum(vm_rss_kib(pid) for pid in everything) / 1024
    return {"nodes": num_nodes, "scale_start": elapsed, "scale_head_rss": rss[0],
            "scale_raylet_rss": statistics.median(rss[1:]), "scale_raylet_rss_max": max(rss[1:]),
            "scale_cluster_rss": cluster_rss, "raylet_rss_each": rss}


def child_main(args: argparse.Namespace) -> int:
    _stop_on_signals()
    signal.alarm(int(args.deadline))
    if args.scale:
        result = child_scale(args.child, args.scale, args.deadline)
    else:
        result = child_three_nodes(args.child, set(args.only), args.deadline)
    print(json.dumps(result))
    return 0


def run_child(python: str, impl: str, child_args: List[str], deadline: float) -> Optional[dict]:
    """Runs one runtime's child and returns its results (None if it failed).
    The child stops itself at ``deadline``; SIGTERM after a grace period, and
    SIGKILL of its whole tree after another. Whatever it leaves running is
    killed and named here."""
    shm_before = shm_entries()
    cmd = [python, os.path.abspath(__file__), "--child", impl, "--deadline", str(deadline),
           *child_args]
    print(f"== {impl}: {' '.join(child_args)}", file=sys.stderr, flush=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, RAY_DEDUP_LOGS="0"))
    try:
        try:
            stdout, stderr = proc.communicate(timeout=deadline + 120)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            try:
                stdout, stderr = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                kill_tree(proc.pid)
                stdout, stderr = proc.communicate()
    finally:
        if proc.poll() is None:  # Ctrl-C here
            kill_tree(proc.pid)
            proc.wait()
        leaked = reap_leftovers()
        if leaked:
            print(f"{impl}: killed {len(leaked)} process(es) its cluster left running:\n  "
                  + "\n  ".join(leaked), file=sys.stderr)
        new_shm = sorted(shm_entries() - shm_before)
        if new_shm:
            print(f"{impl}: new entries in /dev/shm: {', '.join(new_shm)}", file=sys.stderr)
    if proc.returncode != 0:
        print(f"{impl} failed (exit {proc.returncode}):\n{stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(stdout.strip().splitlines()[-1])


def fmt(value: Optional[float]) -> str:
    if value is None:
        return ""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def print_table(rows: Dict[str, Tuple[str, str, bool]], out: Dict[str, dict],
                names: List[str]) -> None:
    print("| workload | unit | flare | Ray | flare/Ray |")
    print("|---|---|---:|---:|---:|")
    sizes = {impl: result.get("nodes") for impl, result in out.items()}
    same_n = len(set(sizes.values())) == 1
    n = str(next(iter(sizes.values()), "")) if same_n else \
        " / ".join(f"{size} ({impl})" for impl, size in sizes.items())
    for name in names:
        label, unit, higher_is_better = rows[name]
        f, r = out.get("flare", {}).get(name), out.get("ray", {}).get(name)
        ratio = ""
        if f and r and (same_n or name not in SCALES_WITH_N):
            ratio = f"{(f / r if higher_is_better else r / f):.1f}x"
        print(f"| {label.format(n=n)} | {unit} | {fmt(f)} | {fmt(r)} | {ratio} |")


def run_scale(args: argparse.Namespace, pythons: Dict[str, str]) -> Dict[str, dict]:
    out: Dict[str, dict] = {}
    for impl, python in pythons.items():
        n = args.scale
        while impl not in out and n >= 4:
            result = run_child(python, impl, ["--scale", str(n)], args.scale_timeout)
            if result is not None:
                out[impl] = result
            elif impl == "ray":
                print(f"ray: {n} nodes did not finish; trying {n // 2}", file=sys.stderr)
                n //= 2
            else:
                break
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--impl", choices=["flare", "ray", "both"], default=None)
    parser.add_argument("--only", nargs="*", choices=list(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--scale", type=int, default=0,
                        help="run the scale workload on this many nodes instead")
    parser.add_argument("--scale-timeout", type=float, default=600,
                        help="seconds one scale run may take before it is stopped")
    parser.add_argument("--flare-python", default=sys.executable)
    parser.add_argument("--ray-python", default=None)
    parser.add_argument("--child", choices=["flare", "ray"], help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, default=900, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_main(args)
    adopt_orphans()
    impls = ["flare"] + (["ray"] if args.ray_python or args.impl in ("ray", "both") else [])
    if args.impl in ("flare", "ray"):
        impls = [args.impl]
    pythons = {impl: args.flare_python if impl == "flare" else (args.ray_python or sys.executable)
               for impl in impls}
    if args.scale:
        out = run_scale(args, pythons)
        print_table(SCALE_ROWS, out, list(SCALE_ROWS))
    else:
        out = {}
        for impl, python in pythons.items():
            result = run_child(python, impl, ["--only", *args.only], args.deadline)
            if result is not None:
                out[impl] = result
        names = ["start", *(w for w in args.only if w != "start")]
        print_table({**WORKLOADS, **DERIVED}, out,
                    [row for name in names for row in (name, name + "_transfer")
                     if row in WORKLOADS or row in DERIVED])
    print(json.dumps(out), file=sys.stderr)
    return 0 if len(out) == len(impls) else 1


if __name__ == "__main__":
    sys.exit(main())
