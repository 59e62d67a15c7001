#!/usr/bin/env python3
"""How long large messages on the local socket take from a worker to the
raylet (issue 13, item 6: partial sends must not re-copy the send buffer).

Two workloads send one large message each from a worker:

* ``returns``: a task with ``num_returns=16384`` whose returns are small
  inline values (size / 16384 bytes each), all in its one TaskDone report;
* ``log``: a task that prints one line of the given size (one LogLines
  message; its TaskDone follows it on the same socket).

Each is timed from ``.remote()`` to the driver holding the result, median
of ``--repeat`` runs, in a subprocess of its own with a deadline.

Usage::

    python bench/large_message_bench.py                 # 16 and 64 MiB
    python bench/large_message_bench.py --sizes 8 32
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CASE = r"""
import json, statistics, sys, time
import flare

kind, mib, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
flare.init(num_cpus=1, log_to_driver=False)  # the line still goes to the raylet

@flare.remote
def many(n, each):
    return [b"r" * each] * n

@flare.remote
def shout(size):
    print("s" * size, flush=True)
    return 0

times = []
for _ in range(repeat):
    start = time.perf_counter()
    if kind == "returns":
        n = 16384
        refs = many.options(num_returns=n).remote(n, (mib << 20) // n)
        flare.get(refs[-1])
    else:
        flare.get(shout.remote(mib << 20))
    times.append(time.perf_counter() - start)
print(json.dumps({"median_s": statistics.median(times)}))
flare.shutdown()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 64], help="MiB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--deadline", type=float, default=300.0)
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter whose flare is measured")
    args = parser.parse_args()
    print("| message | size | median s |")
    print("|---|---:|---:|")
    for mib in args.sizes:
        for kind in ("returns", "log"):
            try:
                done = subprocess.run([args.python, "-c", CASE, kind, str(mib), str(args.repeat)],
                                      capture_output=True, text=True, timeout=args.deadline)
                lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
                shown = (f"{json.loads(lines[-1])['median_s']:.3f}" if lines
                         else f"failed: {done.stderr.strip()[-200:]!r}")
            except subprocess.TimeoutExpired:
                shown = f"no answer in {args.deadline:.0f} s"
            print(f"| {kind} | {mib} MiB | {shown} |", flush=True)


if __name__ == "__main__":
    main()
