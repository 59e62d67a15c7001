"""Task control: cancel, retries, timeouts (get and per task), Ctrl-C."""

from __future__ import annotations

import os
import signal
import time

import pytest

import flare
from flare import exceptions

import conftest
from conftest import FileEvent, private_head, process_gone, start_driver, wait_for


def attempts(path) -> int:
    return len(os.listdir(path))


@flare.remote
def identity(x):
    return x


mark_and_wait = flare.remote(conftest.mark_and_wait)


def both_cpus_free() -> bool:
    """True once no task holds a CPU of the 2-CPU node (a retry would)."""
    return wait_for(lambda: flare.available_resources().get("CPU") == 2, timeout=60)


@flare.remote(max_retries=0)
def count_attempt_then_sleep(path, seconds):
    open(os.path.join(path, str(time.monotonic_ns())), "w").close()
    time.sleep(seconds)
    return "done"


# ---- cancel -------------------------------------------------------------------

def test_cancel_running_sleep_interrupts_it_and_runs_finally(flare_2cpu, tmp_path):
    marker = str(tmp_path / "t")
    ref = mark_and_wait.remote(marker)  # sleeps 600 s unless interrupted
    assert wait_for(lambda: os.path.exists(marker + ".started"))
    flare.cancel(ref)
    with pytest.raises(exceptions.TaskCancelledError):
        flare.get(ref, timeout=60)
    assert wait_for(lambda: os.path.exists(marker + ".finally")), \
        "the task's finally block did not run"
    assert not os.path.exists(marker + ".done"), "the sleep ran on past the cancel"
    assert flare.get(identity.remote(1), timeout=60) == 1


def test_cancel_right_after_remote_is_race_free(flare_2cpu, tmp_path):
    for i in range(20):
        ref = mark_and_wait.remote(str(tmp_path / str(i)))
        flare.cancel(ref)
        with pytest.raises(exceptions.TaskCancelledError):
            flare.get(ref, timeout=5)
    # Every one stopped: both CPUs are free for new work.
    assert flare.get([identity.remote(i) for i in range(4)], timeout=10) == [0, 1, 2, 3]
    started = [p for p in os.listdir(tmp_path) if p.endswith(".started")]
    finished = [p for p in os.listdir(tmp_path) if p.endswith(".finally")]
    assert wait_for(lambda: len([p for p in os.listdir(tmp_path) if p.endswith(".finally")])
                    == len(started)), (started, finished)


def test_cancel_works_when_sigint_is_ignored_as_in_a_background_shell(tmp_path):
    marker = str(tmp_path / "t")
    process = start_driver(f"""
        import flare
        from conftest import FileEvent, mark_and_wait
        flare.init(num_cpus=1)

        ref = flare.remote(mark_and_wait).remote({marker!r})  # sleeps 600 s
        FileEvent({marker!r} + ".started").wait()
        flare.cancel(ref)
        try:
            flare.get(ref, timeout=60)
        except flare.exceptions.TaskCancelledError:
            print("cancelled", flush=True)
        print("finally ran" if FileEvent({marker!r} + ".finally").wait() else "still running")
    """, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out.split() == ["cancelled", "finally", "ran"], (out, err)


def test_cancel_queued_task_never_runs(flare_2cpu, tmp_path, events):
    release = events("release")
    blockers = [mark_and_wait.remote(str(tmp_path / f"b{i}"), release) for i in range(2)]
    assert wait_for(lambda: all(os.path.exists(tmp_path / f"b{i}.started") for i in range(2)))
    marker = str(tmp_path / "queued")
    queued = mark_and_wait.remote(marker, release)  # both CPUs are held: it queues
    flare.cancel(queued)
    with pytest.raises(exceptions.TaskCancelledError):
        flare.get(queued, timeout=60)
    release.set()
    assert flare.get(blockers, timeout=60) == ["released", "released"]
    # Later tasks have run and nothing holds a CPU: it is not queued either.
    assert flare.get([identity.remote(i) for i in range(4)], timeout=60) == [0, 1, 2, 3]
    assert both_cpus_free()
    assert not os.path.exists(marker + ".started"), "a cancelled queued task ran"


def test_cancel_of_a_task_waiting_for_its_argument(flare_2cpu, tmp_path, events):
    release = events("release")
    slow = mark_and_wait.remote(str(tmp_path / "slow"), release)
    dependent = identity.remote(slow)
    flare.cancel(dependent)  # its argument cannot be ready before the release
    with pytest.raises(exceptions.TaskCancelledError):
        flare.get(dependent, timeout=60)
    release.set()
    assert flare.get(slow, timeout=60) == "released"


def test_uncooperative_task_loses_its_worker_and_the_pool_recovers(flare_2cpu, tmp_path):
    @flare.remote
    def stubborn(path):
        open(path, "w").close()
        while True:
            try:
                time.sleep(100)
            except KeyboardInterrupt:
                pass  # ignores cancellation: the raylet must end it

    path = str(tmp_path / "started")
    ref = stubborn.remote(path)
    assert wait_for(lambda: os.path.exists(path))
    flare.cancel(ref)
    with pytest.raises(exceptions.TaskCancelledError):
        flare.get(ref, timeout=60)
    # After the grace period the raylet ends the worker: its CPU is free again.
    assert both_cpus_free(), "the stubborn task kept its CPU"
    assert flare.get([identity.remote(i) for i in range(4)], timeout=60) == [0, 1, 2, 3]


def test_force_cancel_kills_the_worker_and_is_never_retried(flare_2cpu, tmp_path):
    @flare.remote(max_retries=3)
    def report_pid_and_sleep(path):
        open(os.path.join(path, str(os.getpid())), "w").close()
        time.sleep(600)

    directory = tmp_path / "pids"
    directory.mkdir()
    ref = report_pid_and_sleep.remote(str(directory))
    assert wait_for(lambda: attempts(directory) == 1)
    pid = int(os.listdir(directory)[0])
    flare.cancel(ref, force=True)
    with pytest.raises(exceptions.TaskCancelledError):
        flare.get(ref, timeout=60)
    assert wait_for(lambda: process_gone(pid))
    assert both_cpus_free()  # a retry would hold one, or have left its mark
    assert attempts(directory) == 1, "a cancelled task was retried"
    assert flare.get(identity.remote("after"), timeout=10) == "after"


def test_cancel_of_a_finished_task_does_nothing(flare_2cpu):
    ref = identity.remote(7)
    assert flare.get(ref) == 7
    flare.cancel(ref)
    flare.cancel(ref, force=True)
    assert flare.get(ref) == 7


@flare.remote
def parent_of_sleeper(marker, release=None):
    child = mark_and_wait.remote(marker, release)
    return flare.get(child)


def test_recursive_cancel_stops_the_tasks_a_task_submitted(flare_2cpu, tmp_path):
    marker = str(tmp_path / "child")
    parent = parent_of_sleeper.remote(marker)
    assert wait_for(lambda: os.path.exists(marker + ".started"))
    flare.cancel(parent)
    with pytest.raises(exceptions.TaskCancelledError):
        flare.get(parent, timeout=60)
    assert wait_for(lambda: os.path.exists(marker + ".finally")), "the child task kept running"
    assert not os.path.exists(marker + ".done")


def test_cancel_of_a_task_blocked_in_get_with_recursive_false(flare_2cpu, tmp_path, events):
    marker = str(tmp_path / "child")
    release_child = events("release-child")
    parent = parent_of_sleeper.remote(marker, release_child)
    assert wait_for(lambda: os.path.exists(marker + ".started"))
    flare.cancel(parent, recursive=False)
    # The parent's get is cancelled while its child still waits for its release.
    with pytest.raises(exceptions.TaskCancelledError):
        flare.get(parent, timeout=60)
    # The parent's worker left its get and serves again while the child runs.
    assert flare.get([identity.remote(i) for i in range(3)], timeout=60) == [0, 1, 2]
    assert not os.path.exists(marker + ".finally"), "recursive=False stopped the child"
    release_child.set()
    assert wait_for(lambda: os.path.exists(marker + ".done")), "recursive=False stopped the child"


# ---- retries ------------------------------------------------------------------

@flare.remote
def exit_until_attempt(path, succeed_on):
    count = attempts(path) + 1
    open(os.path.join(path, str(count)), "w").close()
    if count < succeed_on:
        os._exit(1)
    return count


def test_crashing_task_succeeds_on_third_run_with_three_retries(flare_2cpu, tmp_path):
    assert flare.get(exit_until_attempt.options(max_retries=3).remote(str(tmp_path), 3),
                     timeout=30) == 3


def test_crashing_task_with_one_retry_raises_worker_crashed(flare_2cpu, tmp_path):
    ref = exit_until_attempt.options(max_retries=1).remote(str(tmp_path), 3)
    with pytest.raises(exceptions.WorkerCrashedError) as info:
        flare.get(ref, timeout=30)
    assert "exit_until_attempt" in str(info.value)
    assert "exited with code 1" in str(info.value)
    assert attempts(tmp_path) == 2


def test_unlimited_retries(flare_2cpu, tmp_path):
    assert flare.get(exit_until_attempt.options(max_retries=-1).remote(str(tmp_path), 5),
                     timeout=60) == 5


def test_retry_exceptions_list_retries_only_matching_classes(flare_2cpu, tmp_path):
    @flare.remote(max_retries=2, retry_exceptions=[ValueError])
    def raise_then_succeed(path, error_class):
        count = attempts(path) + 1
        open(os.path.join(path, str(count)), "w").close()
        if count == 1:
            raise error_class("first attempt")
        return count

    value_dir, key_dir = tmp_path / "value", tmp_path / "key"
    value_dir.mkdir()
    key_dir.mkdir()
    assert flare.get(raise_then_succeed.remote(str(value_dir), ValueError), timeout=30) == 2
    with pytest.raises(KeyError):
        flare.get(raise_then_succeed.remote(str(key_dir), KeyError), timeout=30)
    assert attempts(key_dir) == 1


def test_application_errors_are_not_retried_by_default(flare_2cpu, tmp_path):
    @flare.remote(max_retries=3)
    def fail(path):
        open(os.path.join(path, str(attempts(path))), "w").close()
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        flare.get(fail.remote(str(tmp_path)), timeout=30)
    assert attempts(tmp_path) == 1


def test_retry_of_a_multi_return_task_keeps_every_ref_consistent(flare_2cpu, tmp_path):
    @flare.remote(num_returns=3, max_retries=2)
    def three(path):
        count = attempts(path) + 1
        open(os.path.join(path, str(count)), "w").close()
        if count == 1:
            os._exit(1)
        return count, count * 10, "x" * 200_000  # the last one goes to the arena

    a, b, c = three.remote(str(tmp_path))
    assert flare.get([a, b], timeout=30) == [2, 20]
    assert flare.get(c) == "x" * 200_000


def test_objects_a_task_returned_outlive_its_worker(flare_2cpu):
    import numpy as np

    @flare.remote
    def make():
        return np.arange(1_000_000), os.getpid()

    array_ref = make.remote()
    array, pid = flare.get(array_ref)
    del array
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: process_gone(pid))
    again, _ = flare.get(array_ref, timeout=60)
    assert again[-1] == 999_999


# ---- timeouts -------------------------------------------------------------------

def test_get_timeout_leaves_the_task_running(flare_2cpu, tmp_path, events):
    release = events("release")
    ref = mark_and_wait.remote(str(tmp_path / "t"), release)
    with pytest.raises(exceptions.GetTimeoutError):
        flare.get(ref, timeout=0.2)  # raised while the task waits for its release
    release.set()
    assert flare.get(ref, timeout=60) == "released"
    assert os.path.exists(tmp_path / "t.done")


def test_task_timeout_cancels_it_with_task_timeout_error(flare_2cpu, tmp_path):
    directory = tmp_path / "attempts"
    directory.mkdir()
    ref = count_attempt_then_sleep.options(timeout_s=0.5, max_retries=3).remote(str(directory),
                                                                               600)
    with pytest.raises(exceptions.TaskTimeoutError) as info:
        flare.get(ref, timeout=60)  # it would sleep 600 s: its timeout ended it
    assert attempts(directory) == 1  # it was running when it timed out
    assert isinstance(info.value, exceptions.TaskCancelledError)
    assert isinstance(info.value, TimeoutError)
    assert "timeout_s" in str(info.value)
    assert both_cpus_free()  # a retry would hold one, or have left its mark
    assert attempts(directory) == 1, "a timed-out task was retried without being asked to"


def test_task_timeout_is_retried_when_retry_exceptions_names_it(flare_2cpu, tmp_path):
    @flare.remote(timeout_s=0.5, max_retries=2, retry_exceptions=[exceptions.TaskTimeoutError])
    def slow_first_time(path):
        count = attempts(path) + 1
        open(os.path.join(path, str(count)), "w").close()
        if count == 1:
            time.sleep(600)
        return count

    assert flare.get(slow_first_time.remote(str(tmp_path)), timeout=20) == 2


def test_task_timeout_does_not_count_time_spent_queued(flare_2cpu, tmp_path, events):
    release = events("release")
    blockers = [mark_and_wait.remote(str(tmp_path / f"b{i}"), release) for i in range(2)]
    assert wait_for(lambda: all(os.path.exists(tmp_path / f"b{i}.started") for i in range(2)))
    quick = identity.options(timeout_s=0.5).remote("fine")
    # Queued behind the blockers for twice its timeout_s, and not failed for it.
    assert flare.wait([quick], timeout=1.0)[0] == [], "a queued task timed out"
    release.set()
    assert flare.get(quick, timeout=60) == "fine"
    assert flare.get(blockers, timeout=60) == ["released", "released"]


@pytest.mark.parametrize("value", [0, -1, "1", float("inf")])
def test_invalid_timeout_s_is_rejected(flare_2cpu, value):
    with pytest.raises(ValueError, match="timeout_s"):
        flare.remote(timeout_s=value)(lambda: None)
    with pytest.raises(ValueError, match="timeout_s"):
        identity.options(timeout_s=value)


# ---- the driver side --------------------------------------------------------------

def test_ctrl_c_interrupts_get_and_leaves_the_runtime_usable(tmp_path):
    started = FileEvent(tmp_path / "started")
    process = start_driver(f"""
        import time, flare
        from conftest import FileEvent
        flare.init(num_cpus=1)

        @flare.remote
        def forever(started):
            started.set()
            time.sleep(600)

        @flare.remote
        def one():
            return 1

        ref = forever.remote(FileEvent({started.path!r}))
        try:
            print("waiting", flush=True)
            flare.get(ref)
            print("returned", flush=True)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        flare.cancel(ref)
        assert flare.get(one.remote(), timeout=60) == 1
        print("usable", flush=True)
    """)
    try:
        assert process.stdout.readline().strip() == "waiting"
        # Its task runs (for 600 s), so the driver waits in its get.
        assert started.wait(), "the driver's task never started"
        process.send_signal(signal.SIGINT)
        assert process.stdout.readline().strip() == "interrupted"
        out, err = process.communicate(timeout=60)
        assert "usable" in out, err
        assert process.returncode == 0, err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_retries_are_visible_at_the_driver(tmp_path):
    process = start_driver(f"""
        import os, flare
        flare.init(num_cpus=1)

        @flare.remote(max_retries=2)
        def crash_once(path):
            if not os.path.exists(path):
                open(path, "w").close()
                os._exit(3)
            return "ok"

        print(flare.get(crash_once.remote({str(tmp_path / 'm')!r}), timeout=30), flush=True)
        flare.shutdown()
    """)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out.strip() == "ok"
    assert "(raylet)" in err and "crash_once" in err and "retrying" in err, err


def test_driver_exit_cancels_its_tasks_and_leaves_other_drivers_alone(tmp_path, events):
    with private_head(num_cpus=2) as env:
        marker = str(tmp_path / "first")
        survivor_started, release_survivor = events("survivor-started"), events("release")
        survivor = start_driver(f"""
            import flare
            from conftest import FileEvent
            flare.init(address="auto")

            @flare.remote
            def slow(started, release):
                started.set()
                release.wait_or_raise()
                return "survived"

            ref = slow.remote(FileEvent({survivor_started.path!r}),
                              FileEvent({release_survivor.path!r}))
            print("submitted", flush=True)
            print(flare.get(ref, timeout=90), flush=True)
        """, env=env)
        assert survivor.stdout.readline().strip() == "submitted"
        assert survivor_started.wait(), "the other driver's task never started"
        leaving = start_driver(f"""
            import os, flare
            from conftest import FileEvent, mark_and_wait
            flare.init(address="auto")

            ref = flare.remote(mark_and_wait).remote({marker!r})  # sleeps 600 s
            FileEvent({marker!r} + ".started").wait()
            os._exit(0)
        """, env=env)
        leaving.communicate(timeout=60)
        assert wait_for(lambda: os.path.exists(marker + ".finally")), \
            "the departed driver's task kept running"
        # The other driver's task ran all along; released now, it finishes.
        release_survivor.set()
        out, err = survivor.communicate(timeout=60)
        assert out.strip().endswith("survived"), err
