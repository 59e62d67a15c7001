"""Objects are freed when nothing refers to them any more."""

from __future__ import annotations

import gc
import time

import numpy as np

import flare


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def store_used():
    return flare.object_store_stats()["used"]


@flare.remote
def make_array(n):
    return np.ones(n, dtype=np.uint8)


@flare.remote
def total(array):
    return int(array.sum())


def test_put_and_drop_loop_keeps_the_arena_flat(flare_2cpu):
    baseline = store_used()
    array = np.ones(50 * 2**20, dtype=np.uint8)
    for _ in range(30):  # 1.5 GiB through a 512 MiB store
        ref = flare.put(array)
        del ref
    assert wait_for(lambda: store_used() == baseline), \
        f"arena holds {store_used() - baseline} bytes after every ref was dropped"


def test_value_from_get_keeps_memory_until_the_array_is_gone(flare_2cpu):
    baseline = store_used()
    ref = flare.put(np.ones(10 * 2**20, dtype=np.uint8))
    array = flare.get(ref)
    del ref
    gc.collect()
    time.sleep(0.1)
    assert store_used() > baseline  # the array still views the arena
    assert array.sum() == 10 * 2**20
    del array
    assert wait_for(lambda: store_used() == baseline)


def test_task_results_and_arguments_are_freed(flare_2cpu):
    baseline = store_used()
    refs = [make_array.remote(2**20) for _ in range(20)]
    sums = flare.get([total.remote(ref) for ref in refs])
    assert sums == [2**20] * 20
    del refs
    assert wait_for(lambda: store_used() == baseline)
    assert wait_for(lambda: flare.object_store_stats()["num_tasks"] == 0)


def test_refs_nested_in_a_stored_object_keep_their_objects_alive(flare_2cpu):
    inner = flare.put(np.arange(200_000))
    outer = flare.put({"inner": inner})
    inner_id = inner.hex()
    del inner
    gc.collect()
    time.sleep(0.1)
    restored = flare.get(outer)["inner"]
    assert restored.hex() == inner_id
    assert flare.get(restored)[-1] == 199_999


def test_many_small_tasks_leave_nothing_behind(flare_2cpu):
    @flare.remote
    def one():
        return 1

    baseline = flare.object_store_stats()
    for _ in range(5):
        assert sum(flare.get([one.remote() for _ in range(2000)])) == 2000
    stats = None

    def settled():
        nonlocal stats
        stats = flare.object_store_stats()
        return (stats["num_objects"] <= baseline["num_objects"]
                and stats["num_tasks"] == 0)

    assert wait_for(settled), f"left behind: {stats} (baseline {baseline})"
