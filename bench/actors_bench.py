#!/usr/bin/env python3
"""Many idle actors: how fast they start, what they cost at rest (Linux).

For each runtime (flare, and Ray with ``--impl ray`` or ``both``) a child
process starts ``--actors`` actors of a class with one method, calls it once
on each (so every actor is up and has run a call), then sits in
``time.sleep`` for ``--idle`` seconds while the parent of nothing but
/proc reads what every process of the runtime did meanwhile.

Reported per runtime:

====================  ==============================================
``actors_per_s``      actors created and answering / wall time
``ready``             how many answered before ``--timeout``
``actor_cpu_pct``     CPU of all actors together while idle, % of one core
``runtime_cpu_pct``   CPU of the runtime's other processes (raylet,
                      GCS, agents...) while idle, % of one core
``wakeups_per_s``     context switches per idle actor per second (all
                      threads, /proc/<pid>/task/*/status)
``rss_mib``           mean VmRSS of one idle actor
``pss_mib``           mean Pss (smaps_rollup) of one idle actor: its
                      share of pages shared with other processes
``uss_mib``           mean private (unshared) memory of one actor
====================  ==============================================

Usage::

    python bench/actors_bench.py --actors 200                       # flare
    python bench/actors_bench.py --impl both --ray-python /tmp/rayvenv/bin/python

Every process a runtime starts is a descendant of its child process (this
script is a subreaper), and is killed when the child is done.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_procs import adopt_orphans, descendants, proc_table, reap_leftovers  # noqa: E402

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> int:
    """utime + stime of every thread of ``pid`` (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def context_switches(pid: int) -> int:
    """Voluntary and involuntary context switches of every thread of ``pid``."""
    total = 0
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as fh:
                for line in fh:
                    if "ctxt_switches" in line:  # voluntary_ and nonvoluntary_
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def memory_kib(pid: int) -> Tuple[int, int, int]:
    """(Rss, Pss, private) of ``pid`` in KiB, from smaps_rollup."""
    values: Dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                    values[parts[0][:-1]] = int(parts[1])
    except OSError:
        return 0, 0, 0
    private = values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)
    return values.get("Rss", 0), values.get("Pss", 0), private


def run_child(impl: str, actors: int, idle: float, timeout: float, num_cpus: int) -> dict:
    if impl == "ray":
        import ray
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    else:
        import flare as ray
        ray.init(num_cpus=num_cpus, log_to_driver=False)

    @ray.remote
    class Idle:
        def pid(self) -> int:
            return os.getpid()

    start = time.perf_counter()
    handles = [Idle.remote() for _ in range(actors)]
    refs = [handle.pid.remote() for handle in handles]
    ready, pending = ray.wait(refs, num_returns=len(refs), timeout=timeout)
    elapsed = time.perf_counter() - start
    pids = ray.get(ready)
    result = {"impl": impl, "actors": actors, "ready": len(ready), "create_s": elapsed,
              "actors_per_s": len(ready) / elapsed}
    time.sleep(2.0)  # let start-up work of the last ones settle

    me = os.getpid()
    runtime = descendants({me}, proc_table()) - set(pids)
    before = {pid: (cpu_ticks(pid), context_switches(pid)) for pid in [*pids, *runtime, me]}
    t0 = time.monotonic()
    time.sleep(idle)
    window = time.monotonic() - t0
    after = {pid: (cpu_ticks(pid), context_switches(pid)) for pid in before}

    def cpu_pct(group: Sequence[int]) -> float:
        ticks = sum(max(0, after[p][0] - before[p][0]) for p in group)
        return 100.0 * ticks / _TICKS / window

    switches = sum(max(0, after[p][1] - before[p][1]) for p in pids)
    memory = [memory_kib(pid) for pid in pids]
    n = max(1, len(pids))
    result.update({
        "idle_s": window,
        "actor_cpu_pct": cpu_pct(pids),
        "runtime_cpu_pct": cpu_pct(sorted(runtime)),
        "driver_cpu_pct": cpu_pct([me]),
        "runtime_processes": len(runtime),
        "wakeups_per_s": switches / window / n,
        "rss_mib": sum(m[0] for m in memory) / n / 1024,
        "pss_mib": sum(m[1] for m in memory) / n / 1024,
        "uss_mib": sum(m[2] for m in memory) / n / 1024,
    })
    ray.shutdown()
    return result


def run_impl(impl: str, python: str, args: argparse.Namespace) -> Optional[dict]:
    cmd = [python, os.path.abspath(__file__), "--child", "--impl", impl,
           "--actors", str(args.actors), "--idle", str(args.idle),
           "--timeout", str(args.timeout), "--num-cpus", str(args.num_cpus)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    leftovers = reap_leftovers()
    if leftovers:
        print(f"[{impl}] killed {len(leftovers)} leftover processes", file=sys.stderr)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    print(f"[{impl}] failed (exit {proc.returncode})", file=sys.stderr)
    return None


_ROWS = [("actors_per_s", "actors created / s", "{:.1f}"),
         ("ready", "actors up before the timeout", "{:d}"),
         ("actor_cpu_pct", "idle CPU, all actors (% of a core)", "{:.2f}"),
         ("runtime_cpu_pct", "idle CPU, other processes (% of a core)", "{:.2f}"),
         ("wakeups_per_s", "wake-ups / s per idle actor", "{:.2f}"),
         ("rss_mib", "RSS per actor (MiB)", "{:.1f}"),
         ("pss_mib", "PSS per actor (MiB)", "{:.1f}"),
         ("uss_mib", "private memory per actor (MiB)", "{:.1f}")]


def table(results: List[dict]) -> str:
    lines = ["| metric | " + " | ".join(r["impl"] for r in results) + " |",
             "|---|" + "---|" * len(results)]
    for key, label, fmt in _ROWS:
        lines.append(f"| {label} | " + " | ".join(fmt.format(r[key]) for r in results) + " |")
    return "\n".join(lines)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", choices=("flare", "ray", "both"), default="flare")
    p.add_argument("--actors", type=int, default=200)
    p.add_argument("--idle", type=float, default=10.0, help="idle window, seconds")
    p.add_argument("--timeout", type=float, default=300.0, help="for all actors to start")
    p.add_argument("--num-cpus", type=int, default=os.cpu_count() or 2)
    p.add_argument("--flare-python", default=sys.executable)
    p.add_argument("--ray-python", default=sys.executable)
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args.impl, args.actors, args.idle, args.timeout,
                                   args.num_cpus)), flush=True)
        return 0
    adopt_orphans()
    impls = ["flare", "ray"] if args.impl == "both" else [args.impl]
    results = []
    for impl in impls:
        python = args.ray_python if impl == "ray" else args.flare_python
        result = run_impl(impl, python, args)
        if result is not None:
            results.append(result)
            print(json.dumps(result), file=sys.stderr)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)
    if results:
        print(table(results))
    return 0 if len(results) == len(impls) else 1


if __name__ == "__main__":
    sys.exit(main())
