"""Cancelling tasks with ray.cancel().

From the Ray Core "Tasks" guide, "Cancelling Tasks", and "Python Ray Remote
Functions" (source: Scaling Python with Ray): "you can use ray.cancel to
terminate remotely executed functions - since a timeout will not stop them".

The guide's blocking_operation sleeps for 10e6 seconds, so ray.get() only
returns because of the cancel; the guide cancels right after submitting,
when the task may not have started yet. The second part is the book's
ray.wait loop "with timeout and remote cancel", with tasks that take far
longer than the timeout: nothing is ready in time, the running tasks are
cancelled, and ray.get() of each raises TaskCancelledError (in Ray the
running task gets KeyboardInterrupt).

Run:  python examples/cancel_tasks.py [SCALE]     (or EXAMPLE_SCALE=10 ...)
SCALE multiplies the ray.wait timeout (default 1: 0.5 s).
"""
import os
import sys
import time
import timeit

import flare as ray

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else float(os.environ.get("EXAMPLE_SCALE", "1"))
WAIT_TIMEOUT = 0.5 * SCALE       # the book uses 10 s
GET_TIMEOUT = 10                 # a cancelled task must be gone well before this

ray.init()


@ray.remote
def blocking_operation():
    time.sleep(10e6)


obj_ref = blocking_operation.remote()
ray.cancel(obj_ref)

try:
    ray.get(obj_ref, timeout=GET_TIMEOUT)
except ray.exceptions.TaskCancelledError:
    print("Object reference was cancelled.")
except ray.exceptions.GetTimeoutError:
    raise AssertionError(f"ray.cancel() right after .remote() did not stop the task: "
                         f"ray.get() still waited {GET_TIMEOUT} s later") from None
else:
    raise AssertionError("ray.get() of a cancelled task returned a value")


# same as the book's loop with timeout and remote cancel, with tasks that run
# far longer than the timeout
@ray.remote
def remote_task(x):
    time.sleep(10e6)
    return x


things = list(range(2))     # one task per CPU: both are running when cancelled
cancelled = []


def as_available():
    futures = list(map(lambda x: remote_task.remote(x), things))
    # while still futures left
    while len(futures) > 0:
        # call ray.wait to get the next future, but with a timeout
        ready_futures, rest_futures = ray.wait(futures, timeout=WAIT_TIMEOUT, num_returns=1)
        # if we get back less than num_returns
        if len(ready_futures) < 1:
            print(f"Timed out on {rest_futures}")
            # cancel remote function, e.g. if task is using a lot of resources
            for id in rest_futures:
                ray.cancel(id)
            break
        for id in ready_futures:
            print(f'completed value {id}, result {ray.get(id)}')
        futures = rest_futures
    for id in futures:
        try:
            ray.get(id, timeout=GET_TIMEOUT)
        except ray.exceptions.TaskCancelledError:
            print(f"{id} was cancelled")
            cancelled.append(id)
        except ray.exceptions.GetTimeoutError:
            raise AssertionError(f"ray.cancel() did not stop the running task {id}: ray.get() "
                                 f"still waited {GET_TIMEOUT} s later") from None


print("WAIT with cancel took: ", timeit.timeit(lambda: as_available(), number=1))
assert len(cancelled) == len(things), cancelled
print(f"all {len(things)} running tasks were cancelled")

ray.shutdown()
