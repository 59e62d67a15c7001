"""Pattern: using nested tasks to achieve nested parallelism (quick sort).

From the Ray Core "Tasks" guide, "Best Practices and Patterns / Pattern: Using
Nested Tasks for Nested Parallelism". quick_sort_distributed() calls itself
as a remote task on each half and blocks in ray.get() for the halves, so at
any time many tasks wait on their children while others run. The sequential
quick_sort() and the timing loop are the ones of Ray's full version of this
pattern; the threshold is 10x smaller (x SCALE) and the arrays are 1, 5 and
10 times the threshold.

Known flare problem: the raylet never runs more than 4 x CPUs + 32 worker
processes (40 on 2 CPUs), and every quick_sort_distributed call above the
threshold holds one while it waits in ray.get(). An array of 20-40 times the
threshold makes about 40-80 such calls, so with EXAMPLE_SIZE_RATIOS=1,20,40
(Ray's proportions) the sort can hang for good once all workers wait.

Run:  python examples/quick_sort.py [SCALE]     (or EXAMPLE_SCALE=10 ...)
SCALE multiplies the threshold and so the sizes (default 1: 20,000 threshold;
20,000, 100,000 and 200,000 elements). EXAMPLE_SIZE_RATIOS=1,20,40 sets the
sizes as multiples of the threshold.
"""
import os
import sys
import time

from numpy import random

import flare as ray

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else float(os.environ.get("EXAMPLE_SCALE", "1"))

THRESHOLD = max(1, int(20_000 * SCALE))   # the guide uses 200000
# Array sizes in multiples of THRESHOLD. Ray's full version sorts 200000,
# 4000000 and 8000000 elements (ratios 1,20,40); see the note above on flare.
SIZE_RATIOS = [float(r) for r in os.environ.get("EXAMPLE_SIZE_RATIOS", "1,5,10").split(",")]
SIZES = [max(1, int(THRESHOLD * ratio)) for ratio in SIZE_RATIOS]

ray.init()


def partition(collection):
    # Use the last element as the pivot
    pivot = collection.pop()
    greater, lesser = [], []
    for element in collection:
        if element > pivot:
            greater.append(element)
        else:
            lesser.append(element)
    return lesser, pivot, greater


def quick_sort(collection):
    if len(collection) <= THRESHOLD:
        return sorted(collection)
    else:
        lesser, pivot, greater = partition(collection)
        lesser = quick_sort(lesser)
        greater = quick_sort(greater)
    return lesser + [pivot] + greater


@ray.remote
def quick_sort_distributed(collection):
    # Use a threshold to avoid over-parallelizing
    if len(collection) <= THRESHOLD:
        return sorted(collection)
    else:
        lesser, pivot, greater = partition(collection)
        lesser = quick_sort_distributed.remote(lesser)
        greater = quick_sort_distributed.remote(greater)
        return ray.get(lesser) + [pivot] + ray.get(greater)


for size in SIZES:
    print(f"Array size: {size}")
    unsorted = random.randint(1000000, size=(size)).tolist()
    expected = sorted(unsorted)
    s = time.time()
    sequential = quick_sort(list(unsorted))
    print(f"Sequential execution: {(time.time() - s):.3f}")
    s = time.time()
    distributed = ray.get(quick_sort_distributed.remote(unsorted))
    print(f"Distributed execution: {(time.time() - s):.3f}")
    assert sequential == expected, "sequential quick sort is wrong"
    assert distributed == expected, "distributed quick sort is wrong"
    print(f"sorted {size} elements correctly")

ray.shutdown()
