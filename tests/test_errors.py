"""Bad input and faults: clear errors at the earliest point, nothing else breaks."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import flare
from flare import exceptions


@flare.remote
def identity(x):
    return x


def test_calling_a_remote_function_directly_says_to_use_remote(flare_2cpu):
    with pytest.raises(TypeError, match=r"identity\.remote\(\)"):
        identity(1)


def test_unpicklable_argument_is_named_at_remote(flare_2cpu):
    lock = threading.Lock()
    with pytest.raises(TypeError, match=r"argument 1 \(lock\)"):
        _two_args.remote(1, lock)
    assert flare.get(identity.remote(2)) == 2  # the runtime keeps serving


@flare.remote
def _two_args(a, b):
    return a


def test_unpicklable_keyword_argument_is_named(flare_2cpu):
    with pytest.raises(TypeError, match="keyword argument 'b'"):
        _two_args.remote(1, b=threading.Lock())


def test_wrong_number_of_arguments_fails_at_remote(flare_2cpu):
    with pytest.raises(TypeError, match="identity.remote"):
        identity.remote(1, 2)


@pytest.mark.parametrize("options, match", [
    ({"num_cpus": -1}, "num_cpus"),
    ({"num_gpus": "two"}, "num_gpus"),
    ({"num_returns": 1.5}, "num_returns"),
    ({"num_returns": 10**6}, "num_returns"),
    ({"num_cpus": float("nan")}, "num_cpus"),
    ({"num_cpus": float("inf")}, "num_cpus"),
    ({"memory": 1e300}, "memory"),
    ({"resources": {"accel": float("inf")}}, "accel"),
    ({"max_retries": -2}, "max_retries"),
    ({"max_retries": 2**40}, "max_retries"),
    ({"resources": {"CPU": 1}}, "num_cpus"),
    ({"resources": {"accel": -1}}, "accel"),
    ({"retry_exceptions": "yes"}, "retry_exceptions"),
    ({"no_such_option": 1}, "no_such_option"),
])
def test_invalid_options_fail_at_decoration_and_in_options(flare_2cpu, options, match):
    with pytest.raises((ValueError, TypeError), match=match):
        flare.remote(**options)(lambda: None)
    with pytest.raises((ValueError, TypeError), match=match):
        identity.options(**options)


def test_infeasible_resources_fail_at_get_instead_of_hanging(flare_2cpu):
    ref = identity.options(num_cpus=64).remote(1)
    with pytest.raises(exceptions.TaskUnschedulableError, match="CPU"):
        flare.get(ref, timeout=10)
    ref = identity.options(resources={"accelerator": 1}).remote(1)
    with pytest.raises(exceptions.TaskUnschedulableError, match="accelerator"):
        flare.get(ref, timeout=10)
    assert flare.get(identity.remote(3)) == 3


def test_object_larger_than_the_store_raises_object_store_full(flare_2cpu):
    too_big = np.zeros(600 * 2**20, dtype=np.uint8)  # the store has 512 MiB
    with pytest.raises(exceptions.ObjectStoreFullError):
        flare.put(too_big)
    with pytest.raises(MemoryError):  # it is also a MemoryError
        flare.put(too_big)
    assert flare.get(flare.put(np.ones(10))).sum() == 10


def test_task_result_larger_than_the_store_raises_at_get(flare_2cpu):
    @flare.remote
    def make_huge():
        return np.zeros(600 * 2**20, dtype=np.uint8)

    with pytest.raises(exceptions.ObjectStoreFullError):
        flare.get(make_huge.remote())
    assert flare.get(identity.remote(4)) == 4


def test_worker_crash_without_retries_raises_worker_crashed(flare_2cpu):
    @flare.remote(max_retries=0)
    def die():
        os._exit(1)

    with pytest.raises(exceptions.WorkerCrashedError, match="die"):
        flare.get(die.remote(), timeout=30)
    assert flare.get(identity.remote(5)) == 5  # a replacement worker serves


def test_worker_killed_by_signal_is_retried_then_succeeds(flare_2cpu, tmp_path):
    @flare.remote(max_retries=2)
    def crash_first_time(path):
        if not os.path.exists(path):
            open(path, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return "second attempt"

    assert flare.get(crash_first_time.remote(str(tmp_path / "m")), timeout=30) == \
        "second attempt"


def test_put_of_an_object_ref_is_rejected(flare_2cpu):
    with pytest.raises(TypeError, match="ObjectRef"):
        flare.put(flare.put(1))


def test_init_twice_is_an_error_unless_ignored(flare_2cpu):
    with pytest.raises(RuntimeError, match="already"):
        flare.init()
    flare.init(ignore_reinit_error=True)


def test_api_before_init_raises_clearly_when_auto_init_is_off():
    import os
    import subprocess
    import sys
    code = ("import flare\n"
            "try:\n    flare.put(1)\n"
            "except flare.exceptions.FlareError as error:\n    print('error:', error)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=30, env=dict(os.environ, FLARE_AUTO_INIT="0"))
    assert "error:" in result.stdout and "init" in result.stdout


def test_an_exception_class_the_driver_cannot_load_arrives_as_task_error_with_its_traceback(
        flare_2cpu, tmp_path):
    # The class lives in a module only the worker imports: the driver gets a
    # TaskError that names the class and keeps the message and traceback.
    @flare.remote
    def raise_private(directory):
        import sys
        with open(os.path.join(directory, "worker_only_errors.py"), "w") as module:
            module.write("class PrivateError(Exception):\n    pass\n")
        sys.path.insert(0, directory)
        import worker_only_errors
        raise worker_only_errors.PrivateError("only the worker knows this class")

    with pytest.raises(exceptions.TaskError) as raised:
        flare.get(raise_private.remote(str(tmp_path)), timeout=60)
    text = str(raised.value)
    assert "PrivateError" in text and "only the worker knows this class" in text
    assert "raise_private" in text, "the remote traceback is kept"
    assert raised.value.cause is None
    assert "could not be loaded here" in raised.value.cause_repr
    assert flare.get(identity.remote(7), timeout=60) == 7, "nothing else broke"


def test_actor_counts_past_32_bits_fail_at_decoration(flare_2cpu):
    for key in ("max_restarts", "max_task_retries", "max_concurrency"):
        with pytest.raises(ValueError, match=key):
            @flare.remote(**{key: 2**40})
            class Counter:
                pass


def test_an_infinite_timeout_means_none(flare_2cpu):
    assert flare.get(identity.remote(3), timeout=float("inf")) == 3
    ready, _ = flare.wait([identity.remote(4)], timeout=float("inf"))
    assert len(ready) == 1
    with pytest.raises(ValueError, match="timeout"):
        flare.get(identity.remote(5), timeout=float("nan"))
