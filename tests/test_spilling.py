"""Spilling: when the arena is full, objects nobody is reading go to disk and
come back when read, so more can be held than the store has room for."""

from __future__ import annotations

import gc
import glob
import os

import numpy as np
import pytest

import flare
from flare import exceptions

from conftest import wait_for

pytestmark = pytest.mark.timeout(120)

MIB = 2**20


@pytest.fixture(scope="module", autouse=True)
def runtime():
    flare.init(num_cpus=2, object_store_memory=320 * MIB)
    yield
    flare.shutdown()


def spill_files():
    session_dir = flare.api._session().node.session_dir
    return glob.glob(os.path.join(session_dir, "spill", "*"))


def settle(predicate, timeout=10):
    def collected_then():
        gc.collect()
        return predicate()
    return wait_for(collected_then, timeout)


def test_more_objects_than_the_store_holds_spill_and_come_back():
    refs = [flare.put(np.full(60 * MIB, i, dtype=np.uint8)) for i in range(10)]  # 600 MiB
    assert spill_files(), "nothing was spilled"
    assert flare.object_store_stats()["used"] <= 320 * MIB
    for i, ref in enumerate(refs):
        value = flare.get(ref, timeout=60)
        assert value[0] == i and value[-1] == i
        del value

    @flare.remote
    def ends(array):
        return int(array[0]), int(array[-1])

    assert flare.get([ends.remote(ref) for ref in refs], timeout=60) == [(i, i) for i in range(10)]
    del refs, ref
    assert settle(lambda: not spill_files()), "spill files outlived their objects"
    assert settle(lambda: flare.object_store_stats()["num_objects"] == 0)


def test_values_being_read_are_never_spilled():
    held = [flare.get(flare.put(np.full(100 * MIB, i, dtype=np.uint8))) for i in range(3)]
    with pytest.raises(exceptions.ObjectStoreFullError):
        flare.put(np.zeros(100 * MIB, dtype=np.uint8))
    assert [int(array[0]) for array in held] == [0, 1, 2]  # untouched
    del held
    gc.collect()
    assert flare.get(flare.put(np.ones(100 * MIB, dtype=np.uint8)), timeout=30).sum() == 100 * MIB


def test_task_results_spill_too():
    @flare.remote
    def block(i):
        return np.full(50 * MIB, i, dtype=np.uint8)

    refs = [block.remote(i) for i in range(12)]  # 600 MiB of results
    assert [int(flare.get(ref, timeout=60)[7]) for ref in refs] == list(range(12))


def test_a_spilled_object_whose_file_is_gone_raises_object_lost_not_garbage():
    refs = [flare.put(np.full(60 * MIB, i, dtype=np.uint8)) for i in range(8)]  # 480 MiB
    spilled = {os.path.basename(path) for path in spill_files()}
    assert spilled, "nothing was spilled"
    victim = next(ref for ref in refs if ref.hex() in spilled)
    os.unlink(os.path.join(os.path.dirname(spill_files()[0]), victim.hex()))
    with pytest.raises(exceptions.ObjectLostError, match="could not be read back"):
        flare.get(victim, timeout=60)
    # The others are intact.
    for i, ref in enumerate(refs):
        if ref is not victim:
            assert flare.get(ref, timeout=60)[-1] == i


def test_objects_dropped_while_they_are_written_out_or_read_back_leave_nothing():
    # Each put spills an older one; dropping refs as soon as they are made
    # frees objects while their bytes are being written, and reading old
    # ones back while others are dropped frees them while they are read.
    kept = []
    for i in range(12):
        ref = flare.put(np.full(60 * MIB, i, dtype=np.uint8))
        if i % 2 == 0:
            kept.append((i, ref))
        del ref
    for i, ref in kept:
        assert int(flare.get(ref, timeout=60)[-1]) == i
    del kept, ref
    assert settle(lambda: not spill_files()), "spill files outlived their objects"
    assert settle(lambda: flare.object_store_stats()["num_objects"] == 0)
    assert settle(lambda: flare.object_store_stats()["used"] == 0)


def test_small_requests_are_served_while_a_large_object_is_spilled():
    # Order only, no timing: a driver thread's tiny tasks all finish while
    # the main thread's puts force spills, and both sides get their values.
    import threading

    @flare.remote
    def noop(i):
        return i

    done = []
    go = threading.Event()

    def probe():
        go.wait(30)
        done.extend(flare.get([noop.remote(i) for i in range(50)], timeout=60))

    thread = threading.Thread(target=probe)
    thread.start()
    go.set()
    refs = [flare.put(np.full(100 * MIB, i, dtype=np.uint8)) for i in range(5)]
    thread.join(timeout=60)
    assert done == list(range(50))
    assert [int(flare.get(ref, timeout=60)[0]) for ref in refs] == list(range(5))


def test_a_read_that_finds_no_room_waits_a_bounded_while_then_fails_and_works_once_room_is_back():
    refs = [flare.put(np.full(100 * MIB, i, dtype=np.uint8)) for i in range(4)]
    held = [flare.get(ref, timeout=60) for ref in refs[:3]]  # 300 MiB mapped
    with pytest.raises(exceptions.ObjectStoreFullError, match="no room to bring it back"):
        flare.get(refs[3], timeout=60)
    del held
    gc.collect()
    assert int(flare.get(refs[3], timeout=60)[-1]) == 3


def test_an_actor_call_whose_arguments_were_spilled_reads_them_back():
    @flare.remote
    class Reader:
        def ends(self, array):
            return int(array[0]), int(array[-1])

    reader = Reader.remote()
    refs = [flare.put(np.full(60 * MIB, i, dtype=np.uint8)) for i in range(8)]  # 480 MiB
    assert spill_files(), "nothing was spilled"
    calls = [reader.ends.remote(ref) for ref in refs]
    assert flare.get(calls, timeout=60) == [(i, i) for i in range(8)]
