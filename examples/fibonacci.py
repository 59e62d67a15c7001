"""Generating Fibonacci series serially and as Ray tasks.

From "A Guided Tour of Ray Core: Remote Tasks".

Run:  python examples/fibonacci.py [SCALE]     (or EXAMPLE_SCALE=0.5 ...)
SCALE multiplies SEQUENCE_SIZE (default 1: 100,000 numbers per call).
"""
import flare as ray

import os
import sys
import time

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else float(os.environ.get("EXAMPLE_SCALE", "1"))

if ray.is_initialized():
    ray.shutdown()
ray.init()

SEQUENCE_SIZE = max(2, int(100000 * SCALE))


# Function for local execution
def generate_fibonacci(sequence_size):
    fibonacci = []
    for i in range(0, sequence_size):
        if i < 2:
            fibonacci.append(i)
            continue
        fibonacci.append(fibonacci[i-1]+fibonacci[i-2])
    return len(fibonacci)


# Function for remote Ray task with just a wrapper
@ray.remote
def generate_fibonacci_distributed(sequence_size):
    return generate_fibonacci(sequence_size)


# Get the number of cores
print(f"Number of cores: {os.cpu_count()}")


# Normal Python in a single process
def run_local(sequence_size):
    results = [generate_fibonacci(sequence_size) for _ in range(os.cpu_count())]
    return results


# Distributed on a Ray cluster
def run_remote(sequence_size):
    results = ray.get([generate_fibonacci_distributed.remote(sequence_size) for _ in range(os.cpu_count())])
    return results


# Run in serial mode
start = time.perf_counter()
local_results = run_local(SEQUENCE_SIZE)
elapsed = time.perf_counter() - start
print(f"run_local({SEQUENCE_SIZE}): {local_results}")
print(f"Serial time: {elapsed:.2f} sec")

# Run as distributed Ray tasks
start = time.perf_counter()
remote_results = run_remote(SEQUENCE_SIZE)
elapsed = time.perf_counter() - start
print(f"run_remote({SEQUENCE_SIZE}): {remote_results}")
print(f"Distributed time: {elapsed:.2f} sec")

assert remote_results == local_results == [SEQUENCE_SIZE] * os.cpu_count()
print("Fibonacci results match")

ray.shutdown()
