"""Pipelining: the ObjectRefs of earlier tasks are the arguments of a later one.

From "Python Ray Remote Functions" (source: Scaling Python with Ray), section
"Pipelining". The lines the page lost (the @ray.remote decorators, the seed,
the sleep) are restored as in the book.

Run:  python examples/pipelining.py [SCALE]     (or EXAMPLE_SCALE=10 ...)
SCALE multiplies the sleeps (default 1: 0.1, 0.2 and 0.3 s, as in the book).
"""
import os
import random
import sys
import time

import flare as ray

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else float(os.environ.get("EXAMPLE_SCALE", "1"))

ray.init()


# first remote function
## retrieve a value from somewhere
@ray.remote
def generate_number(s: int, limit: int, sl: float) -> int:
    # create a random seed from value of 's'
    random.seed(s)
    # wait for value of 'sl'
    time.sleep(sl)
    # create a random number between '0' and the value of 'limit'
    return random.randint(0, limit)


# second remote function
## take values and do some math
@ray.remote
def sum_values(v1: int, v2: int, v3: int) -> int:
    # take three integer and add them up
    return v1 + v2 + v3


# use first remote function return as input for second remote function
start = time.perf_counter()
result = ray.get(sum_values.remote(generate_number.remote(1, 10, .1 * SCALE),
                                   generate_number.remote(5, 20, .2 * SCALE),
                                   generate_number.remote(7, 15, .3 * SCALE)))
elapsed = time.perf_counter() - start
print(result)
print(f"pipeline took {elapsed:.2f} sec")


# The same numbers computed locally: random.seed(s) makes them deterministic.
def expected_number(s: int, limit: int) -> int:
    random.seed(s)
    return random.randint(0, limit)


expected = expected_number(1, 10) + expected_number(5, 20) + expected_number(7, 15)
assert result == expected, (result, expected)
print(f"sum_values of the pipelined numbers = {result} (expected {expected})")

# Limitation: ObjectRefs inside a Python construct like a list are not resolved,
# and the list is a single argument where sum_values needs three: TypeError.
try:
    print(ray.get(sum_values.remote([generate_number.remote(1, 10, .1 * SCALE),
                                     generate_number.remote(5, 20, .2 * SCALE),
                                     generate_number.remote(7, 15, .3 * SCALE)])))
except TypeError as error:
    print(f"TypeError as expected: {error}")
else:
    raise AssertionError("passing the refs in a list should raise TypeError")

ray.shutdown()
