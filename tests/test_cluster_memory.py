"""Reference counts across nodes: when the last reference anywhere goes,
every copy on every node is freed. Loops of large arrays crossing nodes
(made on one node and read on the driver's, put by the driver and read on
another node, made on one node and read by a task on a third) pass many
times the store's size through small stores; afterwards every node's arena
is empty, nothing is spilled and no object is left in any node's table.

A leaked copy would not fail the loop itself (the store spills what does
not fit), so each test checks every node's store at its end. A module-wide
cluster of three one-CPU nodes with small stores, shut down at the end
whatever happens."""

from __future__ import annotations

import os

import pytest

import flare
from conftest import NEVER, one_cpu_nodes, on, wait_for

np = pytest.importorskip("numpy")

STORE = 96 << 20   # each node's arena
MIB = 16           # each array; a round holds up to three copies of one
ROUNDS = 12        # 12 x 16 MiB = twice a store per scenario and node


@pytest.fixture(scope="module")
def cluster():
    with one_cpu_nodes(3, STORE) as cluster:
        yield cluster


@flare.remote
def make(mib, fill):
    return np.full(mib << 20, fill, dtype=np.uint8)


@flare.remote
def checksum(array):
    return int(array[::4096].sum()), array.nbytes


@flare.remote
def plus_one(array):
    return array + 1


@flare.remote
def store_stats():
    return flare.object_store_stats()


def stores_of(cluster):
    """Each node's arena bytes in use and object count, and whether its
    spill directory holds anything, read on that node."""
    out = {}
    for node in cluster.list_all_nodes():
        stats = flare.get(store_stats.options(scheduling_strategy=on(node)).remote(),
                          timeout=NEVER)
        spill = os.path.join(node.session_dir, "spill")
        spilled = os.listdir(spill) if os.path.isdir(spill) else []
        out[node.node_id] = (stats["used"], stats["num_objects"], len(spilled))
    return out


def all_empty(cluster):
    # The stats task's own return is the one object on its node.
    return all(used == 0 and objects <= 1 and spilled == 0
               for used, objects, spilled in stores_of(cluster).values())


def assert_every_store_empty(cluster):
    assert wait_for(lambda: all_empty(cluster), NEVER), (
        f"copies left behind (used bytes, objects, spilled files) by node: {stores_of(cluster)}")


def test_arrays_made_on_another_node_and_read_on_the_drivers_leave_no_copy(cluster):
    head, worker, _ = cluster.list_all_nodes()
    for i in range(ROUNDS):
        ref = make.options(scheduling_strategy=on(worker)).remote(MIB, i)
        value = flare.get(ref, timeout=NEVER)  # pulled to the driver's node
        assert value.nbytes == MIB << 20 and value[-1] == i
        del value, ref
    assert_every_store_empty(cluster)


def test_driver_puts_read_on_another_node_leave_no_copy(cluster):
    _, worker, other = cluster.list_all_nodes()
    for i in range(ROUNDS):
        ref = flare.put(np.full(MIB << 20, i, dtype=np.uint8))
        reader = (worker, other)[i % 2]
        total, size = flare.get(checksum.options(scheduling_strategy=on(reader)).remote(ref),
                                timeout=NEVER)
        assert size == MIB << 20 and total == i * ((MIB << 20) // 4096)
        del ref
    assert_every_store_empty(cluster)


def test_refs_passed_through_a_task_on_a_third_node_leave_no_copy(cluster):
    _, worker, other = cluster.list_all_nodes()
    for i in range(ROUNDS):
        made = make.options(scheduling_strategy=on(worker)).remote(MIB, i)
        # Read on a third node, which makes a new array from it there.
        derived = plus_one.options(scheduling_strategy=on(other)).remote(made)
        total, size = flare.get(checksum.options(scheduling_strategy=on(worker)).remote(derived),
                                timeout=NEVER)
        assert size == MIB << 20 and total == (i + 1) * ((MIB << 20) // 4096)
        del made, derived
    assert_every_store_empty(cluster)


def test_results_that_together_outgrow_the_drivers_store_are_all_read(cluster):
    # The results stay where they were made until read; read one after the
    # other on the driver's node they do not fit its store together, so
    # pulls wait for room (spilling, frees) instead of failing.
    _, worker, other = cluster.list_all_nodes()
    refs = [make.options(scheduling_strategy=on((worker, other)[i % 2])).remote(MIB, i)
            for i in range(ROUNDS)]
    for i, ref in enumerate(refs):
        value = flare.get(ref, timeout=NEVER)
        assert value.nbytes == MIB << 20 and value[0] == i
        del value
    del refs, ref
    assert_every_store_empty(cluster)


def test_refs_dropped_before_their_values_arrive_leave_no_copy(cluster):
    # The owner drops its refs while the results are still being made and
    # pulled: the pulls that finish after must not keep a copy.
    _, worker, other = cluster.list_all_nodes()
    for i in range(ROUNDS):
        refs = [make.options(scheduling_strategy=on(node)).remote(MIB, i)
                for node in (worker, other)]
        del refs
    # The tasks finish on their own; then nothing may be left anywhere.
    assert_every_store_empty(cluster)
