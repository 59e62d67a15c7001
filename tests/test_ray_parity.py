"""Ray behaviours that Ray programs rely on: job ids and exception classes at
any depth, actor-call cancel rules, sys.exit in tasks and actors, actors
that die with their creator, out-of-order async/threaded actors, dynamic
returns, __ray_ready__, the worker setup hook, tracebacks and log prefixes."""

from __future__ import annotations

import os
import sys
import threading

import pytest

import flare
from flare.exceptions import (ActorDiedError, RayTaskError, RuntimeEnvSetupError,
                              TaskCancelledError, TaskError, WorkerCrashedError)

from conftest import run_script, wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", autouse=True)
def runtime():
    flare.init(num_cpus=2, object_store_memory=256 * 2**20)
    yield
    flare.shutdown()


# ---- job id and exceptions at depth ------------------------------------------

@flare.remote
def job_id_at_depth(depth: int) -> str:
    if depth == 0:
        return flare.get_runtime_context().get_job_id()
    return flare.get(job_id_at_depth.remote(depth - 1))


def test_nested_tasks_see_the_drivers_job_id():
    driver_job = flare.get_runtime_context().get_job_id()
    assert flare.get([job_id_at_depth.remote(d) for d in range(4)], timeout=60) == [driver_job] * 4


class DeepError(Exception):
    pass


@flare.remote
def raise_at_depth(depth: int) -> None:
    if depth == 0:
        raise DeepError("three tasks down")
    flare.get(raise_at_depth.remote(depth - 1))


def test_exception_three_tasks_down_keeps_its_class():
    with pytest.raises(DeepError) as caught:
        flare.get(raise_at_depth.remote(2), timeout=60)
    assert isinstance(caught.value, TaskError) and isinstance(caught.value, RayTaskError)
    assert "three tasks down" in str(caught.value)


def test_remote_traceback_names_the_users_file_and_line():
    @flare.remote
    def fails():
        raise ValueError("look at my line")

    with pytest.raises(ValueError) as caught:
        flare.get(fails.remote(), timeout=60)
    text = str(caught.value)
    assert "<dynamic-code>" not in text
    assert os.path.basename(__file__) in text
    assert 'raise ValueError("look at my line")' in text


# ---- cancel ------------------------------------------------------------------

@flare.remote
class Sleeper:
    def nap(self, seconds: float) -> str:
        import time
        time.sleep(seconds)
        return "rested"


def test_force_cancel_of_an_actor_call_raises_value_error():
    actor = Sleeper.remote()
    ref = actor.nap.remote(0)
    with pytest.raises(ValueError, match="kill"):
        flare.cancel(ref, force=True)
    assert flare.get(ref, timeout=60) == "rested"  # nothing was cancelled


@flare.remote
class AsyncWorker:
    def __init__(self) -> None:
        self.started = 0

    async def wait_forever(self, swallow: bool):
        import asyncio
        self.started += 1
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if swallow:
                return "swallowed"
            raise
        return "woke"

    def how_many_started(self) -> int:
        return self.started


@pytest.mark.parametrize("swallow", [False, True])
def test_cancelled_async_actor_call_raises_task_cancelled_inside_task_error(swallow):
    actor = AsyncWorker.remote()
    ref = actor.wait_forever.remote(swallow)
    # Cancel once the coroutine is running.
    assert wait_for(lambda: flare.get(actor.how_many_started.remote(), timeout=60) > 0)
    flare.cancel(ref)
    with pytest.raises(TaskCancelledError) as caught:
        flare.get(ref, timeout=60)
    assert isinstance(caught.value, TaskError)


# ---- sys.exit ----------------------------------------------------------------

@flare.remote
class Exits:
    def pid(self) -> int:
        return os.getpid()

    def leave(self, code: int) -> None:
        sys.exit(code)


def test_sys_exit_in_an_actor_method_ends_the_actor():
    actor = Exits.remote()
    pid = flare.get(actor.pid.remote(), timeout=60)
    with pytest.raises(ActorDiedError, match=r"sys\.exit\(3\)"):
        flare.get(actor.leave.remote(3), timeout=60)
    with pytest.raises(ActorDiedError):
        flare.get(actor.pid.remote(), timeout=60)
    # The process is gone, not just the call.
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_sys_exit_in_an_actor_with_restarts_left_restarts_it():
    actor = Exits.options(max_restarts=1).remote()
    first = flare.get(actor.pid.remote(), timeout=60)
    with pytest.raises(ActorDiedError):
        flare.get(actor.leave.remote(0), timeout=60)
    assert flare.get(actor.pid.remote(), timeout=60) != first


def test_sys_exit_in_a_task_is_a_worker_crash():
    @flare.remote(max_retries=0)
    def leave():
        sys.exit(2)

    with pytest.raises(WorkerCrashedError, match=r"sys\.exit\(2\)") as caught:
        flare.get(leave.remote(), timeout=60)
    assert not isinstance(caught.value, TaskError)


# ---- actors share their creator's fate -----------------------------------------

@flare.remote
class Child:
    def ping(self) -> str:
        return "pong"


@flare.remote
class Parent:
    def make_child(self):
        self.child = Child.remote()
        flare.get(self.child.ping.remote())
        return [self.child]

    def pid(self) -> int:
        return os.getpid()


def assert_dies_with_its_owner(actor) -> None:
    """Calls made once the raylet has seen the owner go fail, naming it
    (calls made before that may still be served)."""
    def call_fails() -> bool:
        try:
            flare.get(actor.ping.remote(), timeout=60)
        except ActorDiedError as error:
            assert "owner" in str(error), error
            return True
        return False

    assert wait_for(call_fails, 60), "the actor outlived its owner"


def test_actor_created_by_an_actor_dies_with_it():
    parent = Parent.remote()
    [child] = flare.get(parent.make_child.remote(), timeout=60)
    assert flare.get(child.ping.remote(), timeout=60) == "pong"
    flare.kill(parent)
    assert_dies_with_its_owner(child)


def test_detached_actor_outlives_its_creator():
    parent = Parent.remote()

    @flare.remote
    def make_detached():
        handle = Child.options(lifetime="detached", name="orphan-ok").remote()
        flare.get(handle.ping.remote())
        return [handle]

    [child] = flare.get(make_detached.remote(), timeout=60)
    flare.kill(parent)
    assert flare.get(child.ping.remote(), timeout=60) == "pong"
    flare.kill(child)


def test_actor_created_by_a_task_dies_with_its_worker():
    @flare.remote(max_retries=0)
    def make_and_report():
        handle = Child.remote()
        flare.get(handle.ping.remote())
        return [handle], os.getpid()

    [child], worker_pid = flare.get(make_and_report.remote(), timeout=60)
    assert flare.get(child.ping.remote(), timeout=60) == "pong"
    os.kill(worker_pid, 9)
    assert_dies_with_its_owner(child)


# ---- call order of async and threaded actors -------------------------------------

@flare.remote
def slow_value(event_actor, value):
    flare.get(event_actor.wait_open.remote())
    return value


@flare.remote
class Gate:
    def __init__(self) -> None:
        self._open = threading.Event()

    def open(self) -> None:
        self._open.set()

    def wait_open(self) -> None:
        self._open.wait(60)


@flare.remote
class AsyncRecorder:
    def __init__(self) -> None:
        self.seen = []

    async def record(self, value) -> None:
        self.seen.append(value)

    async def log(self):
        return list(self.seen)


class Recorder:
    def __init__(self) -> None:
        self.seen = []

    def record(self, value) -> None:
        self.seen.append(value)

    def log(self):
        return list(self.seen)


ThreadedRecorder = flare.remote(max_concurrency=2)(Recorder)
SyncRecorder = flare.remote(Recorder)


@pytest.mark.parametrize("recorder_class", [AsyncRecorder, ThreadedRecorder])
def test_async_and_threaded_actors_run_later_calls_while_an_argument_is_pending(recorder_class):
    gate = Gate.options(max_concurrency=2).remote()
    recorder = recorder_class.remote()
    blocked = recorder.record.remote(slow_value.remote(gate, 2))
    flare.get(recorder.record.remote(3), timeout=60)
    assert flare.get(recorder.log.remote(), timeout=60) == [3]
    flare.get(gate.open.remote(), timeout=60)
    flare.get(blocked, timeout=60)
    assert flare.get(recorder.log.remote(), timeout=60) == [3, 2]


def test_sync_actor_keeps_submission_order_while_an_argument_is_pending():
    gate = Gate.options(max_concurrency=2).remote()
    recorder = SyncRecorder.remote()
    recorder.record.remote(slow_value.remote(gate, 2))
    later = recorder.record.remote(3)
    ready, _ = flare.wait([later], timeout=0.5)
    assert not ready  # held behind the call whose argument is pending
    flare.get(gate.open.remote(), timeout=60)
    flare.get(later, timeout=60)
    assert flare.get(recorder.log.remote(), timeout=60) == [2, 3]


# ---- dynamic returns, __ray_ready__ ---------------------------------------------

def test_dynamic_num_returns_gives_a_generator_of_refs():
    @flare.remote(num_returns="dynamic")
    def split(n):
        for i in range(n):
            yield i * 10

    ref = split.remote(4)
    generator = flare.get(ref, timeout=60)
    assert isinstance(generator, flare.DynamicObjectRefGenerator)
    refs = list(generator)
    assert len(refs) == 4 and all(isinstance(r, flare.ObjectRef) for r in refs)
    assert flare.get(refs, timeout=60) == [0, 10, 20, 30]
    del ref, generator
    assert flare.get(refs, timeout=60) == [0, 10, 20, 30]  # the items outlive the container


def test_dynamic_num_returns_through_options_and_on_actor_methods():
    @flare.remote
    def pair():
        yield "a"
        yield "b"

    generator = flare.get(pair.options(num_returns="dynamic").remote(), timeout=60)
    assert flare.get(list(generator), timeout=60) == ["a", "b"]

    @flare.remote
    class Splitter:
        @flare.method(num_returns="dynamic")
        def parts(self, n):
            return (i for i in range(n))

    splitter = Splitter.remote()
    assert flare.get(list(flare.get(splitter.parts.remote(3), timeout=60)), timeout=60) == [0, 1, 2]


def test_dynamic_generator_error_reaches_the_caller():
    @flare.remote(num_returns="dynamic")
    def broken():
        yield 1
        raise KeyError("mid-way")

    with pytest.raises(KeyError):
        flare.get(broken.remote(), timeout=60)


def test_ray_ready_returns_once_the_actor_is_up():
    @flare.remote
    class Slow:
        def __init__(self):
            self.value = 7

        def value_of(self):
            return self.value

    actor = Slow.remote()
    assert flare.get(actor.__ray_ready__.remote(), timeout=60) is True
    assert flare.get(actor.value_of.remote(), timeout=60) == 7


# ---- drivers of their own: setup hook, log prefixes ------------------------------

def test_worker_process_setup_hook_runs_once_per_worker_before_its_tasks():
    result = run_script("""
        import os
        import flare

        def setup():
            os.environ["HOOKED"] = str(int(os.environ.get("HOOKED", "0")) + 1)

        flare.init(num_cpus=2, runtime_env={"worker_process_setup_hook": setup})

        @flare.remote
        def hooked():
            return os.environ.get("HOOKED")

        print("values", sorted(set(flare.get([hooked.remote() for _ in range(20)]))))
        flare.shutdown()
    """)
    assert result.returncode == 0, result.stderr
    assert "values ['1']" in result.stdout, result.stdout + result.stderr


def test_worker_process_setup_hook_by_module_path_and_failures():
    result = run_script("""
        import flare
        from flare.exceptions import RuntimeEnvSetupError

        flare.init(num_cpus=1, runtime_env={"worker_process_setup_hook": "json.no_such_function"})

        @flare.remote
        def task():
            return 1

        try:
            flare.get(task.remote())
        except RuntimeEnvSetupError as error:
            print("setup failed:", "no_such_function" in str(error))
        flare.shutdown()
    """)
    assert result.returncode == 0, result.stderr
    assert "setup failed: True" in result.stdout, result.stdout + result.stderr


def test_setup_hook_is_refused_outside_init():
    with pytest.raises(ValueError, match="init"):
        @flare.remote(runtime_env={"worker_process_setup_hook": "json.dumps"})
        def task():
            pass


def test_actor_output_is_prefixed_with_its_repr_or_class_name():
    result = run_script("""
        import flare
        flare.init(num_cpus=2)

        @flare.remote
        class Named:
            def __init__(self, index):
                self.index = index
            def __repr__(self):
                return f"Named(index={self.index})"
            def speak(self):
                print("spoken")

        @flare.remote
        class Plain:
            def speak(self):
                print("plain spoken")

        flare.get([Named.remote(1).speak.remote(), Plain.remote().speak.remote()])
        flare.shutdown()
    """)
    assert result.returncode == 0, result.stderr
    assert "(Named(index=1) pid=" in result.stdout, result.stdout
    assert "(Plain pid=" in result.stdout, result.stdout


def test_workers_know_the_id_of_their_node():
    @flare.remote
    def node_of_worker():
        return os.environ.get("FLARE_NODE_ID"), flare.get_runtime_context().get_node_id()

    from_env, from_context = flare.get(node_of_worker.remote(), timeout=60)
    assert from_env == from_context == flare.get_runtime_context().get_node_id()
