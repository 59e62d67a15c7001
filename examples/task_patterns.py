"""Task anti-patterns and their fixes.

From the Ray Core "Tasks" guide, "Best Practices and Patterns": calling
ray.get() in a loop, calling ray.get() unnecessarily, calling ray.get() on
task arguments, processing results in submission order, fetching too many
objects at once, and over-parallelizing with too fine-grained tasks. The
guide shows fragments; the functions they use (f, generate_rollout, reduce,
process, return_big_object, ...) are filled in here with small bodies, and
each anti-pattern and its fix are run and checked to give the same result.
(Quick sort with nested tasks is examples/quick_sort.py.)

Run:  python examples/task_patterns.py [SCALE]     (or EXAMPLE_SCALE=10 ...)
SCALE multiplies the numbers of tasks and objects (default 1: 100 tasks,
20 big objects of 1 MiB, 10,000 numbers to double).
"""
import os
import random
import sys
import time

import numpy as np

import flare as ray

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else float(os.environ.get("EXAMPLE_SCALE", "1"))

NUM_TASKS = max(1, int(100 * SCALE))
NUM_BIG_OBJECTS = max(1, int(20 * SCALE))     # the guide uses 1000
BIG_OBJECT_BYTES = 1 << 20
NUM_NUMBERS = max(1, int(10_000 * SCALE))

ray.init()


@ray.remote
def f(i):
    # Short tasks with different durations, so that they finish out of order.
    time.sleep(random.random() * 0.02)
    return i * i


## Anti-pattern: Calling ray.get() in a Loop
start = time.perf_counter()
# No parallelism - waits for each task sequentially
sequential_returns = []
for i in range(NUM_TASKS):
    sequential_returns.append(ray.get(f.remote(i)))
sequential_time = time.perf_counter() - start

# Better: all tasks execute in parallel
start = time.perf_counter()
refs = []
for i in range(NUM_TASKS):
    refs.append(f.remote(i))
parallel_returns = ray.get(refs)
parallel_time = time.perf_counter() - start
print(f"ray.get in a loop: {sequential_time:.2f} sec | all at once: {parallel_time:.2f} sec")
assert sequential_returns == parallel_returns == [i * i for i in range(NUM_TASKS)]


## Anti-pattern: Calling ray.get() Unnecessarily
@ray.remote
def generate_rollout():
    return np.ones((1000, 1000), dtype=np.int64)


@ray.remote
def reduce(rollout):
    return int(rollout.sum())


# Downloads result, then reuploads it
rollout = ray.get(generate_rollout.remote())
reduced = ray.get(reduce.remote(rollout))

# Pass reference - object stays in object store
rollout_obj_ref = generate_rollout.remote()
reduced_by_ref = ray.get(reduce.remote(rollout_obj_ref))
print(f"reduce(rollout): {reduced} by value, {reduced_by_ref} by reference")
assert reduced == reduced_by_ref == 1000 * 1000


## Anti-pattern: Calling ray.get() on Task Arguments
@ray.remote
def f():
    return 1


@ray.remote
def pass_via_nested_ref(refs):
    print(sum(ray.get(refs)))  # Blocks inside task
    return sum(ray.get(refs))


@ray.remote
def pass_via_direct_arg(*args):
    print(sum(args))  # Ray dereferences automatically
    return sum(args)


nested_sum = ray.get(pass_via_nested_ref.remote([f.remote() for _ in range(3)]))
direct_sum = ray.get(pass_via_direct_arg.remote(*[f.remote() for _ in range(3)]))
print(f"sum via nested refs: {nested_sum} | sum via direct args: {direct_sum}")
assert nested_sum == direct_sum == 3


## Anti-pattern: Processing Results in Submission Order
@ray.remote
def f(i):
    time.sleep(random.random() * 0.02)
    return i * i


processed = []


def process(result):
    processed.append(result)


refs = [f.remote(i) for i in range(NUM_TASKS)]
for ref in refs:
    result = ray.get(ref)  # Blocks waiting for each in order
    process(result)
in_submission_order = list(processed)

processed.clear()
refs = [f.remote(i) for i in range(NUM_TASKS)]
unfinished = refs
while unfinished:
    finished, unfinished = ray.wait(unfinished, num_returns=1)
    result = ray.get(finished[0])
    process(result)
in_completion_order = list(processed)
print(f"processed {len(in_completion_order)} results in completion order")
assert in_submission_order == [i * i for i in range(NUM_TASKS)]
assert sorted(in_completion_order) == in_submission_order


## Anti-pattern: Fetching Too Many Objects at Once
@ray.remote
def return_big_object():
    return np.zeros(BIG_OBJECT_BYTES, dtype=np.uint8)


batches = []


def process_results(results):
    batches.append(len(results))
    for result in results:
        assert result.nbytes == BIG_OBJECT_BYTES and not result.any()


object_refs = [return_big_object.remote() for _ in range(NUM_BIG_OBJECTS)]
BATCH_SIZE = max(1, NUM_BIG_OBJECTS // 4)   # the guide: 100 of 1000
while object_refs:
    ready_object_refs, object_refs = ray.wait(object_refs,
                                              num_returns=min(BATCH_SIZE, len(object_refs)))
    results = ray.get(ready_object_refs)
    process_results(results)
    del results
print(f"fetched {NUM_BIG_OBJECTS} big objects in batches of {batches}")
assert sum(batches) == NUM_BIG_OBJECTS
assert all(size <= BATCH_SIZE for size in batches)


## Anti-pattern: Over-parallelizing with Too Fine-grained Tasks
numbers = list(range(NUM_NUMBERS))


@ray.remote
def remote_double(number):
    return number * 2


# Overhead dominates - slower than sequential
start = time.perf_counter()
doubled_number_refs = [remote_double.remote(number) for number in numbers]
doubled_numbers = ray.get(doubled_number_refs)
fine_grained_time = time.perf_counter() - start


@ray.remote
def remote_double_batch(numbers):
    return [number * 2 for number in numbers]


start = time.perf_counter()
BATCH_SIZE = 1000
doubled_batch_refs = []
for i in range(0, len(numbers), BATCH_SIZE):
    batch = numbers[i : i + BATCH_SIZE]
    doubled_batch_refs.append(remote_double_batch.remote(batch))
doubled_batches = [n for batch in ray.get(doubled_batch_refs) for n in batch]
batched_time = time.perf_counter() - start
print(f"{NUM_NUMBERS} numbers doubled: one task each {fine_grained_time:.2f} sec | "
      f"batches of {BATCH_SIZE} {batched_time:.2f} sec")
assert doubled_numbers == doubled_batches == [number * 2 for number in numbers]

print("all task patterns passed")
ray.shutdown()
