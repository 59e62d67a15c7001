"""Where large objects live on a cluster: a result too large to travel
inline stays in the store of the node that made it until something on
another node reads it. ``wait(fetch_local=False)`` reports it ready
without moving it, a task that reads it goes to its node when that node
has room, and the driver's ``get`` (or a default ``wait``) pulls it.

A module-wide cluster: a head with one CPU (the driver's node) and two
one-CPU nodes, shut down at the end whatever happens."""

from __future__ import annotations

import pytest

import flare
from conftest import NEVER, one_cpu_nodes, on, wait_for

np = pytest.importorskip("numpy")

MIB = 8  # each array: far over the inline threshold


@pytest.fixture(scope="module")
def cluster():
    with one_cpu_nodes(3, 96 << 20) as cluster:
        yield cluster


@flare.remote
def make(mib, fill):
    return np.full(mib << 20, fill, dtype=np.uint8)


@flare.remote
def where_and_sum(array):
    return flare.get_runtime_context().get_node_id(), int(array[::4096].sum())


def bytes_here():
    """Arena bytes in use on the driver's node."""
    return flare.object_store_stats()["used"]


def all_cpus_free():
    return flare.available_resources().get("CPU", 0) == 3


def test_a_large_result_stays_on_its_node_until_the_driver_reads_it(cluster):
    _, worker, _ = cluster.list_all_nodes()
    before = bytes_here()
    ref = make.options(scheduling_strategy=on(worker)).remote(MIB, 3)

    ready, _ = flare.wait([ref], timeout=NEVER, fetch_local=False)

    assert ready == [ref]
    assert bytes_here() - before < MIB << 20, "wait(fetch_local=False) pulled nothing"
    value = flare.get(ref, timeout=NEVER)
    assert value.nbytes == MIB << 20 and value[0] == 3
    assert bytes_here() - before >= MIB << 20, "get pulled it to the driver's node"


def test_a_default_wait_pulls_the_result_to_the_drivers_node(cluster):
    _, worker, _ = cluster.list_all_nodes()
    before = bytes_here()
    ref = make.options(scheduling_strategy=on(worker)).remote(MIB, 4)
    flare.wait([ref], timeout=NEVER, fetch_local=False)
    assert bytes_here() - before < MIB << 20

    ready, _ = flare.wait([ref], timeout=NEVER)

    assert ready == [ref]
    assert bytes_here() - before >= MIB << 20, "wait() with fetch_local=True pulled it"
    assert flare.get(ref, timeout=NEVER)[-1] == 4


def test_a_task_reading_a_large_result_runs_where_the_result_is(cluster):
    _, worker, _ = cluster.list_all_nodes()
    before = bytes_here()
    made = make.options(scheduling_strategy=on(worker)).remote(MIB, 1)

    # Submitted before its argument exists: it waits on the driver's node,
    # then goes where the argument was made.
    node, total = flare.get(where_and_sum.remote(made), timeout=NEVER)

    assert node == worker.node_id, "the reader went to the node holding its argument"
    assert total == (MIB << 20) // 4096
    assert bytes_here() - before < MIB << 20, "the array never came to the driver's node"

    # Submitted once it exists: it goes there at once.
    assert wait_for(all_cpus_free, NEVER)
    node, _ = flare.get(where_and_sum.remote(made), timeout=NEVER)
    assert node == worker.node_id
    assert bytes_here() - before < MIB << 20


def test_a_result_read_on_a_third_node_is_pulled_from_where_it_was_made(cluster):
    _, worker, other = cluster.list_all_nodes()
    before = bytes_here()
    made = make.options(scheduling_strategy=on(worker)).remote(MIB, 2)

    node, total = flare.get(
        where_and_sum.options(scheduling_strategy=on(other)).remote(made), timeout=NEVER)

    assert node == other.node_id
    assert total == 2 * ((MIB << 20) // 4096)
    assert bytes_here() - before < MIB << 20, "it went from node to node, not through the driver's"


def test_a_wait_for_results_on_other_nodes_times_out_when_they_are_not_made(cluster):
    _, worker, _ = cluster.list_all_nodes()

    @flare.remote
    def slow(seconds):
        import time
        time.sleep(seconds)
        return np.zeros(MIB << 20, dtype=np.uint8)

    ref = slow.options(scheduling_strategy=on(worker)).remote(30)
    ready, not_ready = flare.wait([ref], timeout=0.2, fetch_local=False)
    assert (ready, not_ready) == ([], [ref])
    flare.cancel(ref, force=True)
