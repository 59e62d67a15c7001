"""flare.util: ActorPool, as_completed, map_unordered and the shared Queue."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import flare
from flare.util import ActorPool, as_completed, map_unordered
from flare.util.queue import Empty, Full, Queue

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", autouse=True)
def runtime():
    flare.init(num_cpus=2, object_store_memory=128 * 2**20)
    yield
    flare.shutdown()


@flare.remote
class Doubler:
    def double(self, value, delay=0.0):
        time.sleep(delay)
        return 2 * value

    def double_when_set(self, value, event):
        event.wait_or_raise()
        return 2 * value

    def pid(self):
        import os
        return os.getpid()


@flare.remote
def when_set(event, value):
    event.wait_or_raise()
    return value


@flare.remote
def mark_then_pass(item):
    started, gate, value = item
    started.set()
    gate.wait_or_raise()
    return value


def test_actor_pool_map_keeps_order_and_uses_every_actor():
    actors = [Doubler.remote(), Doubler.remote()]
    pool = ActorPool(actors)
    values = list(range(12))
    # Later values finish first: map must still give submission order.
    results = list(pool.map(lambda a, v: a.double.remote(v, 0.02 * (v % 3)), values))
    assert results == [2 * v for v in values]
    pids = set(pool.map(lambda a, _: a.pid.remote(), range(6)))
    assert len(pids) == 2


def test_actor_pool_map_unordered_and_single_submits():
    pool = ActorPool([Doubler.remote(), Doubler.remote()])
    assert sorted(pool.map_unordered(lambda a, v: a.double.remote(v), range(8))) == \
        [2 * v for v in range(8)]
    for v in range(5):  # more than there are actors: the rest wait in the pool
        pool.submit(lambda a, v: a.double.remote(v), v)
    assert not pool.has_free()
    assert [pool.get_next() for _ in range(5)] == [0, 2, 4, 6, 8]
    assert not pool.has_next() and pool.has_free()
    with pytest.raises(StopIteration):
        pool.get_next()


def test_actor_pool_timeout_push_and_pop(events):
    release = events("release")
    pool = ActorPool([Doubler.remote()])
    pool.submit(lambda a, v: a.double_when_set.remote(v, release), 1)
    with pytest.raises(TimeoutError):
        pool.get_next(timeout=0.05)  # the call waits for its release
    release.set()
    assert pool.get_next(timeout=60) == 2  # still there after a timeout
    extra = Doubler.remote()
    pool.push(extra)
    with pytest.raises(ValueError, match="already"):
        pool.push(extra)
    assert pool.pop_idle() is not None and pool.pop_idle() is not None
    assert pool.pop_idle() is None
    with pytest.raises(TypeError, match="ObjectRef"):
        ActorPool([Doubler.remote()]).submit(lambda a, v: v, 1)


@pytest.mark.parametrize("yield_obj_refs", [False, True])
def test_as_completed_yields_in_completion_order(events, yield_obj_refs):
    first, second = events("first"), events("second")
    refs = [when_set.remote(first, "first"), when_set.remote(second, "second")]
    second.set()  # the second task is let finish first; the first waits until it is seen
    completed = as_completed(refs, chunk_size=1, yield_obj_refs=yield_obj_refs)
    assert next(completed) == (refs[1] if yield_obj_refs else "second")
    first.set()
    assert list(completed) == ([refs[0]] if yield_obj_refs else ["first"])
    with pytest.raises(ValueError, match="chunk_size"):
        list(as_completed(refs, chunk_size=0))


def test_map_unordered_applies_backpressure(events):
    started = [events(f"started-{i}") for i in range(4)]
    gates = [events(f"gate-{i}") for i in range(4)]
    for gate in gates[1:]:
        gate.set()  # item 0 is held until the test lets it go
    results = map_unordered(mark_then_pass, [(started[i], gates[i], i) for i in range(4)],
                            backpressure_size=2, chunk_size=1)
    assert next(results) == 1
    # Two were in flight: the third item was not submitted before a result came back.
    assert not started[2].is_set(), "more than backpressure_size items were in flight"
    gates[0].set()
    assert sorted([1, *results]) == [0, 1, 2, 3]
    with pytest.raises(TypeError, match="remote function"):
        list(map_unordered(len, [1]))


def test_queue_put_get_bounds_and_timeouts():
    queue = Queue(maxsize=2)
    queue.put(1)
    queue.put_nowait(2)
    assert queue.full() and queue.qsize() == 2
    with pytest.raises(Full):
        queue.put_nowait(3)
    with pytest.raises(Full):
        queue.put(3, timeout=0.2)  # nobody makes room
    # A blocking put waits until a get makes room, then goes in.
    blocked_put = threading.Thread(target=queue.put, args=(3,), kwargs={"timeout": 60})
    blocked_put.start()
    assert queue.get() == 1
    blocked_put.join(60)
    assert not blocked_put.is_alive()
    assert queue.get_nowait() == 2 and queue.get_nowait() == 3
    assert queue.empty() and len(queue) == 0
    with pytest.raises(Empty):
        queue.get(timeout=0.1)
    with pytest.raises(Empty):
        queue.get_nowait()
    queue.put_nowait_batch([7, 8])
    with pytest.raises(Full):
        queue.put_nowait_batch([9, 10])
    assert queue.get_nowait_batch(2) == [7, 8]
    with pytest.raises(Empty):
        queue.get_nowait_batch(1)
    queue.shutdown()


def test_queue_is_shared_by_tasks_and_async_code():
    queue = Queue()

    @flare.remote
    def produce(q, n):
        for i in range(n):
            q.put(i)

    @flare.remote
    def consume(q, n):
        return [q.get(timeout=30) for _ in range(n)]

    consumer = consume.remote(queue, 20)  # blocks in the actor until items come
    produce.remote(queue, 20)
    assert flare.get(consumer, timeout=60) == list(range(20))

    async def round_trip():
        await queue.put_async("x")
        return await queue.get_async(timeout=10)
    assert asyncio.run(round_trip()) == "x"
    queue.shutdown()
