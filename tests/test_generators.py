"""Streaming generator tasks: refs as values are yielded, errors, cancel, memory."""

from __future__ import annotations

import asyncio
import gc
import os
import time

import numpy as np
import pytest

import flare
from flare.exceptions import TaskCancelledError, TaskError, WorkerCrashedError

from conftest import FileEvent, wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", autouse=True)
def runtime():
    flare.init(num_cpus=2, object_store_memory=2**30)
    yield
    flare.shutdown()


def settled_objects() -> int:
    gc.collect()
    wait_for(lambda: flare.object_store_stats()["num_objects"] == 0)
    return flare.object_store_stats()["num_objects"]


@flare.remote
def count_to(n):
    yield from range(n)


@flare.remote
def count_through_gates(gates):
    """Yields i once gates[i] is set: the test decides when each item comes."""
    for i, gate in enumerate(gates):
        gate.wait_or_raise()
        yield i


def test_first_ref_arrives_before_the_task_ends(events):
    gates = [events(f"item-{i}") for i in range(4)]
    gen = count_through_gates.remote(gates)
    # .remote() returned while the generator waits at its first, closed gate.
    assert isinstance(gen, flare.ObjectRefGenerator)
    values = []
    for i, gate in enumerate(gates):
        gate.set()
        values.append(flare.get(next(gen), timeout=60))
        if i + 1 < len(gates):  # item i came while the generator waits at gate i + 1
            assert flare.wait([gen.completed()], timeout=0)[0] == [], "the task already ended"
    assert values == [0, 1, 2, 3]
    assert flare.get(gen.completed(), timeout=60) == 4
    with pytest.raises(StopIteration):
        next(gen)
    del gen
    assert settled_objects() == 0


def test_exception_surfaces_after_the_last_good_item():
    @flare.remote
    def fails_after_two():
        yield "a"
        yield "b"
        raise ValueError("third went wrong")

    refs = list(fails_after_two.remote())
    assert len(refs) == 3
    assert flare.get(refs[:2], timeout=10) == ["a", "b"]
    with pytest.raises(ValueError, match="third went wrong") as info:
        flare.get(refs[2], timeout=10)
    assert isinstance(info.value, TaskError)


def test_num_returns_on_a_generator_gives_plain_refs():
    @flare.remote(num_returns=3)
    def three():
        yield from (1, 2, 3)

    assert flare.get(three.remote(), timeout=10) == [1, 2, 3]
    a, b = three.options(num_returns=2).remote()
    with pytest.raises(ValueError, match="num_returns=2"):
        flare.get(a, timeout=10)


def test_next_wait_and_completed(events):
    gates = [events(f"item-{i}") for i in range(3)]
    gen = count_through_gates.remote(gates)
    ready, not_ready = flare.wait([gen], timeout=0.05)  # the first gate is closed
    assert ready == [] and not_ready == [gen]
    for gate in gates:
        gate.set()
    ready, _ = flare.wait([gen], timeout=60)
    assert ready == [gen]
    assert flare.get(next(gen), timeout=10) == 0
    finished, _ = flare.wait([gen.completed()], timeout=10)
    assert finished == [gen.completed()]
    assert [flare.get(ref) for ref in gen] == [1, 2]


def test_async_for_over_a_generator():
    async def consume():
        return [await ref async for ref in count_to.remote(5)]
    assert asyncio.run(consume()) == [0, 1, 2, 3, 4]
    # Nothing (the resolver thread included) keeps an awaited item alive.
    assert settled_objects() == 0


def test_cancel_stops_the_generator_between_yields(tmp_path):
    marker = str(tmp_path / "progress")

    @flare.remote
    def endless(path):
        i = written = 0
        try:
            while True:
                with open(path, "w") as f:
                    f.write(str(i))
                written = i
                yield i
                i += 1
                time.sleep(0.05)
        finally:
            with open(path + ".stopped", "w") as f:
                f.write(str(written))

    gen = endless.remote(marker)
    assert flare.get(next(gen), timeout=10) == 0
    flare.cancel(gen)
    with pytest.raises(TaskCancelledError):
        for ref in gen:
            flare.get(ref, timeout=10)
    # The generator left its loop (its finally ran) and wrote nothing more.
    assert wait_for(lambda: os.path.exists(marker + ".stopped")), \
        "the generator kept running after cancel"
    # (The cancel may land between writing the progress file and noting
    # it, so the two may differ by the one item in between.)
    with open(marker) as progress, open(marker + ".stopped") as stopped:
        assert int(progress.read()) - int(stopped.read()) in (0, 1)
    gen = ref = None
    assert settled_objects() == 0


def test_consumed_items_are_freed_while_it_runs():
    # 50 x 100 MiB through a 1 GiB store: only what the caller holds stays.
    @flare.remote
    def big_arrays(n):
        for i in range(n):
            yield np.full(100 * 2**20, i % 251, dtype=np.uint8)

    total = 0
    for ref in big_arrays.remote(50):
        array = flare.get(ref, timeout=60)
        total += int(array[0])
        del array, ref
    assert total == sum(i % 251 for i in range(50))
    assert settled_objects() == 0


def test_dropping_a_generator_early_frees_its_items():
    gen = count_to.remote(20)
    first = flare.get(next(gen), timeout=10)
    assert first == 0
    flare.get(gen.completed(), timeout=10)
    del gen
    assert settled_objects() == 0


def test_crash_before_any_item_is_retried_after_an_item_it_raises(tmp_path):
    marker = str(tmp_path / "crashed")

    @flare.remote(max_retries=1)
    def crash_first(path):
        if not os.path.exists(path):
            open(path, "w").close()
            os._exit(1)
        yield "after retry"

    assert [flare.get(ref, timeout=30) for ref in crash_first.remote(marker)] == ["after retry"]

    @flare.remote(max_retries=3)
    def crash_midway(gate):
        yield 1
        gate.wait_or_raise()  # the caller has the first item
        os._exit(1)

    gate = FileEvent(tmp_path / "first-item-read")
    gen = crash_midway.remote(gate)
    assert flare.get(next(gen), timeout=30) == 1
    gate.set()
    with pytest.raises(WorkerCrashedError, match="yielded"):
        flare.get(next(gen), timeout=30)
    with pytest.raises(StopIteration):
        next(gen)


def test_actor_generator_method():
    @flare.remote
    class Source:
        def __init__(self, prefix):
            self.prefix = prefix

        def stream(self, n):
            for i in range(n):
                yield f"{self.prefix}{i}"

    source = Source.remote("item-")
    assert [flare.get(ref) for ref in source.stream.remote(3)] == ["item-0", "item-1", "item-2"]


def test_generator_cannot_be_pickled():
    gen = count_to.remote(1)
    with pytest.raises(TypeError, match="ObjectRefGenerator"):
        flare.put(gen)
    list(gen)


def test_async_generator_task_streams_items():
    @flare.remote
    async def ticks(n):
        for i in range(n):
            await asyncio.sleep(0.01)
            yield i
        raise ValueError("after the last tick")

    gen = ticks.remote(3)
    refs = list(gen)
    assert [flare.get(ref, timeout=30) for ref in refs[:3]] == [0, 1, 2]
    with pytest.raises(ValueError, match="after the last tick"):
        flare.get(refs[3], timeout=30)


def test_async_generator_method_lets_other_calls_run_and_can_be_cancelled():
    @flare.remote
    class Streamer:
        def __init__(self):
            self.pings = 0

        async def stream(self, n):
            for i in range(n):
                await asyncio.sleep(0.05)
                yield i

        async def ping(self):
            self.pings += 1
            return self.pings

    streamer = Streamer.remote()
    gen = streamer.stream.remote(1000)
    assert flare.get(next(gen), timeout=30) == 0
    # The generator awaits between items: another call gets through meanwhile.
    assert flare.get(streamer.ping.remote(), timeout=10) == 1
    flare.cancel(gen)
    with pytest.raises(TaskCancelledError):
        for ref in gen:
            flare.get(ref, timeout=10)
    assert flare.get(streamer.ping.remote(), timeout=10) == 2  # the actor serves on
    gen = ref = streamer = None
    assert settled_objects() == 0


def test_cancel_stops_a_sync_actors_generator_between_items():
    @flare.remote
    class Producer:
        def items(self, n):
            for i in range(n):
                time.sleep(0.05)
                yield i

        def ping(self):
            return "pong"

    producer = Producer.remote()
    gen = producer.items.remote(1000)  # 50 s if it ran to the end
    assert flare.get(next(gen), timeout=30) == 0
    flare.cancel(gen)
    with pytest.raises(TaskCancelledError):
        for ref in gen:
            flare.get(ref, timeout=10)
    assert flare.get(producer.ping.remote(), timeout=10) == "pong"
