"""Errors of any size travel like values: a task's exception of hundreds of
MiB reaches the caller whole and the task runs once; an error shared by
many returns (or passed on to dependent tasks) is stored once and referred
to; one too large for the object store arrives as a smaller error of the
same class with the start of its message and the traceback, never as a
worker crash or a retry.

Each task body leaves a file per run, so a test counts the runs."""

from __future__ import annotations

import os

import pytest

import flare
from flare import exceptions
from conftest import NEVER, run_script, wait_for

MiB = 1 << 20


@pytest.fixture(scope="module")
def flare_big_store():
    """A node whose store holds a few hundred MiB of errors."""
    flare.init(num_cpus=2, object_store_memory=1024 * MiB)
    yield flare
    flare.shutdown()


def mark_run(runs_dir: str) -> None:
    open(os.path.join(runs_dir, f"{os.getpid()}-{len(os.listdir(runs_dir))}"), "x").close()


@flare.remote(max_retries=3)
def raise_big(runs_dir: str, size: int):
    mark_run(runs_dir)
    raise ValueError("x" * size)


def store_used() -> int:
    return flare.object_store_stats()["used"]


def error_of(ref) -> BaseException:
    """What get raises for ``ref``, without its traceback (whose frames
    would keep the refs, and so the stored error, alive)."""
    try:
        flare.get(ref, timeout=NEVER)
    except BaseException as error:  # noqa: BLE001 - the test looks at whatever it is
        return error.with_traceback(None)
    raise AssertionError("get returned a value instead of raising the task's error")


def test_error_past_the_message_limit_arrives_whole_and_the_task_runs_once(
        flare_big_store, tmp_path):
    # Its message alone is 200 MiB; as text (traceback, repr, cause) it
    # came to more than the 512 MiB a message may carry.
    size = 200 * MiB
    error = error_of(raise_big.remote(str(tmp_path), size))
    assert isinstance(error, ValueError), f"not the task's ValueError: {error!r:.2000}"
    assert isinstance(error, exceptions.TaskError), f"not a TaskError: {type(error)}"
    assert len(error.args[0]) == size and error.args[0][:3] == "xxx", \
        "the exception's message did not arrive whole"
    assert "raise_big" in str(error) and "ValueError" in str(error), str(error)[:2000]
    assert len(str(error)) < 1 * MiB, "the traceback text should bound the message it shows"
    assert len(os.listdir(tmp_path)) == 1, "the task body ran more than once"


def test_error_shared_by_many_returns_is_stored_once_and_freed_with_them(
        flare_big_store, tmp_path):
    @flare.remote(num_returns=1000, max_retries=3)
    def many(runs_dir):
        mark_run(runs_dir)
        raise KeyError("k" * MiB)

    assert wait_for(lambda: store_used() == 0, NEVER), "the store is not empty to begin with"
    refs = many.remote(str(tmp_path))
    for ref in (refs[0], refs[499], refs[-1]):
        error = error_of(ref)
        assert isinstance(error, KeyError), f"not the task's KeyError: {error!r:.2000}"
        assert len(error.args[0]) == MiB
    assert len(os.listdir(tmp_path)) == 1, "the task body ran more than once"
    used = store_used()
    assert MiB <= used < 4 * MiB, f"1000 returns of a 1 MiB error hold {used} bytes, not ~1 MiB"
    del refs, ref
    assert wait_for(lambda: store_used() == 0, NEVER), \
        f"the stored error outlived its returns: {store_used()} bytes still used"


def test_large_error_of_an_argument_fails_the_dependent_task_with_it(flare_big_store, tmp_path):
    @flare.remote
    def after(value):
        return value

    failed = raise_big.remote(str(tmp_path), 2 * MiB)
    dependent = after.remote(failed)
    flare.wait([dependent], timeout=NEVER)
    del failed  # the dependent's returns keep the stored error alive
    error = error_of(dependent)
    assert isinstance(error, ValueError), f"not the first task's ValueError: {error!r:.2000}"
    assert len(error.args[0]) == 2 * MiB


def test_large_error_ends_a_streaming_generator_after_its_items(flare_big_store):
    @flare.remote(num_returns="streaming")
    def produce():
        yield 1
        yield 2
        raise IndexError("i" * (3 * MiB))

    got = []
    with pytest.raises(IndexError) as raised:
        for ref in produce.remote():
            got.append(flare.get(ref, timeout=NEVER))
    assert got == [1, 2], "items before the error were lost"
    assert len(raised.value.args[0]) == 3 * MiB


def test_large_error_of_an_actor_method_and_a_constructor(flare_big_store):
    @flare.remote
    class Actor:
        def __init__(self, fail: bool):
            if fail:
                raise RuntimeError("c" * (20 * MiB))

        def fail(self):
            raise RuntimeError("m" * (20 * MiB))

        def ok(self):
            return "ok"

    actor = Actor.remote(False)
    error = error_of(actor.fail.remote())
    assert isinstance(error, RuntimeError), f"not the method's RuntimeError: {error!r:.2000}"
    assert len(error.args[0]) == 20 * MiB
    assert flare.get(actor.ok.remote(), timeout=NEVER) == "ok", "the actor did not survive"

    broken = Actor.remote(True)
    died = error_of(broken.ok.remote())
    assert isinstance(died, exceptions.ActorDiedError), f"{died!r:.2000}"
    message = str(died)
    assert "RuntimeError" in message and "ccc" in message, message[:2000]
    assert len(message) < 1 * MiB, "every call of a dead actor repeats its constructor's error"


def test_error_larger_than_the_object_store_is_replaced_by_a_smaller_one(tmp_path):
    # Run by a driver of its own, with a 64 MiB store and a 150 MiB message.
    done = run_script(f"""
        import os
        import flare

        class Rejected(Exception):
            def __init__(self, code, text):
                super().__init__(text)
                self.code = code

        @flare.remote(max_retries=3)
        def huge(runs_dir):
            open(os.path.join(runs_dir, str(len(os.listdir(runs_dir)))), "x").close()
            raise Rejected(7, "y" * (150 << 20))

        flare.init(num_cpus=1, object_store_memory=64 << 20)
        try:
            flare.get(huge.remote({str(tmp_path)!r}), timeout={NEVER})
        except Rejected as error:
            assert isinstance(error, flare.exceptions.TaskError), type(error)
            message = error.args[0]
            assert message.startswith("yyyy") and 1000 < len(message) < (1 << 20), len(message)
            assert "huge" in str(error) and "could not be delivered whole" in str(error)
            print("RUNS", len(os.listdir({str(tmp_path)!r})))
        finally:
            flare.shutdown()
        """, timeout=2 * NEVER)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "RUNS 1" in done.stdout, f"the task body did not run exactly once: {done.stdout}"
