#!/usr/bin/env python3
"""How long a task's error takes to reach the driver, beside a return value
of the same size (issue 13, item 6).

Each case runs in a subprocess of its own with a deadline, so that a slow or
broken case (e.g. an error that never arrives) is reported as such instead of
stalling the rest. Per case: the median seconds from ``.remote()`` to the
driver holding the value (or catching the exception), and how many times the
task body ran (a fake worker crash shows up as several runs).

Usage::

    python bench/error_size_bench.py                  # default sizes
    python bench/error_size_bench.py --sizes 50 100   # MiB
    python bench/error_size_bench.py --deadline 300   # seconds per case
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CASE = r"""
import json, os, statistics, sys, time
import flare

kind, mib, repeat, runs_dir = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
flare.init(num_cpus=1, object_store_memory=int(os.environ.get("STORE_BYTES", 2 << 30)))

@flare.remote(max_retries=3)
def big(kind, mib, runs_dir, tag, num_returns=1):
    open(os.path.join(runs_dir, f"{tag}-{os.getpid()}-{time.monotonic_ns()}"), "w").close()
    text = "x" * int(mib * (1 << 20))
    if kind == "value":
        return text if num_returns == 1 else (text,) + (None,) * (num_returns - 1)
    raise ValueError(text)

times, outcome = [], ""
for i in range(repeat):
    tag = f"run{i}"
    start = time.perf_counter()
    num_returns = int(os.environ.get("NUM_RETURNS", "1"))
    refs = big.options(num_returns=num_returns).remote(kind, mib, runs_dir, tag, num_returns)
    first = refs if num_returns == 1 else refs[0]
    try:
        value = flare.get(first)
        outcome = f"value of {len(value) / (1 << 20):.2f} MiB"
    except ValueError as error:
        outcome = f"ValueError, args[0] of {len(error.args[0]) / (1 << 20):.2f} MiB"
    except Exception as error:
        outcome = f"{type(error).__name__}: {str(error)[:120]!r}"
    times.append(time.perf_counter() - start)
    del refs, first
runs = len(os.listdir(runs_dir))
print(json.dumps({"median_s": statistics.median(times), "outcome": outcome,
                  "body_runs": runs / repeat}))
flare.shutdown()
"""


def run_case(kind: str, mib: float, repeat: int, deadline: float, env: dict) -> dict:
    with tempfile.TemporaryDirectory() as runs_dir:
        start = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, "-c", CASE, kind, str(mib), str(repeat),
                                   runs_dir], capture_output=True, text=True,
                                  timeout=deadline, env=env)
        except subprocess.TimeoutExpired:
            return {"median_s": None, "outcome": f"no answer in {deadline:.0f} s",
                    "body_runs": len(os.listdir(runs_dir)) / repeat}
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if not lines:
            return {"median_s": None, "outcome": f"failed: {done.stderr.strip()[-300:]}",
                    "body_runs": None, "wall_s": time.perf_counter() - start}
        return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[10, 50, 100],
                        help="MiB (fractions allowed)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--deadline", type=float, default=240.0)
    parser.add_argument("--num-returns", type=int, default=1)
    parser.add_argument("--kinds", nargs="+", default=["value", "error"])
    args = parser.parse_args()
    env = dict(os.environ, NUM_RETURNS=str(args.num_returns))
    print(f"num_returns={args.num_returns}")
    print("| size | kind | median s | task body runs | outcome |")
    print("|---:|---|---:|---:|---|")
    for mib in args.sizes:
        for kind in args.kinds:
            result = run_case(kind, mib, args.repeat, args.deadline, env)
            median = result["median_s"]
            shown = f"{median:.3f}" if median is not None else "-"
            print(f"| {mib:g} MiB | {kind} | {shown} | {result['body_runs']} | "
                  f"{result['outcome']} |", flush=True)


if __name__ == "__main__":
    main()
