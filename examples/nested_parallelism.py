"""Nested parallelism: remote functions that start remote functions.

From "Python Ray Remote Functions" (source: Scaling Python with Ray), section
"Nested Parallelism": remote_objrefs() returns the inner tasks' ObjectRefs to
the driver, remote_values() waits for them and returns their values. The
lines the page lost (the @ray.remote decorators, the seed, the sleep, the
prints) are restored as in the book.

Run:  python examples/nested_parallelism.py [SCALE]     (or EXAMPLE_SCALE=10 ...)
SCALE multiplies the simulated processing time (default 1: 0.1 s, as in the book).
"""
import os
import random
import sys
import time

import flare as ray

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else float(os.environ.get("EXAMPLE_SCALE", "1"))

ray.init()


# retrieve a value from somewhere
@ray.remote
def generate_number(s: int, limit: int) -> int:
    # create a random seed from value of 's'
    random.seed(s)
    # simulate processing time
    time.sleep(.1 * SCALE)
    # create a random number between '0' and the value of 'limit'
    return random.randint(0, limit)


# invoke multiple remote functions and return the 'ObjectRef's
@ray.remote
def remote_objrefs():
    results = []
    for n in range(4):
        results.append(generate_number.remote(n, 4*n))
    return results


# store returned 'ObjectRef's from remote_objrefs()
futures = ray.get(remote_objrefs.remote())


# invoke multiple remote functions and return the resulting values directly
@ray.remote
def remote_values():
    results = []
    for n in range(4):
        results.append(generate_number.remote(n, 4*n))
    return ray.get(results)


# print returned results
values = ray.get(remote_values.remote())
print(values)

# take returned 'ObjectRef's and get results
completed = []
while len(futures) > 0:
    ready_futures, rest_futures = ray.wait(futures, timeout=600, num_returns=1)
    # break when the return is smaller than num_returns
    if len(ready_futures) < 1:
        print(f"Timed out on {rest_futures}")
        break
    for id in ready_futures:
        print(f'completed result {ray.get(id)}')
        completed.append(ray.get(id))
    futures = rest_futures

# random.seed(n) makes the numbers deterministic; the book prints [0, 1, 0, 3].
assert values == [0, 1, 0, 3], values
assert sorted(completed) == sorted(values), (completed, values)
print("nested results match")

ray.shutdown()
