"""Actors: creation, ordered calls, handles, concurrency, names, lifetime and death."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time

import pytest

import flare
from flare.exceptions import (ActorDiedError, GetTimeoutError, RayActorError, TaskCancelledError,
                              TaskError)

from conftest import private_head, process_gone, run_script, start_driver, wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", autouse=True)
def runtime():
    flare.init(num_cpus=4, object_store_memory=256 * 2**20, namespace="test-actors")
    yield
    flare.shutdown()


@flare.remote
class Counter:
    def __init__(self, start=0):
        self.value = start

    def increment(self, by=1):
        self.value += by
        return self.value

    def get(self):
        return self.value

    def pid(self):
        return os.getpid()

    def fail(self, message):
        raise ValueError(message)

    def wait_for_event(self, started, release):
        """Sets ``started``, then holds the actor until ``release`` is set."""
        started.set()
        release.wait_or_raise()
        return "released"

    @flare.method(num_returns=2)
    def pair(self):
        return self.value, -self.value

    def actor_id(self):
        return flare.get_runtime_context().get_actor_id()


# ---- creation and calls ----------------------------------------------------------

def test_calls_from_one_caller_run_in_submission_order():
    counter = Counter.remote()
    refs = [counter.increment.remote() for _ in range(1000)]
    assert flare.get(refs, timeout=60) == list(range(1, 1001))


def test_constructor_arguments_and_state():
    counter = Counter.remote(10)
    assert flare.get(counter.increment.remote(5), timeout=30) == 15
    assert flare.get(counter.get.remote(), timeout=30) == 15
    assert Counter.options(name=None).remote(start=3) is not None


def test_method_num_returns_from_decorator_and_options():
    counter = Counter.remote(4)
    a, b = counter.pair.remote()
    assert flare.get([a, b], timeout=30) == [4, -4]
    refs = counter.pair.options(num_returns=1).remote()
    assert flare.get(refs, timeout=30) == (4, -4)


def test_object_ref_arguments_are_resolved_and_order_holds(events):
    @flare.remote
    def value_when_set(event, v):
        event.wait_or_raise()
        return v

    release = events("release")
    counter = Counter.remote()
    first = counter.increment.remote(value_when_set.remote(release, 100))  # waits for its argument
    second = counter.increment.remote(1)  # submitted while the argument is pending: runs after
    release.set()
    assert flare.get([first, second], timeout=30) == [100, 101]
    nested = counter.get.remote()
    assert flare.get(nested, timeout=30) == 101
    assert flare.get(counter.increment.remote(flare.put(5)), timeout=30) == 106


def test_handles_pass_to_tasks_and_other_actors():
    counter = Counter.remote()

    @flare.remote
    def bump(handle, times):
        return flare.get([handle.increment.remote() for _ in range(times)])[-1]

    @flare.remote
    class Relay:
        def __init__(self, target):
            self.target = target

        def forward(self, by):
            return flare.get(self.target.increment.remote(by))

        def spawn_task(self, x):
            @flare.remote
            def double(v):
                return 2 * v
            return flare.get(double.remote(x))

    flare.get([bump.remote(counter, 10) for _ in range(3)], timeout=60)
    relay = Relay.remote(counter)
    assert flare.get(relay.forward.remote(100), timeout=30) == 130
    assert flare.get(relay.spawn_task.remote(21), timeout=30) == 42
    assert flare.get(counter.get.remote(), timeout=30) == 130


def test_runtime_context_names_the_actor():
    counter = Counter.remote()
    assert flare.get(counter.actor_id.remote(), timeout=30) == counter._actor_id.hex()
    assert flare.get_runtime_context().get_actor_id() is None


def test_an_actor_is_assigned_its_lifetime_resources():
    @flare.remote
    class Holder:
        def assigned(self):
            return flare.get_runtime_context().get_assigned_resources()

    # The default actor holds no CPU while alive, as in Ray.
    assert flare.get(Holder.remote().assigned.remote(), timeout=30) == {}
    held = Holder.options(num_cpus=1, max_concurrency=2).remote()
    assert flare.get([held.assigned.remote() for _ in range(4)], timeout=30) == [{"CPU": 1.0}] * 4


# ---- errors at the call site ---------------------------------------------------------

def test_direct_calls_and_unknown_methods_are_clear_errors():
    with pytest.raises(TypeError, match=r"Counter.remote\(\)"):
        Counter()
    counter = Counter.remote()
    with pytest.raises(TypeError, match=r"increment.remote\(\)"):
        counter.increment()
    with pytest.raises(AttributeError, match="no method 'nope'"):
        counter.nope.remote()
    assert repr(counter) == f"Actor(Counter, {counter._actor_id.hex()})"
    with pytest.raises(ValueError, match="unknown option"):
        Counter.options(num_cpu=1)
    with pytest.raises(ValueError, match="max_concurrency"):
        Counter.options(max_concurrency=0)
    with pytest.raises(TypeError, match="too many positional arguments"):
        Counter.remote(1, 2)


def test_method_exception_is_raised_at_get_and_the_actor_keeps_serving():
    counter = Counter.remote()
    counter.increment.remote()
    with pytest.raises(ValueError, match="boom") as info:
        flare.get(counter.fail.remote("boom"), timeout=30)
    assert isinstance(info.value, TaskError)
    assert "Traceback" in str(info.value)
    assert flare.get(counter.increment.remote(), timeout=30) == 2


def test_constructor_exception_makes_every_call_raise_actor_died():
    @flare.remote
    class Broken:
        def __init__(self):
            raise RuntimeError("cannot build this one")

        def ping(self):
            return "pong"

    broken = Broken.remote()
    for _ in range(2):
        with pytest.raises(ActorDiedError) as info:
            flare.get(broken.ping.remote(), timeout=30)
        assert "cannot build this one" in str(info.value)
        assert "Traceback" in str(info.value) and "__init__" in str(info.value)
    assert isinstance(info.value, RayActorError)


def test_infeasible_actor_fails_its_calls_clearly():
    @flare.remote(num_gpus=1)
    class NeedsGpu:
        def ping(self):
            return "pong"

    actor = NeedsGpu.remote()
    with pytest.raises(ActorDiedError, match="GPU"):
        flare.get(actor.ping.remote(), timeout=30)


# ---- concurrency -----------------------------------------------------------------------

@flare.remote
class Meeting:
    """Calls that wait at a barrier of ``parties``: they all return only if
    that many were inside the actor at the same time."""

    def __init__(self, parties):
        self.barrier = threading.Barrier(parties)
        self.log = []

    def meet(self):
        return self.barrier.wait(timeout=60)  # BrokenBarrierError if they never all came

    def enter_and_leave(self, i):
        self.log.append(f"enter {i}")
        time.sleep(0.05)  # room for another call to come in, were it allowed to
        self.log.append(f"leave {i}")

    def history(self):
        return self.log


def test_threaded_actor_runs_max_concurrency_calls_at_once():
    threaded = Meeting.options(max_concurrency=4).remote(4)
    arrivals = flare.get([threaded.meet.remote() for _ in range(4)], timeout=90)
    assert sorted(arrivals) == [0, 1, 2, 3], "four calls were not inside the actor at once"


def test_sync_actor_runs_one_call_at_a_time():
    single = Meeting.remote(1)
    flare.get([single.enter_and_leave.remote(i) for i in range(3)], timeout=30)
    assert flare.get(single.history.remote(), timeout=30) == [
        "enter 0", "leave 0", "enter 1", "leave 1", "enter 2", "leave 2"]


def test_async_actor_interleaves_awaiting_calls():
    @flare.remote
    class Gate:
        def __init__(self):
            self.event = asyncio.Event()
            self.all_here = asyncio.Event()
            self.order = []

        async def wait_open(self):
            self.order.append("waiting")
            await self.event.wait()
            self.order.append("passed")
            return "opened"

        async def open(self):
            self.order.append("open")
            self.event.set()
            return "done"

        async def meet(self, parties):
            # Returns once ``parties`` calls are awaiting here together.
            self.arrived = getattr(self, "arrived", 0) + 1
            if self.arrived == parties:
                self.all_here.set()
            await asyncio.wait_for(self.all_here.wait(), 60)
            return "met"

        def history(self):
            return self.order

    gate = Gate.remote()
    waiting = gate.wait_open.remote()   # would block a one-at-a-time actor for ever
    with pytest.raises(GetTimeoutError):
        flare.get(waiting, timeout=0.2)
    assert flare.get(gate.open.remote(), timeout=30) == "done"
    assert flare.get(waiting, timeout=30) == "opened"
    assert flare.get(gate.history.remote(), timeout=30) == ["waiting", "open", "passed"]
    assert flare.get([gate.meet.remote(10) for _ in range(10)], timeout=90) == ["met"] * 10


def test_cancel_queued_call_and_running_async_call(events):
    counter = Counter.remote()
    flare.get(counter.get.remote(), timeout=30)  # alive: calls go straight to its worker
    started, release = events("busy-started"), events("release-busy")
    busy = counter.wait_for_event.remote(started, release)
    queued = counter.increment.remote()          # waits behind busy, in the worker
    assert started.wait(), "the first call never started"
    flare.cancel(queued)
    with pytest.raises(TaskCancelledError):
        flare.get(queued, timeout=30)
    # A running call of a sync actor is not interrupted (the actor's state
    # must not be torn), as in Ray.
    flare.cancel(busy)
    release.set()
    assert flare.get(busy, timeout=30) == "released"
    assert flare.get(counter.get.remote(), timeout=30) == 0, "the cancelled call ran"

    @flare.remote
    class Sleeper:
        def __init__(self):
            self.started = False
            self.cancelled = False

        async def sleep(self, seconds):
            self.started = True
            try:
                await asyncio.sleep(seconds)
            except asyncio.CancelledError:
                self.cancelled = True
                raise
            return seconds

        async def was_started(self):
            return self.started

        async def was_cancelled(self):
            return self.cancelled

    sleeper = Sleeper.remote()
    long_call = sleeper.sleep.remote(600)
    assert wait_for(lambda: flare.get(sleeper.was_started.remote(), timeout=30))
    flare.cancel(long_call)
    with pytest.raises(TaskCancelledError):
        flare.get(long_call, timeout=30)  # not the 600 s sleep's end: it was interrupted
    assert flare.get(sleeper.was_cancelled.remote(), timeout=10) is True
    assert flare.get(sleeper.sleep.remote(0.01), timeout=10) == 0.01


# ---- names -------------------------------------------------------------------------

def test_named_actor_lookup_duplicates_and_get_if_exists():
    named = Counter.options(name="shared-counter").remote(7)
    found = flare.get_actor("shared-counter")
    assert found == named
    assert flare.get(found.increment.remote(), timeout=30) == 8
    with pytest.raises(ValueError, match="already exists"):
        Counter.options(name="shared-counter").remote()
    again = Counter.options(name="shared-counter", get_if_exists=True).remote()
    assert flare.get(again.get.remote(), timeout=30) == 8
    with pytest.raises(ValueError, match="no-such-actor"):
        flare.get_actor("no-such-actor")
    with pytest.raises(ValueError):
        flare.get_actor("shared-counter", namespace="another-namespace")
    flare.kill(named)
    assert wait_for(lambda: _lookup_fails("shared-counter")), "a dead actor kept its name"
    renamed = Counter.options(name="shared-counter").remote(1)
    assert flare.get(flare.get_actor("shared-counter").get.remote(), timeout=30) == 1
    del renamed


def _lookup_fails(name):
    try:
        flare.get_actor(name)
    except ValueError:
        return True
    return False


def test_named_actor_is_found_from_a_task():
    keep = Counter.options(name="task-visible").remote(41)  # noqa: F841 - keeps it alive

    @flare.remote
    def find():
        return flare.get(flare.get_actor("task-visible").increment.remote())

    assert flare.get(find.remote(), timeout=30) == 42


def test_list_named_actors_of_the_namespace_or_of_all():
    from flare.util import list_named_actors
    here = Counter.options(name="listed-here").remote()
    there = Counter.options(name="listed-there", namespace="elsewhere").remote()
    unnamed = Counter.remote()  # noqa: F841 - unnamed actors are not listed
    names = list_named_actors()
    assert "listed-here" in names and "listed-there" not in names, names
    everywhere = list_named_actors(all_namespaces=True)
    assert {"namespace": "test-actors", "name": "listed-here"} in everywhere, everywhere
    assert {"namespace": "elsewhere", "name": "listed-there"} in everywhere, everywhere
    flare.kill(there)
    assert wait_for(lambda: {"namespace": "elsewhere", "name": "listed-there"} not in
                    list_named_actors(all_namespaces=True), 5), \
        "a dead actor is still listed"
    del here


def test_named_actor_from_get_actor_keeps_its_methods():
    keep = Counter.options(name="method-table").remote(2)  # noqa: F841 - keeps it alive
    found = flare.get_actor("method-table")
    assert flare.get(found.increment.remote(), timeout=30) == 3
    with pytest.raises(AttributeError, match="no method"):
        found.no_such_method


def test_two_drivers_find_the_same_named_actor(tmp_path):
    with private_head(num_cpus=2) as env:
        owner = start_driver("""
            import sys, flare
            flare.init(address="auto", namespace="shared")

            @flare.remote
            class Box:
                def __init__(self):
                    self.items = []
                def add(self, item):
                    self.items.append(item)
                    return len(self.items)
                def items_(self):
                    return self.items

            box = Box.options(name="box").remote()
            flare.get(box.add.remote("from-owner"))
            print("ready", flush=True)
            sys.stdin.readline()
            print(flare.get(box.items_.remote()), flush=True)
        """, env=env, stdin=subprocess.PIPE)
        assert owner.stdout.readline().strip() == "ready"
        other = run_script("""
            import flare
            flare.init(address="auto")
            box = flare.get_actor("box", namespace="shared")
            print(flare.get(box.add.remote("from-other")))
        """, env=env)
        assert other.returncode == 0, other.stderr
        assert other.stdout.strip() == "2"
        out, err = owner.communicate("\n", timeout=60)
        assert owner.returncode == 0, err
        assert out.strip() == "['from-owner', 'from-other']"
        # The owner is gone, and with it the last handle: the actor and its name go.
        gone = run_script("""
            import flare
            from conftest import wait_for

            def name_is_free():
                try:
                    flare.get_actor("box", namespace="shared")
                except ValueError:
                    return True
                return False

            flare.init(address="auto")
            print("gone" if wait_for(name_is_free) else "still there")
        """, env=env)
        assert gone.stdout.strip() == "gone", gone.stderr


# ---- lifetime and death ---------------------------------------------------------------

def test_kill_fails_the_running_and_pending_calls(events):
    counter = Counter.remote()
    pid = flare.get(counter.pid.remote(), timeout=30)
    started = events("started")
    running = counter.wait_for_event.remote(started, events("never-released"))
    pending = [counter.increment.remote() for _ in range(5)]
    assert started.wait(), "the first call never started"
    flare.kill(counter)
    # The running call is never released: only the kill can end it, and the calls behind it.
    for ref in [running, *pending]:
        with pytest.raises(ActorDiedError, match="kill"):
            flare.get(ref, timeout=30)
    with pytest.raises(ActorDiedError):
        flare.get(counter.increment.remote(), timeout=10)
    assert wait_for(lambda: process_gone(pid))
    with pytest.raises(TypeError, match="actor handle"):
        flare.kill("not a handle")


def test_actor_process_death_without_restarts_raises_actor_died():
    counter = Counter.remote()
    pid = flare.get(counter.pid.remote(), timeout=30)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(ActorDiedError, match="died"):
        flare.get(counter.increment.remote(), timeout=10)


def test_max_restarts_survives_one_exit_inside_a_method(tmp_path):
    @flare.remote(max_restarts=1)
    class Fragile:
        def __init__(self):
            self.calls = 0

        def crash(self):
            os._exit(1)

        def count(self):
            self.calls += 1
            return self.calls, os.getpid()

    fragile = Fragile.remote()
    _, first_pid = flare.get(fragile.count.remote(), timeout=30)
    with pytest.raises(ActorDiedError):   # in flight, max_task_retries=0
        flare.get(fragile.crash.remote(), timeout=30)
    calls, second_pid = flare.get(fragile.count.remote(), timeout=30)
    assert calls == 1 and second_pid != first_pid, "the restarted actor is a new instance"
    with pytest.raises(ActorDiedError):
        flare.get(fragile.crash.remote(), timeout=30)
    with pytest.raises(ActorDiedError):   # no restarts left
        flare.get(fragile.count.remote(), timeout=30)


def test_max_task_retries_resends_the_call_in_flight(tmp_path):
    marker = str(tmp_path / "crashed")

    @flare.remote(max_restarts=1, max_task_retries=1)
    class CrashOnce:
        def work(self, marker):
            if not os.path.exists(marker):
                open(marker, "w").close()
                os._exit(1)
            return "done on retry"

    actor = CrashOnce.remote()
    assert flare.get(actor.work.remote(marker), timeout=30) == "done on retry"


def test_actor_ends_when_its_last_handle_goes():
    counter = Counter.remote()
    pid = flare.get(counter.pid.remote(), timeout=30)
    del counter
    assert wait_for(lambda: process_gone(pid)), "the actor outlived every handle"


def test_pending_calls_finish_when_the_handle_is_dropped_right_away():
    ref = Counter.remote(1).increment.remote(1)
    assert flare.get(ref, timeout=30) == 2


def test_detached_actor_outlives_its_handles_until_killed():
    Counter.options(name="detached-one", lifetime="detached").remote(5)
    handle = flare.get_actor("detached-one")
    pid = flare.get(handle.pid.remote(), timeout=30)
    plain = Counter.remote()
    plain_pid = flare.get(plain.pid.remote(), timeout=30)
    del handle, plain
    # The plain actor whose handle went at the same time is gone; the detached one is not.
    assert wait_for(lambda: process_gone(plain_pid))
    assert not process_gone(pid)
    flare.kill(flare.get_actor("detached-one"))
    assert wait_for(lambda: process_gone(pid))


def test_actor_holds_only_the_resources_it_asked_for():
    before = flare.available_resources().get("CPU", 0)
    default = Counter.remote()
    flare.get(default.get.remote(), timeout=30)
    assert flare.available_resources().get("CPU", 0) == before
    pinned = Counter.options(num_cpus=1).remote()
    flare.get(pinned.get.remote(), timeout=30)
    assert flare.available_resources().get("CPU", 0) == before - 1
    flare.kill(pinned)
    assert wait_for(lambda: flare.available_resources().get("CPU", 0) == before)


def test_exit_actor_ends_it_without_restart_and_runs_atexit(tmp_path):
    marker = tmp_path / "atexit-ran"

    @flare.remote(max_restarts=2)
    class Leaver:
        def __init__(self, path):
            import atexit
            atexit.register(lambda: open(path, "w").close())

        def ping(self):
            return "pong"

        def leave(self):
            flare.actor.exit_actor()
            return "not reached"

    leaver = Leaver.remote(str(marker))
    assert flare.get(leaver.ping.remote(), timeout=30) == "pong"
    with pytest.raises(ActorDiedError, match="exit_actor"):
        flare.get(leaver.leave.remote(), timeout=30)
    # Not restarted, despite max_restarts: later calls fail at once.
    with pytest.raises(ActorDiedError, match="exit_actor"):
        flare.get(leaver.ping.remote(), timeout=10)
    assert wait_for(marker.exists), "the actor's atexit handlers did not run"


def test_exit_actor_outside_an_actor_is_a_type_error():
    with pytest.raises(TypeError, match="inside an actor"):
        flare.actor.exit_actor()

    @flare.remote
    def task():
        flare.actor.exit_actor()

    with pytest.raises(TypeError, match="inside an actor"):
        flare.get(task.remote(), timeout=30)


def test_exit_actor_from_an_async_method():
    @flare.remote
    class AsyncLeaver:
        async def leave(self):
            flare.actor.exit_actor()

        async def ping(self):
            return 1

    leaver = AsyncLeaver.remote()
    assert flare.get(leaver.ping.remote(), timeout=30) == 1
    with pytest.raises(ActorDiedError):
        flare.get(leaver.leave.remote(), timeout=30)
    with pytest.raises(ActorDiedError):
        flare.get(leaver.ping.remote(), timeout=10)


def test_ray_terminate_runs_after_the_calls_queued_before_it(events):
    @flare.remote
    class Slow:
        def work(self, i, release=None):
            if release is not None:
                release.wait_or_raise()
            return i

    release = events("release")
    slow = Slow.remote()
    works = [slow.work.remote(0, release)] + [slow.work.remote(i) for i in range(1, 5)]
    slow.__ray_terminate__.remote()  # queued while the first call is held
    release.set()
    assert flare.get(works, timeout=30) == list(range(5))
    with pytest.raises(ActorDiedError):
        flare.get(slow.work.remote(9), timeout=10)


# ---- concurrency groups ---------------------------------------------------------------

def test_concurrency_groups_of_a_threaded_actor_run_beside_the_default_group():
    @flare.remote(concurrency_groups={"io": 2})
    class Gate:
        def __init__(self):
            self.opened = threading.Event()
            self.lock = threading.Lock()
            self.inside = 0
            self.most = 0

        @flare.method(concurrency_group="io")
        def wait_open(self):
            with self.lock:
                self.inside += 1
                self.most = max(self.most, self.inside)
            opened = self.opened.wait(10)
            with self.lock:
                self.inside -= 1
            return opened

        def open(self):  # the default group: one call at a time, beside "io"
            self.opened.set()
            return True

        def most_inside(self):
            return self.most

    gate = Gate.remote()
    waiting = [gate.wait_open.remote() for _ in range(3)]
    assert flare.get(gate.open.remote(), timeout=30)
    assert flare.get(waiting, timeout=30) == [True, True, True]
    assert flare.get(gate.most_inside.remote(), timeout=30) == 2  # the group's limit


def test_concurrency_groups_of_an_async_actor():
    @flare.remote(concurrency_groups={"io": 1})
    class AsyncGate:
        def __init__(self):
            self.opened = None
            self.waiting = 0

        @flare.method(concurrency_group="io")
        async def wait_open(self):
            self.opened = self.opened or asyncio.Event()
            self.waiting += 1
            await asyncio.wait_for(self.opened.wait(), 60)
            return "through"

        async def how_many_wait(self):
            return self.waiting

        async def open(self):
            self.opened = self.opened or asyncio.Event()
            self.opened.set()

    gate = AsyncGate.remote()
    first = gate.wait_open.remote()
    # The default group answers while "io" holds its one call.
    assert wait_for(lambda: flare.get(gate.how_many_wait.remote(), timeout=30) == 1)
    flare.get(gate.open.remote(), timeout=30)
    assert flare.get([first, gate.wait_open.remote()], timeout=30) == ["through"] * 2


def test_an_undefined_concurrency_group_is_a_clear_error():
    @flare.remote
    class Grouped:
        @flare.method(concurrency_group="missing")
        def work(self):
            return 1

    with pytest.raises(ValueError, match="missing"):
        Grouped.remote()
    with pytest.raises(ValueError, match="positive"):
        Grouped.options(concurrency_groups={"missing": 0}).remote()


def test_each_call_of_an_async_actor_sees_its_own_task_id():
    @flare.remote
    class Ids:
        def __init__(self):
            self.second_ran = asyncio.Event()

        async def my_task_id(self, first):
            before = flare.get_runtime_context().get_task_id()
            if first:  # the second call runs whole while this one awaits
                await asyncio.wait_for(self.second_ran.wait(), 60)
            else:
                self.second_ran.set()
            return before, flare.get_runtime_context().get_task_id()

    ids = Ids.remote()
    slow, fast = ids.my_task_id.remote(True), ids.my_task_id.remote(False)
    for ref in (slow, fast):
        before, after = flare.get(ref, timeout=30)
        assert before == after == ref.task_id().hex()
