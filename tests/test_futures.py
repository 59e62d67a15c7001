"""ObjectRefs in asyncio and concurrent.futures code: await ref, gather, ref.future()."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time

import pytest

import flare
from flare.exceptions import TaskError

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", autouse=True)
def runtime():
    flare.init(num_cpus=2, object_store_memory=256 * 2**20)
    yield
    flare.shutdown()


@flare.remote
def square(x):
    return x * x


@flare.remote
def slow(x, seconds):
    time.sleep(seconds)
    return x


@flare.remote
def fail():
    raise KeyError("missing")


def test_await_a_ref_in_async_code():
    async def main():
        return await square.remote(7)
    assert asyncio.run(main()) == 49


def test_gather_over_100_refs():
    async def main():
        refs = [square.remote(i) for i in range(100)]
        return await asyncio.gather(*refs)
    assert asyncio.run(main()) == [i * i for i in range(100)]


def test_awaits_interleave_with_other_coroutines():
    async def main():
        ticks = []

        async def ticker():
            for _ in range(5):
                ticks.append(time.monotonic())
                await asyncio.sleep(0.05)

        value, _ = await asyncio.gather(slow.remote("done", 0.5), ticker())
        return value, ticks
    value, ticks = asyncio.run(main())
    assert value == "done"
    assert len(ticks) == 5 and ticks[-1] - ticks[0] < 0.45, "the loop was blocked by await"


def test_await_raises_the_tasks_exception():
    async def main():
        await fail.remote()
    with pytest.raises(KeyError) as info:
        asyncio.run(main())
    assert isinstance(info.value, TaskError)


def test_future_gives_value_and_exception():
    future = square.remote(3).future()
    assert isinstance(future, concurrent.futures.Future)
    assert future.result(timeout=30) == 9
    failing = fail.remote().future()
    with pytest.raises(KeyError):
        failing.result(timeout=30)
    ready_ref = flare.put("already here")
    assert ready_ref.future().result(timeout=5) == "already here"


def test_futures_work_with_concurrent_futures_helpers():
    # On 2 CPUs: 1 ends at 0.1 s, then 2 (started at 0.1 s) at 0.4 s, 0 at 0.6 s.
    refs = [slow.remote(i, seconds) for i, seconds in enumerate((0.6, 0.1, 0.3))]
    futures = {ref.future(): i for i, ref in enumerate(refs)}
    order = [futures[f] for f in concurrent.futures.as_completed(futures, timeout=30)]
    assert order == [1, 2, 0], "futures did not complete in completion order"
    # get and wait keep working alongside.
    assert flare.get(refs, timeout=30) == [0, 1, 2]
    ready, _ = flare.wait(refs, num_returns=3, timeout=30)
    assert len(ready) == 3


def test_await_inside_an_async_actor_and_a_task():
    @flare.remote
    class Aggregator:
        async def total(self, n):
            values = await asyncio.gather(*[square.remote(i) for i in range(n)])
            return sum(values)

    aggregator = Aggregator.remote()
    assert flare.get(aggregator.total.remote(10), timeout=30) == sum(i * i for i in range(10))

    @flare.remote
    def uses_future(x):
        return square.remote(x).future().result(timeout=30)

    assert flare.get(uses_future.remote(5), timeout=30) == 25
