"""Tasks and object refs: .remote(), ray.put/ray.get, passing refs by value,
nested in a list and captured in a closure, and many large return values.

From "Minimal Effort Scaling with Ray - Easy Analogies to Get Started": the
square tasks, "Putting and Retrieving Remote Objects", "Ray Objects Refs can
Be Passed Around" (echo, echo_and_get, print_via_capture) and the
large_values example of its best practices. (Its Counter actor is in
counter_actor.py, its large_values_generator in generators.py.)
large_values returns arrays of ARRAY_SIZE int8 instead of 100,000,000.

Worker prints reach the driver prefixed "(function pid=N)".

Run:  python examples/object_refs.py [SCALE]     (or EXAMPLE_SCALE=10 ...)
SCALE multiplies ARRAY_SIZE (default 1: 1,000,000 bytes per array).
"""
import os
import sys

import numpy as np

import flare as ray

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else float(os.environ.get("EXAMPLE_SCALE", "1"))
ARRAY_SIZE = max(1, int(1_000_000 * SCALE))   # the article: 100_000_000

ray.init()


# Define the square task.
@ray.remote
def square(x):
    return x * x


# Launch four parallel square tasks.
futures = [square.remote(i) for i in range(4)]

# Retrieve results.
print(ray.get(futures))
# -> [0, 1, 4, 9]
assert ray.get(futures) == [0, 1, 4, 9]


## Putting and Retrieving Remote Objects
y = 1
object_ref = ray.put(y)
assert ray.get(object_ref) == 1

obj_ref = ray.put(1)
assert ray.get(obj_ref) == 1

assert ray.get([ray.put(i) for i in range(3)]) == [0, 1, 2]
print("put/get of 1 and of [0, 1, 2] round-trip")


## Ray Objects Refs can Be Passed Around
@ray.remote
def echo(a: int, b: int, c: int):
    """This function prints its input values to stdout."""
    print(a, b, c)
    return a, b, c


# Literals.
assert ray.get(echo.remote(1, 2, 3)) == (1, 2, 3)

# Ray objects instead: top-level refs are dereferenced.
assert ray.get(echo.remote(ray.put(1), ray.put(2), ray.put(3))) == (1, 2, 3)


@ray.remote
def echo_and_get(x_list):  # List[ObjectRef]
    """This function prints its input values to stdout."""
    print("args:", x_list)
    print("values:", ray.get(x_list))
    return [type(x).__name__ for x in x_list], ray.get(x_list)


# Put the values (1, 2, 3) into Ray's object store.
a, b, c = ray.put(1), ray.put(2), ray.put(3)

# Passing an object as a nested argument to `echo_and_get`. Ray does not
# de-reference nested args, so `echo_and_get` sees the references.
arg_types, values = ray.get(echo_and_get.remote([a, b, c]))
# -> prints args: [ObjectRef(...), ObjectRef(...), ObjectRef(...)]
#           values: [1, 2, 3]
assert arg_types == ["ObjectRef"] * 3, arg_types
assert values == [1, 2, 3]


@ray.remote
def print_via_capture():
    """This function prints the values of (a, b, c) to stdout."""
    print(ray.get([a, b, c]))
    return ray.get([a, b, c])


# Passing object references via closure-capture. Inside the `print_via_capture`
# function, the global object refs (a, b, c) can be retrieved and printed.
assert ray.get(print_via_capture.remote()) == [1, 2, 3]
# -> prints [1, 2, 3]
print("refs passed as arguments, nested in a list and captured in a closure all work")


## Return many large values (the article's large_values; num_returns per call)
@ray.remote
def large_values(num_returns):
    return [
        np.random.randint(np.iinfo(np.int8).max, size=(ARRAY_SIZE, 1), dtype=np.int8)
        for _ in range(num_returns)
    ]


num_returns = 5
refs = large_values.options(num_returns=num_returns).remote(num_returns)
assert len(refs) == num_returns
arrays = ray.get(refs)
for array in arrays:
    assert array.shape == (ARRAY_SIZE, 1) and array.dtype == np.int8
    assert 0 <= array.min() and array.max() < np.iinfo(np.int8).max
print(f"large_values returned {num_returns} arrays of {ARRAY_SIZE:,} int8 in {num_returns} refs")

ray.shutdown()
