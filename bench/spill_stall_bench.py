#!/usr/bin/env python3
"""Does a large spill or restore stall the raylet's event loop? (issue 14,
item 7, "Spilling under load".)

One driver, two threads. The probe thread runs tiny task round trips
(``flare.get(noop.remote())``) back to back and records when each one
ended. The main thread then puts ``--objects`` arrays of ``--mib`` MiB into
a store of ``--store-mib`` MiB, so each put past the store's size spills an
older one to disk, and then reads the first arrays back, so each read
restores one (and spills another). A raylet that writes and reads the
files on its event loop answers nothing else meanwhile: the probe's longest
gap between two round trips grows to the time one spill takes.

Reported per phase (idle, spilling puts, restoring gets): the number of
probe round trips, their median, and the longest gap between two
consecutive round trips, in milliseconds. Run it before and after a change
to the raylet, on a quiet machine; the numbers are not asserted anywhere.

Measured on the 2-core development machine (shared, so noisy), longest
gap in ms, spilling puts / restoring gets: 98-453 / 418-775 with the spill
files written and read on the event loop; 20-30 / 14-19 with them on a
thread of their own (what remains is mostly this process's own puts).

Usage::

    python bench/spill_stall_bench.py                      # 100 MiB objects
    python bench/spill_stall_bench.py --mib 200 --objects 6
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=100, help="size of each put, MiB")
    parser.add_argument("--objects", type=int, default=8, help="number of large puts")
    parser.add_argument("--store-mib", type=int, default=320, help="object store size, MiB")
    args = parser.parse_args()

    import numpy as np

    import flare

    flare.init(num_cpus=2, object_store_memory=args.store_mib << 20)

    @flare.remote
    def noop():
        return 0

    flare.get([noop.remote() for _ in range(20)])  # workers up, function exported

    ends: list = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            flare.get(noop.remote(), timeout=120)
            ends.append(time.perf_counter())

    def phase(name: str, body) -> dict:
        first = len(ends)
        start = time.perf_counter()
        body()
        finish = time.perf_counter()
        times = [start] + [t for t in ends[first:] if t <= finish] + [finish]
        gaps = [b - a for a, b in zip(times, times[1:])]
        return {"phase": name, "seconds": round(finish - start, 3),
                "round_trips": len(times) - 2,
                "median_gap_ms": round(statistics.median(gaps) * 1e3, 3),
                "longest_gap_ms": round(max(gaps) * 1e3, 1)}

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    refs: list = []
    results = [phase("idle", lambda: time.sleep(1.0))]

    def spill() -> None:
        for i in range(args.objects):
            refs.append(flare.put(np.full(args.mib << 20, i, dtype=np.uint8)))

    def restore() -> None:
        for i, ref in enumerate(refs[: args.objects // 2]):
            value = flare.get(ref, timeout=120)
            assert value[0] == i
            del value

    results.append(phase("spilling puts", spill))
    results.append(phase("restoring gets", restore))
    stop.set()
    thread.join(timeout=30)
    for row in results:
        print(json.dumps(row))
    flare.shutdown()


if __name__ == "__main__":
    main()
