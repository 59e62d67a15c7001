#!/usr/bin/env python3
"""How fast a cluster notices a node's death, and how fast work on it
recovers. On a head and one worker node (this machine), with the default
node timeout unless ``--node-timeout-ms`` says otherwise:

==========================  ===================================================
``killed_noticed``          SIGKILL of the worker node's raylet until
                            ``nodes()`` shows it dead (its links close)
``killed_task_recovered``   SIGKILL until a task that ran there (soft
                            affinity, one retry) returned from the head
``killed_actor_recovered``  SIGKILL until a call on an actor that lived there
                            (``max_restarts=1``) returned from its new node
``stopped_noticed``         SIGSTOP (a hung node: its links stay open) until
                            ``nodes()`` shows it dead
==========================  ===================================================

Usage::

    python bench/detection_bench.py [--reps 3] [--node-timeout-ms 5000]

Prints the median of each over ``--reps`` runs, in seconds.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
from typing import Callable, Dict, List

import flare
from flare.cluster_utils import Cluster
from flare.util.scheduling_strategies import NodeAffinitySchedulingStrategy


def dead(node_id: str) -> bool:
    return any(node["NodeID"] == node_id and not node["Alive"] for node in flare.nodes())


def until(condition: Callable[[], bool], timeout: float = 60.0) -> float:
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("never happened")
        time.sleep(0.005)
    return time.perf_counter() - start


@flare.remote(num_cpus=1, max_retries=1)
def where(started: str) -> str:
    open(started, "w").close()
    time.sleep(0.5)
    return flare.get_runtime_context().get_node_id()


@flare.remote(num_cpus=0, max_restarts=1)
class Where:
    def node(self) -> str:
        return flare.get_runtime_context().get_node_id()


def one_run(node_timeout_ms: int, tmp: str) -> Dict[str, float]:
    cluster = Cluster(initialize_head=True, shutdown_at_exit=False,
                      head_node_args={"num_cpus": 1, "node_timeout_ms": node_timeout_ms})
    out: Dict[str, float] = {}
    try:
        doomed = cluster.add_node(num_cpus=1, resources={"doomed": 1})
        flare.init(address=cluster.address)
        there = NodeAffinitySchedulingStrategy(doomed.node_id, soft=True)
        started = os.path.join(tmp, "started")
        task = where.options(scheduling_strategy=there).remote(started)
        actor = Where.options(scheduling_strategy=there).remote()
        assert flare.get(actor.node.remote()) == doomed.node_id
        until(lambda: os.path.exists(started))
        t = time.perf_counter()
        os.kill(doomed.pid, signal.SIGKILL)
        until(lambda: dead(doomed.node_id))
        out["killed_noticed"] = time.perf_counter() - t
        assert flare.get(actor.node.remote()) != doomed.node_id
        out["killed_actor_recovered"] = time.perf_counter() - t
        assert flare.get(task) == cluster.head_node.node_id
        out["killed_task_recovered"] = time.perf_counter() - t

        hung = cluster.add_node(num_cpus=1)
        t = time.perf_counter()
        os.kill(hung.pid, signal.SIGSTOP)
        try:
            until(lambda: dead(hung.node_id), timeout=node_timeout_ms / 1000 + 30)
            out["stopped_noticed"] = time.perf_counter() - t
        finally:
            os.kill(hung.pid, signal.SIGCONT)
    finally:
        flare.shutdown()
        cluster.shutdown()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--node-timeout-ms", type=int, default=5000)
    args = parser.parse_args()
    import tempfile
    runs: List[Dict[str, float]] = []
    for _ in range(args.reps):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(one_run(args.node_timeout_ms, tmp))
    for name in runs[0]:
        print(f"{name:24s} {statistics.median(run[name] for run in runs):8.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
