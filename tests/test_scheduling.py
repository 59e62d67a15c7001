"""Scheduling as Ray users see it: placement in submission order, and the
`memory` resource."""

from __future__ import annotations

import os
import time

import pytest

import flare
from flare.exceptions import TaskUnschedulableError

from conftest import wait_for

pytestmark = pytest.mark.timeout(120)


def test_actor_created_before_tasks_is_placed_before_them(fresh_flare, tmp_path):
    # The seeds' Monte Carlo π with a progress actor: tasks report to an actor
    # created before them. Each task waits (up to a bound it should never
    # reach) until the actor has served a call; if the actor were placed only
    # after the tasks, no call would be served while tasks still start.
    fresh_flare(num_cpus=2)
    log, served = tmp_path / "order.log", tmp_path / "served"

    def note(line):
        with open(log, "a") as out:
            out.write(line + "\n")

    @flare.remote
    class Progress:
        def report(self, i):
            note(f"call {i}")
            served.touch()

    @flare.remote
    def sample(i, progress):
        note(f"start {i}")
        progress.report.remote(i)
        wait_for(served.exists, timeout=30)
        return i

    progress = Progress.remote()
    assert flare.get([sample.remote(i, progress) for i in range(6)]) == list(range(6))
    flare.get(progress.report.remote("last"))
    lines = log.read_text().splitlines()
    first_call = next(n for n, line in enumerate(lines) if line.startswith("call"))
    last_start = max(n for n, line in enumerate(lines) if line.startswith("start"))
    assert first_call < last_start, (
        "the actor created first served no call before the last task started:\n" +
        "\n".join(lines))


def test_nodes_advertise_memory_and_object_store_memory(fresh_flare):
    fresh_flare(object_store_memory=256 * 2**20)
    total = flare.cluster_resources()
    assert total["object_store_memory"] == 256 * 2**20
    assert total["object_store_memory"] == flare.object_store_stats()["capacity"]
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert 0 < total["memory"] <= physical - total["object_store_memory"], total
    assert flare.available_resources()["memory"] == total["memory"]


def test_init_memory_is_exact_in_bytes_and_not_a_custom_resource(fresh_flare):
    with pytest.raises(ValueError, match="_memory"):
        flare.init(resources={"memory": 10**9})
    with pytest.raises(ValueError, match="object_store_memory"):
        flare.init(resources={"object_store_memory": 10**9})
    fresh_flare(_memory=12_345_678_901)
    assert flare.cluster_resources()["memory"] == 12_345_678_901


def test_memory_limits_how_many_tasks_run_at_once(fresh_flare):
    # Ray's "limit running tasks by memory" pattern: 4 CPUs, but memory for 3.
    fresh_flare(num_cpus=4, _memory=3 * 10**9)

    @flare.remote(num_cpus=0)
    class Gauge:
        def __init__(self):
            self.running = self.peak = self.entered = 0

        def enter(self):
            self.running += 1
            self.entered += 1
            self.peak = max(self.peak, self.running)

        def leave(self):
            self.running -= 1

        def state(self):
            return self.entered, self.peak

    @flare.remote(memory=10**9)
    def work(gauge):
        flare.get(gauge.enter.remote())
        # The first three wait for each other, so the peak reaches the limit.
        while flare.get(gauge.state.remote())[0] < 3:
            time.sleep(0.01)
        flare.get(gauge.leave.remote())

    gauge = Gauge.remote()
    flare.get([work.remote(gauge) for _ in range(8)])
    entered, peak = flare.get(gauge.state.remote())
    assert entered == 8
    assert peak == 3, f"{peak} tasks of memory=1e9 ran at once on a node with 3e9"
    assert flare.available_resources()["memory"] == 3 * 10**9


def test_more_memory_than_the_node_has_is_infeasible(fresh_flare):
    fresh_flare(_memory=10**9)

    @flare.remote
    def f():
        return 1

    with pytest.raises(TaskUnschedulableError, match="memory"):
        flare.get(f.options(memory=2 * 10**9).remote())

    @flare.remote
    class Big:
        def ping(self):
            return 1

    with pytest.raises(Exception, match="memory"):
        flare.get(Big.options(memory=2 * 10**9).remote().ping.remote())
    assert flare.get(f.options(memory=10**9).remote()) == 1


def test_an_actor_holds_its_memory_for_life(fresh_flare):
    fresh_flare(_memory=10**9)

    @flare.remote(memory=4 * 10**8)
    class Holder:
        def ping(self):
            return 1

    holder = Holder.remote()
    flare.get(holder.ping.remote())
    assert flare.available_resources()["memory"] == 6 * 10**8
    flare.kill(holder)
