"""Idle processes sleep: an idle worker, actor or driver is woken only by
something that happened (a message, a signal, its own deadline), never by a
timer of its own.

Wake-ups are counted, not timed: the context switches of every thread of a
process (/proc/<pid>/task/*/status) over a window in which nothing is sent
to it. A process that polled every 5 or 50 ms would switch hundreds of times
in that window; a sleeping one switches a handful of times at most (the
window's length only has to be long enough for a poller to show)."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import flare
from conftest import NEVER, FileEvent, start_driver, wait_for

pytestmark = pytest.mark.timeout(120)

# The window in which an idle process is watched, and the most context
# switches (all its threads together) a sleeping process may show in it.
# Before processes slept, an idle actor showed ~220 a second.
WINDOW_S = 2.0
MAX_SWITCHES = 10


def context_switches(pid: int) -> int:
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as fh:
                for line in fh:
                    if "ctxt_switches" in line:  # voluntary_ and nonvoluntary_
                        total += int(line.split()[1])
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return total


def switches_while_idle(pids: dict) -> dict:
    """Context switches of each process of ``pids`` (name -> pid) over the
    window, during which this process sends nothing."""
    before = {name: context_switches(pid) for name, pid in pids.items()}
    time.sleep(WINDOW_S)
    return {name: context_switches(pid) - before[name] for name, pid in pids.items()}


@flare.remote
def worker_pid() -> int:
    return os.getpid()


@flare.remote
class Plain:
    def pid(self) -> int:
        return os.getpid()


@flare.remote
class Async:
    async def pid(self) -> int:
        return os.getpid()


@flare.remote(max_concurrency=4)
class Threaded:
    def pid(self) -> int:
        return os.getpid()


def test_idle_workers_and_actors_of_every_kind_do_not_wake_up(fresh_flare):
    fresh_flare(num_cpus=2)
    actors = {"plain actor": Plain.remote(), "async actor": Async.remote(),
              "threaded actor": Threaded.remote()}
    pids = {name: pid for name, pid in
            zip(actors, flare.get([actor.pid.remote() for actor in actors.values()]))}
    pids["task worker"] = flare.get(worker_pid.remote())
    switches = switches_while_idle(pids)
    busy = {name: count for name, count in switches.items() if count > MAX_SWITCHES}
    assert not busy, (f"idle processes woke up (context switches in {WINDOW_S} s, at most "
                      f"{MAX_SWITCHES} expected): {busy}")


def test_a_driver_waiting_in_get_does_not_wake_up_and_ctrl_c_still_interrupts_it(tmp_path):
    started = FileEvent(tmp_path / "started")
    process = start_driver(f"""
        import time, flare
        from conftest import FileEvent
        flare.init(num_cpus=1)

        @flare.remote
        def forever(started):
            started.set()
            time.sleep(600)

        ref = forever.remote(FileEvent({started.path!r}))
        print("waiting", flush=True)
        try:
            flare.get(ref)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        flare.cancel(ref)
    """)
    try:
        assert process.stdout.readline().strip() == "waiting"
        assert started.wait(), "the driver's task never started"
        # The driver is in its get, or about to be: the window starts once its
        # main thread sleeps in the wait.
        assert wait_for(lambda: _sleeping(process.pid), NEVER)
        switches = switches_while_idle({"driver": process.pid})["driver"]
        assert switches <= MAX_SWITCHES, (
            f"a driver waiting in get switched {switches} times in {WINDOW_S} s "
            f"(at most {MAX_SWITCHES} expected): it polls")
        process.send_signal(signal.SIGINT)
        assert process.stdout.readline().strip() == "interrupted", "Ctrl-C did not end the get"
        _, err = process.communicate(timeout=NEVER)
        assert process.returncode == 0, err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _sleeping(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0] == "S"


@flare.remote
class Holder:
    """Holds a ref to a stored array and drops it from a thread of its own,
    after its call returned: nothing is sent after the drop, so only the
    client's deferred-update timer can tell the raylet."""

    def __init__(self) -> None:
        self.ref = flare.put(np.zeros(8 * 2**20, dtype=np.uint8))

    def drop_when(self, event: FileEvent) -> None:
        def drop() -> None:
            event.wait()
            self.ref = None
        threading.Thread(target=drop, daemon=True).start()


def test_a_dropped_ref_reaches_the_raylet_without_any_further_message(fresh_flare, tmp_path):
    fresh_flare(num_cpus=1)
    baseline = flare.object_store_stats()["used"]
    holder = Holder.remote()
    drop = FileEvent(tmp_path / "drop")
    flare.get(holder.drop_when.remote(drop))
    assert flare.object_store_stats()["used"] >= baseline + 8 * 2**20
    drop.set()
    assert wait_for(lambda: flare.object_store_stats()["used"] <= baseline, NEVER), \
        "the array a sleeping actor dropped was never freed: its deferred update stayed queued"
