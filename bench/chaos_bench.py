#!/usr/bin/env python3
"""Chaos: a job that must finish with exactly the right result while nodes
die under it.

The job, on a cluster of a head and three worker nodes on this machine (one
CPU each): a two-stage map-reduce (``--maps`` tasks each make a 10 MiB
array, ``--reduces`` tasks each sum a group of them; every intermediate
object stays on the node that made it, so losing a node loses them) and a
pool of stateful actors with ``max_restarts=-1`` on the worker nodes
(``--calls`` calls). In the "workers" run a killer SIGKILLs a random
worker node's raylet every ``--kill-every`` seconds and starts a
replacement: tasks on it run again, lost results are made again from their
lineage, actors restart on other nodes and their calls run again. In the
"head" run the driver is on a worker node and the head is SIGKILLed once,
``--head-kill-after`` seconds in, and started again on its port and
storage (``Cluster.restart_head``): its tasks run again elsewhere and the
other nodes carry on. The "none" run is the baseline.

Usage::

    python bench/chaos_bench.py                 # worker nodes killed, the head, none
    python bench/chaos_bench.py --runs head --json

Prints the job's time with and without faults (or, with ``--json``, one JSON
object per run: result, expected, seconds, kills, and what the run left on
the machine: processes of its nodes still alive, new /dev/shm entries).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from typing import Any, Dict, List

import numpy as np

import flare
from flare.cluster_utils import Cluster
from flare.util import ActorPool

MIB = 1 << 20
STORE_BYTES = 512 * MIB
ELEMENTS = 10 * MIB // 8  # int64s in a 10 MiB array


@flare.remote(max_retries=-1)
def make(i: int) -> np.ndarray:
    return np.full(ELEMENTS, i, dtype=np.int64)


@flare.remote(max_retries=-1)
def reduce(*arrays: np.ndarray) -> int:
    return int(sum(int(array.sum()) for array in arrays))


@flare.remote(num_cpus=0, resources={"worker": 1}, max_restarts=-1, max_task_retries=-1)
class Squarer:
    """Stateful (it counts its calls, which start over when it restarts);
    each call's result depends on its argument only, so the job's result is
    exact however often it restarts."""

    def __init__(self) -> None:
        self.calls = 0

    def square(self, x: int):
        self.calls += 1
        return x * x, flare.get_runtime_context().get_node_id()


def add_worker(cluster: Cluster):
    return cluster.add_node(num_cpus=1, resources={"worker": 100},
                            object_store_memory=STORE_BYTES)


class Killer(threading.Thread):
    """SIGKILLs a random worker node every `every` seconds and starts a
    replacement, until stopped; or (`head`) SIGKILLs the head once, after
    `every` seconds, and starts it again on its port and storage. The
    driver's node (`spared`) is never killed."""

    def __init__(self, cluster: Cluster, every: float, seed: int, head: bool,
                 spared: Any) -> None:
        super().__init__(daemon=True)
        self.cluster, self.every, self.head, self.spared = cluster, every, head, spared
        self.random = random.Random(seed)
        self.stopped = threading.Event()
        self.kills = 0
        self.error: str = ""

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.every):
                if self.head:
                    self.cluster.head_node.kill(allow_graceful=False)
                    self.kills += 1
                    self.cluster.restart_head()
                    return
                workers = [node for node in self.cluster.worker_nodes
                           if node is not self.spared and node.alive()]
                if not workers:
                    continue
                self.cluster.remove_node(self.random.choice(workers), allow_graceful=False)
                self.kills += 1
                add_worker(self.cluster)
        except Exception as error:  # noqa: BLE001 - reported, and fails the run
            self.error = f"{type(error).__name__}: {error}"


def run_job(maps: int, reduces: int, calls: int, window: int) -> Dict[str, int]:
    """The map-reduce, with the actors' calls spread over it (so that nodes
    die under both). Returns the results and how often an actor moved."""
    per_reduce = maps // reduces
    actors = [Squarer.remote() for _ in range(3)]
    squares: List[Any] = []
    total = 0
    pending: List[Any] = []
    for j in range(reduces):
        group = range(j * per_reduce, (j + 1) * per_reduce)
        pending.append(reduce.remote(*[make.remote(i) for i in group]))
        for x in range(j * calls // reduces, (j + 1) * calls // reduces):
            squares.append(actors[x % len(actors)].square.remote(x))
        if len(pending) >= window:
            ready, pending = flare.wait(pending, num_returns=len(pending) - window // 2)
            total += sum(flare.get(ready))
    total += sum(flare.get(pending))
    results = flare.get(squares)
    # An actor that ran on several nodes restarted elsewhere.
    nodes: Dict[int, set] = {}
    for x, (_, node) in enumerate(results):
        nodes.setdefault(x % len(actors), set()).add(node)
    return {"reduced": total, "squares": sum(square for square, _ in results),
            "actor_moves": sum(len(where) - 1 for where in nodes.values())}


def expected(maps: int, reduces: int, calls: int) -> Dict[str, int]:
    used = (maps // reduces) * reduces
    return {"reduced": ELEMENTS * used * (used - 1) // 2,
            "squares": sum(x * x for x in range(calls))}


def node_pids(cluster: Cluster) -> List[int]:
    return [node.pid for node in cluster.list_all_nodes()]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def one_run(args: argparse.Namespace, faults: str) -> Dict[str, Any]:
    """`faults`: "" (none), "workers" or "head". With "head", the driver runs
    on a worker node of its own (a driver on the head would go with it)."""
    shm_before = set(os.listdir("/dev/shm"))
    cluster = Cluster(initialize_head=True, shutdown_at_exit=False,
                      head_node_args={"num_cpus": 1, "object_store_memory": STORE_BYTES,
                                      "node_timeout_ms": args.node_timeout_ms})
    started: List[int] = []
    killer = None
    outcome: Dict[str, Any] = {"faults": faults}
    try:
        driver_node = None
        if faults == "head":
            driver_node = cluster.add_node(num_cpus=1, object_store_memory=STORE_BYTES)
        for _ in range(3 if driver_node is None else 2):
            add_worker(cluster)
        flare.init(address=cluster.address if driver_node is None
                   else driver_node._raylet.socket_path)
        started = node_pids(cluster)
        killer = (Killer(cluster, args.kill_every if faults == "workers" else args.head_kill_after,
                         args.seed, faults == "head", driver_node) if faults else None)
        t = time.perf_counter()
        if killer:
            killer.start()
        outcome["result"] = run_job(args.maps, args.reduces, args.calls, args.window)
        outcome["seconds"] = time.perf_counter() - t
    except Exception as error:  # noqa: BLE001 - reported as the run's failure
        outcome["error"] = f"{type(error).__name__}: {error}"
    finally:
        if killer:
            killer.stopped.set()
            killer.join()
            outcome["kills"] = killer.kills
            if killer.error:
                outcome["error"] = "the killer failed: " + killer.error
        started += node_pids(cluster)
        flare.shutdown()
        cluster.shutdown()
    outcome["expected"] = expected(args.maps, args.reduces, args.calls)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.1)
    outcome["leftover_processes"] = [pid for pid in set(started) if alive(pid)]
    outcome["leftover_shm"] = sorted(set(os.listdir("/dev/shm")) - shm_before)
    result = dict(outcome.get("result") or {})
    outcome["actor_moves"] = result.pop("actor_moves", 0)
    outcome["result"] = result
    outcome["ok"] = ("error" not in outcome and result == outcome["expected"]
                     and not outcome["leftover_processes"] and not outcome["leftover_shm"])
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--maps", type=int, default=1600)
    parser.add_argument("--reduces", type=int, default=400)
    parser.add_argument("--calls", type=int, default=400, help="actor pool calls")
    parser.add_argument("--window", type=int, default=16, help="reduces in flight")
    parser.add_argument("--kill-every", type=float, default=2.0)
    parser.add_argument("--node-timeout-ms", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--head-kill-after", type=float, default=3.0,
                        help="with --kill-head: seconds into the job")
    parser.add_argument("--runs", default="workers,head,none",
                        help="which runs, in order: workers (worker nodes killed every "
                             "--kill-every s), head (the head killed once, --head-kill-after s "
                             "in), none (no faults)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kinds = {"workers": "workers", "head": "head", "none": ""}
    runs = [one_run(args, faults=kinds[name]) for name in args.runs.split(",")]
    for run in runs:
        if args.json:
            print(json.dumps(run), flush=True)
        else:
            what = {"workers": "worker nodes killed", "head": "the head killed once",
                    "": "without faults"}[run["faults"]]
            status = "exact" if run["ok"] else f"FAILED: {run}"
            kills = (f", {run.get('kills', 0)} nodes killed, actors moved"
                     f" {run['actor_moves']} times" if run["faults"] else "")
            print(f"{what}: {run.get('seconds', float('nan')):.1f} s{kills}; {status}")
    return 0 if all(run["ok"] for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
