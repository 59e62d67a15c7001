"""Monte Carlo estimation of pi, serially and as Ray tasks.

From "Remote Functions as Tasks" / "A Guided Tour of Ray Core: Remote Tasks"
(the task-only variant, without the progress actor).

Run:  python examples/monte_carlo_pi.py [SCALE]     (or EXAMPLE_SCALE=2 ...)
SCALE multiplies the number of samples (default 1: ~4 million in total).
"""
import flare as ray

import math
import os
import random
import sys
import time
from typing import List

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else float(os.environ.get("EXAMPLE_SCALE", "1"))

NUM_SAMPLING_TASKS = os.cpu_count()
NUM_SAMPLES_PER_TASK = max(1, int(4_000_000 * SCALE) // NUM_SAMPLING_TASKS)
TOTAL_NUM_SAMPLES = NUM_SAMPLING_TASKS * NUM_SAMPLES_PER_TASK


def sampling_task(num_samples: int, task_id: int, verbose=True) -> int:
    num_inside = 0
    for i in range(num_samples):
        x, y = random.uniform(-1, 1), random.uniform(-1, 1)
        # check if the point is inside the circle
        if math.hypot(x, y) <= 1:
            num_inside += 1
    if verbose:
        print(f"Task id: {task_id} | Samples in the circle: {num_inside}")
    return num_inside


def run_serial(sample_size) -> List[int]:
    results = [sampling_task(sample_size, i+1) for i in range(NUM_SAMPLING_TASKS)]
    return results


def calculate_pi(results: List[int]) -> float:
    total_num_inside = sum(results)
    pi = (total_num_inside * 4) / TOTAL_NUM_SAMPLES
    return pi


@ray.remote
def sample_task_distribute(sample_size, i) -> object:
    return sampling_task(sample_size, i)


def run_distributed(sample_size) -> List[int]:
    # Launch Ray remote tasks in a comprehension list, each returns immediately with a future ObjectRef
    # Use ray.get to fetch the computed value
    # this will block until the ObjectRef is resolved or its value is materialized.
    results = ray.get([
            sample_task_distribute.remote(sample_size, i+1) for i in range(NUM_SAMPLING_TASKS)
    ])
    return results


if ray.is_initialized():
    ray.shutdown()
ray.init()

print(f"{NUM_SAMPLING_TASKS} sampling tasks x {NUM_SAMPLES_PER_TASK:,} samples "
      f"= {TOTAL_NUM_SAMPLES:,} samples")

# Serial execution
start = time.perf_counter()
results = run_serial(NUM_SAMPLES_PER_TASK)
pi = calculate_pi(results)
serial_time = time.perf_counter() - start
print(f"Estimated value of π is: {pi:5f}")
print(f"Serial time: {serial_time:.2f} sec")

# Parallel (distributed) execution
start = time.perf_counter()
results = run_distributed(NUM_SAMPLES_PER_TASK)
pi = calculate_pi(results)
parallel_time = time.perf_counter() - start
print(f"Estimated value of π is: {pi:5f}")
print(f"Parallel (distributed) time: {parallel_time:.2f} sec")
print(f"Speed-up: {serial_time / parallel_time:.2f}x | error vs math.pi: {abs(pi - math.pi):.5f}")

ray.shutdown()
