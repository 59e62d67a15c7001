"""Waiting for results: ray.get in order vs ray.wait as results become available.

From "Python Ray Remote Functions" (source: Scaling Python with Ray).
The tutorial sleeps x seconds in task x and 1 second of "business logic" per
result; here a second is TIME_UNIT seconds so that the example runs in a few
seconds. The waits are checked: ray.get keeps the submission order, every
result arrives, and ray.wait(num_returns=5) hands them over in 2 chunks of 5.
Cancelling tasks that a timed-out ray.wait left running is shown, with
tasks that outlast the timeout, in examples/cancel_tasks.py.

Run:  python examples/wait_for_results.py [SCALE]     (or EXAMPLE_SCALE=10 ...)
SCALE multiplies TIME_UNIT (default 1: TIME_UNIT = 0.1 s).
"""
import flare as ray

import os
import sys
import time
import timeit

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else float(os.environ.get("EXAMPLE_SCALE", "1"))
TIME_UNIT = 0.1 * SCALE

ray.init()


# simulate remote functions with
# different execution times
@ray.remote
def remote_task(x):
    time.sleep(x * TIME_UNIT)
    return x


# create a list of things
things = list(range(10))
# ensure that the futures won't complete in order
things.sort(reverse=True)


# get results when all results are available
def in_order():
    # use remote function to retrieve futures
    futures = list(map(lambda x: remote_task.remote(x), things))
    # ray.get will block your function until all futures are returned
    values = ray.get(futures)
    # loop over results and print
    for v in values:
        print(f" Completed {v}")
        # simulate some business logic
        time.sleep(1 * TIME_UNIT)
    return values


# call order and see how long it takes to complete
in_order_values = []
get_took = timeit.timeit(lambda: in_order_values.extend(in_order()), number=1)
print("GET took: ", get_took)
assert in_order_values == things   # ray.get keeps the submission order


# process as results become available
def as_available():
    # use remote function to retrieve futures
    futures = list(map(lambda x: remote_task.remote(x), things))
    # while still futures left
    while len(futures) > 0:
        # call ray.wait to get the next future
        ready_futures, rest_futures = ray.wait(futures)
        # show progress
        print(f"Ready {len(ready_futures)} rest {len(rest_futures)}")
        # print results
        for id in ready_futures:
            print(f'completed value {id}, result {ray.get(id)}')
            completed.append(ray.get(id))
            # simulate some business logic
            time.sleep(1 * TIME_UNIT)
        # wait on the ones that are not yet available
        futures = rest_futures


# call order and see how long it takes to complete
completed = []
wait_took = timeit.timeit(lambda: as_available(), number=1)
print("WAIT took: ", wait_took)
assert sorted(completed) == sorted(things), completed


# same as above but with timeout and remote cancel
def as_available():
    futures = list(map(lambda x: remote_task.remote(x), things))
    # while still futures left
    while len(futures) > 0:
        # call ray.wait to get the next future
        # but with a 10s timeout and always collect 5 results before returning anything
        ready_futures, rest_futures = ray.wait(futures, timeout=10, num_returns=5)
        # if we get back less than num_returns
        if len(ready_futures) < 1:
            print(f"Timed out on {rest_futures}")
            # cancel remote function, e.g. if task is using a lot of resources
            for id in rest_futures:
                ray.cancel(id)
            break
        print(f"Ready {len(ready_futures)} rest {len(rest_futures)}")
        chunks.append(len(ready_futures))
        for id in ready_futures:
            print(f'completed value {id}, result {ray.get(id)}')
            completed.append(ray.get(id))
        futures = rest_futures


# call order and see how long it takes to complete
completed, chunks = [], []
print("WAIT (num_returns=5, timeout=10) took: ", timeit.timeit(lambda: as_available(), number=1))
# "we will get 2 chunks of our 10 orders"
assert chunks == [5, 5], chunks
assert sorted(completed) == sorted(things), completed
print("all results arrived; WAIT processed them as they came")


ray.shutdown()
