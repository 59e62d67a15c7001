"""ObjectRefs in asyncio and concurrent.futures code: await ref, gather, ref.future()."""

from __future__ import annotations

import asyncio
import concurrent.futures

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
def when_set(event, x):
    event.wait_or_raise()
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


def test_awaits_interleave_with_other_coroutines(events):
    release = events("release")

    async def main():
        order = []

        async def awaiting():
            value = await when_set.remote(release, "done")
            order.append("await returned")
            return value

        async def releaser():
            await asyncio.sleep(0)  # let the await above start first
            order.append("other coroutine ran")
            release.set()  # the only way the awaited task can finish

        value, _ = await asyncio.gather(awaiting(), releaser())
        return value, order
    value, order = asyncio.run(main())
    assert value == "done"
    assert order == ["other coroutine ran", "await returned"], "the loop was blocked by await"


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


def test_futures_work_with_concurrent_futures_helpers(events):
    gates = [events(f"task-{i}") for i in range(3)]
    refs = [when_set.remote(gate, i) for i, gate in enumerate(gates)]
    futures = {ref.future(): i for i, ref in enumerate(refs)}
    let_finish = iter([1, 2, 0])  # each task is let finish once the one before is seen
    gates[next(let_finish)].set()
    order = []
    for future in concurrent.futures.as_completed(futures, timeout=60):
        order.append(futures[future])
        following = next(let_finish, None)
        if following is not None:
            gates[following].set()
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
