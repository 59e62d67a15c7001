"""Spilling across nodes. A full store first lets go of secondary copies:
arrays made on another node, where they stay held for their owner, and
pulled to the driver's node to be read. Making room there evicts those
copies (they are pulled again if read again) before any object whose only
copy is there goes to disk. And an object spilled on the driver's node is
read back from disk (off the raylet's loop) when another node pulls it.

A two-node cluster: the driver's node has a small store, the other a large
one that keeps every array made there."""

from __future__ import annotations

import gc
import os

import pytest

import flare
from conftest import connected_cluster, on, wait_for

np = pytest.importorskip("numpy")

pytestmark = pytest.mark.timeout(180)

HEAD_STORE = 96 << 20
MIB = 16


@pytest.fixture(scope="module")
def cluster():
    with connected_cluster({"num_cpus": 1, "object_store_memory": HEAD_STORE},
                           {"num_cpus": 1, "object_store_memory": 256 << 20}) as made:
        yield made


@flare.remote
def make(fill):
    return np.full(MIB << 20, fill, dtype=np.uint8)


@flare.remote
def ends(array):
    return int(array[0]), int(array[-1])


def spilled_files(node) -> list:
    spill = os.path.join(node.session_dir, "spill")
    return os.listdir(spill) if os.path.isdir(spill) else []


def test_a_store_full_of_pulled_copies_makes_room_without_spilling(cluster):
    head, worker = cluster.list_all_nodes()
    made = [make.options(scheduling_strategy=on(worker)).remote(i) for i in range(4)]
    for i, ref in enumerate(made):  # 64 MiB of copies pulled to the driver's node
        value = flare.get(ref, timeout=60)
        assert value[0] == i
        del value
    gc.collect()
    assert flare.object_store_stats()["used"] >= 4 * (MIB << 20), "the copies are here"

    # 48 MiB more, all held: only evicting copies makes room without disk.
    puts = [flare.put(np.full(MIB << 20, 100 + i, dtype=np.uint8)) for i in range(3)]
    assert flare.object_store_stats()["used"] <= HEAD_STORE
    assert spilled_files(head) == [], "a primary went to disk while copies could go"

    # The evicted copies come back from the node that holds them.
    for i, ref in enumerate(made):
        value = flare.get(ref, timeout=60)
        assert value[0] == i and value[-1] == i
        del value
    for i, ref in enumerate(puts):
        assert flare.get(ref, timeout=60)[-1] == 100 + i
    del made, puts, ref
    gc.collect()
    assert wait_for(lambda: not spilled_files(head), 30)


def test_objects_spilled_here_are_read_back_for_another_node_that_pulls_them(cluster):
    head, worker = cluster.list_all_nodes()
    puts = [flare.put(np.full(MIB << 20, i, dtype=np.uint8)) for i in range(10)]  # 160 MiB
    assert spilled_files(head), "nothing was spilled"
    # One at a time: many pulls at once can hold every transfer credit of
    # the puller while the objects they wait for wait for room here.
    for i, ref in enumerate(puts):
        there = ends.options(scheduling_strategy=on(worker)).remote(ref)
        assert flare.get(there, timeout=60) == (i, i)
    del puts, there, ref
    gc.collect()
    assert wait_for(lambda: not spilled_files(head), 30), "spill files outlived their objects"
