"""Task control: cancel, retries, timeouts (get and per task), Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

import flare
from flare import exceptions

PYTHON = sys.executable


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def attempts(path) -> int:
    return len(os.listdir(path))


@flare.remote
def identity(x):
    return x


@flare.remote
def sleep_then_mark(seconds, marker):
    """Touches marker+'.started', sleeps, then marker+'.done' if the sleep ended
    normally and marker+'.finally' on any way out."""
    try:
        # Inside the try: a cancel right after this is seen must reach finally.
        open(marker + ".started", "w").close()
        time.sleep(seconds)
        open(marker + ".done", "w").close()
    finally:
        open(marker + ".finally", "w").close()
    return "slept"


@flare.remote(max_retries=0)
def count_attempt_then_sleep(path, seconds):
    open(os.path.join(path, str(time.monotonic_ns())), "w").close()
    time.sleep(seconds)
    return "done"


# ---- cancel -------------------------------------------------------------------

def test_cancel_running_sleep_raises_at_once_and_runs_finally(flare_2cpu, tmp_path):
    marker = str(tmp_path / "t")
    ref = sleep_then_mark.remote(600, marker)
    assert wait_for(lambda: os.path.exists(marker + ".started"))
    start = time.monotonic()
    flare.cancel(ref)
    with pytest.raises(exceptions.TaskCancelledError):
        flare.get(ref, timeout=10)
    assert time.monotonic() - start < 1.0
    assert wait_for(lambda: os.path.exists(marker + ".finally"), 5), \
        "the task's finally block did not run"
    assert flare.get(identity.remote(1), timeout=10) == 1


def test_cancel_right_after_remote_is_race_free(flare_2cpu, tmp_path):
    for i in range(20):
        ref = sleep_then_mark.remote(600, str(tmp_path / str(i)))
        flare.cancel(ref)
        with pytest.raises(exceptions.TaskCancelledError):
            flare.get(ref, timeout=5)
    # Every one stopped: both CPUs are free for new work.
    assert flare.get([identity.remote(i) for i in range(4)], timeout=10) == [0, 1, 2, 3]
    started = [p for p in os.listdir(tmp_path) if p.endswith(".started")]
    finished = [p for p in os.listdir(tmp_path) if p.endswith(".finally")]
    assert wait_for(lambda: len([p for p in os.listdir(tmp_path) if p.endswith(".finally")])
                    == len(started), 5), (started, finished)


def test_cancel_works_when_sigint_is_ignored_as_in_a_background_shell(tmp_path):
    marker = str(tmp_path / "t")
    process = run_driver(f"""
        import os, time, flare
        flare.init(num_cpus=1)

        @flare.remote
        def sleeper(marker):
            open(marker + ".started", "w").close()
            try:
                time.sleep(600)
            finally:
                open(marker + ".finally", "w").close()

        ref = sleeper.remote({marker!r})
        while not os.path.exists({marker!r} + ".started"):
            time.sleep(0.01)
        flare.cancel(ref)
        try:
            flare.get(ref, timeout=10)
        except flare.exceptions.TaskCancelledError:
            print("cancelled", flush=True)
        deadline = time.monotonic() + 5
        while not os.path.exists({marker!r} + ".finally") and time.monotonic() < deadline:
            time.sleep(0.01)
        print("finally ran" if os.path.exists({marker!r} + ".finally") else "still running")
    """, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out.split() == ["cancelled", "finally", "ran"], (out, err)


def test_cancel_queued_task_never_runs(flare_2cpu, tmp_path):
    blockers = [sleep_then_mark.remote(1.0, str(tmp_path / f"b{i}")) for i in range(2)]
    marker = str(tmp_path / "queued")
    queued = sleep_then_mark.remote(0, marker)
    flare.cancel(queued)
    with pytest.raises(exceptions.TaskCancelledError):
        flare.get(queued, timeout=5)
    assert flare.get(blockers, timeout=10) == ["slept", "slept"]
    time.sleep(0.3)
    assert not os.path.exists(marker + ".started"), "a cancelled queued task ran"


def test_cancel_of_a_task_waiting_for_its_argument(flare_2cpu, tmp_path):
    slow = sleep_then_mark.remote(1.0, str(tmp_path / "slow"))
    dependent = identity.remote(slow)
    flare.cancel(dependent)
    with pytest.raises(exceptions.TaskCancelledError):
        flare.get(dependent, timeout=5)
    assert flare.get(slow, timeout=10) == "slept"


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
        flare.get(ref, timeout=5)
    # Within the grace period plus a little, both CPUs serve again.
    start = time.monotonic()
    assert flare.get([identity.remote(i) for i in range(4)], timeout=15) == [0, 1, 2, 3]
    refs = [sleep_then_mark.remote(0.5, str(tmp_path / f"p{i}")) for i in range(2)]
    flare.get(refs, timeout=15)
    assert time.monotonic() - start < 10


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
        flare.get(ref, timeout=5)
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                    open(f"/proc/{pid}/stat").read().split()[2] == "Z", 5)
    time.sleep(0.5)
    assert attempts(directory) == 1, "a cancelled task was retried"
    assert flare.get(identity.remote("after"), timeout=10) == "after"


def test_cancel_of_a_finished_task_does_nothing(flare_2cpu):
    ref = identity.remote(7)
    assert flare.get(ref) == 7
    flare.cancel(ref)
    flare.cancel(ref, force=True)
    assert flare.get(ref) == 7


@flare.remote
def parent_of_sleeper(marker, seconds):
    child = sleep_then_mark.remote(seconds, marker)
    return flare.get(child)


def test_recursive_cancel_stops_the_tasks_a_task_submitted(flare_2cpu, tmp_path):
    marker = str(tmp_path / "child")
    parent = parent_of_sleeper.remote(marker, 600)
    assert wait_for(lambda: os.path.exists(marker + ".started"))
    flare.cancel(parent)
    with pytest.raises(exceptions.TaskCancelledError):
        flare.get(parent, timeout=5)
    assert wait_for(lambda: os.path.exists(marker + ".finally"), 5), \
        "the child task kept running"


def test_cancel_of_a_task_blocked_in_get_with_recursive_false(flare_2cpu, tmp_path):
    marker = str(tmp_path / "child")
    parent = parent_of_sleeper.remote(marker, 2.0)
    assert wait_for(lambda: os.path.exists(marker + ".started"))
    start = time.monotonic()
    flare.cancel(parent, recursive=False)
    with pytest.raises(exceptions.TaskCancelledError):
        flare.get(parent, timeout=5)
    assert time.monotonic() - start < 1.0
    # The parent's worker left its get and serves again while the child runs.
    assert flare.get([identity.remote(i) for i in range(3)], timeout=10) == [0, 1, 2]
    assert wait_for(lambda: os.path.exists(marker + ".done"), 10), \
        "recursive=False stopped the child"


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
    time.sleep(0.3)
    again, _ = flare.get(array_ref, timeout=10)
    assert again[-1] == 999_999


# ---- timeouts -------------------------------------------------------------------

def test_get_timeout_leaves_the_task_running(flare_2cpu, tmp_path):
    ref = sleep_then_mark.remote(0.8, str(tmp_path / "t"))
    start = time.monotonic()
    with pytest.raises(exceptions.GetTimeoutError):
        flare.get(ref, timeout=0.2)
    assert time.monotonic() - start < 0.4
    assert flare.get(ref, timeout=10) == "slept"


def test_task_timeout_cancels_it_with_task_timeout_error(flare_2cpu, tmp_path):
    ref = count_attempt_then_sleep.options(timeout_s=0.5, max_retries=3).remote(str(tmp_path), 600)
    start = time.monotonic()
    with pytest.raises(exceptions.TaskTimeoutError) as info:
        flare.get(ref, timeout=10)
    elapsed = time.monotonic() - start
    assert 0.4 < elapsed < 2.0, elapsed
    assert isinstance(info.value, exceptions.TaskCancelledError)
    assert isinstance(info.value, TimeoutError)
    assert "timeout_s" in str(info.value)
    time.sleep(0.5)
    assert attempts(tmp_path) == 1, "a timed-out task was retried without being asked to"


def test_task_timeout_is_retried_when_retry_exceptions_names_it(flare_2cpu, tmp_path):
    @flare.remote(timeout_s=0.5, max_retries=2, retry_exceptions=[exceptions.TaskTimeoutError])
    def slow_first_time(path):
        count = attempts(path) + 1
        open(os.path.join(path, str(count)), "w").close()
        if count == 1:
            time.sleep(600)
        return count

    assert flare.get(slow_first_time.remote(str(tmp_path)), timeout=20) == 2


def test_task_timeout_does_not_count_time_spent_queued(flare_2cpu, tmp_path):
    blockers = [sleep_then_mark.remote(1.0, str(tmp_path / f"b{i}")) for i in range(2)]
    quick = identity.options(timeout_s=0.5).remote("fine")
    assert flare.get(quick, timeout=10) == "fine"
    flare.get(blockers)


@pytest.mark.parametrize("value", [0, -1, "1", float("inf")])
def test_invalid_timeout_s_is_rejected(flare_2cpu, value):
    with pytest.raises(ValueError, match="timeout_s"):
        flare.remote(timeout_s=value)(lambda: None)
    with pytest.raises(ValueError, match="timeout_s"):
        identity.options(timeout_s=value)


# ---- the driver side --------------------------------------------------------------

def run_driver(code: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([PYTHON, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def test_ctrl_c_interrupts_get_and_leaves_the_runtime_usable():
    process = run_driver("""
        import time, flare
        flare.init(num_cpus=1)

        @flare.remote
        def forever():
            time.sleep(600)

        @flare.remote
        def one():
            return 1

        ref = forever.remote()
        print("waiting", flush=True)
        try:
            flare.get(ref)
        except KeyboardInterrupt:
            interrupted = time.monotonic()
            print("interrupted", flush=True)
        flare.cancel(ref)
        assert flare.get(one.remote(), timeout=20) == 1
        print("usable", flush=True)
    """)
    try:
        assert process.stdout.readline().strip() == "waiting"
        time.sleep(0.5)
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        assert process.stdout.readline().strip() == "interrupted"
        assert time.monotonic() - sent < 1.0
        out, err = process.communicate(timeout=30)
        assert "usable" in out, err
        assert process.returncode == 0, err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_retries_are_visible_at_the_driver(tmp_path):
    process = run_driver(f"""
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


def test_driver_exit_cancels_its_tasks_and_leaves_other_drivers_alone(tmp_path):
    # A private temp dir: its own cluster file, so a developer's head is untouched.
    private_tmp = tempfile.mkdtemp(prefix="fl")
    env = dict(os.environ, TMPDIR=private_tmp)
    start = subprocess.run([PYTHON, "-m", "flare.scripts", "start", "--head", "--num-cpus", "2"],
                           capture_output=True, text=True, env=env, timeout=60)
    assert start.returncode == 0, start.stderr
    try:
        marker = str(tmp_path / "first")
        survivor = run_driver(f"""
            import time, flare
            flare.init(address="auto")

            @flare.remote
            def slow():
                time.sleep(2)
                return "survived"

            ref = slow.remote()
            print("submitted", flush=True)
            print(flare.get(ref, timeout=30), flush=True)
        """, env=env)
        assert survivor.stdout.readline().strip() == "submitted"
        leaving = run_driver(f"""
            import os, time, flare
            flare.init(address="auto")

            @flare.remote
            def sleeper(marker):
                open(marker + ".started", "w").close()
                try:
                    time.sleep(600)
                finally:
                    open(marker + ".finally", "w").close()

            ref = sleeper.remote({marker!r})
            while not os.path.exists({marker!r} + ".started"):
                time.sleep(0.01)
            os._exit(0)
        """, env=env)
        leaving.communicate(timeout=30)
        assert wait_for(lambda: os.path.exists(marker + ".finally"), 5), \
            "the departed driver's task kept running"
        out, err = survivor.communicate(timeout=30)
        assert out.strip().endswith("survived"), err
    finally:
        subprocess.run([PYTHON, "-m", "flare.scripts", "stop"], env=env, timeout=60)
        shutil.rmtree(private_tmp, ignore_errors=True)
