"""Generator tasks: values stream back to the caller as the task yields them.

From the Ray Core guide's "Generators" (a task that yields every 5 seconds,
whose refs the caller gets before the task ends) and the best practice in
"Minimal Effort Scaling with Ray": "@remote can yield rather than return
large lists" (large_values_generator), with ``import flare as ray`` as the
only change. Each large array is consumed and dropped while the generator
keeps producing, so only one of them needs to be in the store at a time.

Run:  python examples/generators.py [SCALE]     (or EXAMPLE_SCALE=0.1 ...)
SCALE multiplies the guide's 5 s between yields and the article's
100,000,000-byte arrays (default 0.1: 0.5 s and 10 MB).
"""
import os
import sys
import time

import numpy as np

import flare as ray

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else float(os.environ.get("EXAMPLE_SCALE", "0.1"))
DELAY = 5 * SCALE
ARRAY_SIZE = int(100_000_000 * SCALE)

ray.init()


@ray.remote
def task():
    for i in range(5):
        time.sleep(DELAY)
        yield i


# The generator yields output every DELAY seconds
start = time.monotonic()
for obj_ref in task.remote():
    print(ray.get(obj_ref), f"(after {time.monotonic() - start:.1f} s)")


@ray.remote
def large_values_generator(num_returns):
    for i in range(num_returns):
        yield np.random.randint(
            np.iinfo(np.int8).max, size=(ARRAY_SIZE, 1), dtype=np.int8
        )
        print(f"yielded return value {i}")


total = 0
for ref in large_values_generator.remote(5):
    array = ray.get(ref)
    assert array.shape == (ARRAY_SIZE, 1) and array.dtype == np.int8
    total += array.size
    del array, ref  # consumed: its memory can go while the generator runs on
print(f"consumed 5 arrays ({total:,} values) one at a time")
ray.shutdown()
