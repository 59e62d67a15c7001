"""Tasks across the nodes of a cluster on this machine: placement (the
default hybrid policy, SPREAD, node affinity, resources only one node has),
nested tasks on worker nodes, worker output, cancel, and a node that dies
under its tasks. A module-wide cluster of three one-CPU nodes (as in the
issue: head plus two), shut down at the end whatever happens."""

from __future__ import annotations

import os
import time

import pytest

import flare
from conftest import connected_cluster, NEVER, node_ids, on, wait_for


@pytest.fixture(scope="module")
def three_nodes():
    with connected_cluster({"num_cpus": 1}, {"num_cpus": 1, "resources": {"gadget": 1}},
                           {"num_cpus": 1}) as cluster:
        yield cluster


@flare.remote
def where(x=None):
    return flare.get_runtime_context().get_node_id()


@flare.remote
def hold(gate, x=None):
    gate.wait_or_raise()
    return flare.get_runtime_context().get_node_id()


def test_node_affinity_runs_a_task_on_each_node_and_node_ids_match_nodes(three_nodes):
    for node_id in node_ids(three_nodes):
        assert flare.get(where.options(scheduling_strategy=on(node_id)).remote(),
                         timeout=NEVER) == node_id
    assert set(node_ids(three_nodes)) == {node["NodeID"] for node in flare.nodes()}


def test_arguments_and_results_travel_between_nodes(three_nodes):
    @flare.remote
    def add(a, b):
        return a + b

    worker = node_ids(three_nodes)[1]
    first = add.options(scheduling_strategy=on(worker)).remote(1, 2)
    chained = add.options(scheduling_strategy=on(node_ids(three_nodes)[2])).remote(first, 10)
    assert flare.get(chained, timeout=NEVER) == 13
    text = flare.put("value put on the head")
    assert flare.get(add.options(scheduling_strategy=on(worker)).remote(text, "!"),
                     timeout=NEVER) == "value put on the head!"


def test_tasks_that_do_not_fit_the_head_go_to_nodes_with_room(three_nodes, events):
    gate = events("gate")
    refs = [hold.remote(gate, i) for i in range(3)]
    # All three run at once, one per node: the head alone has 1 CPU.
    assert wait_for(lambda: flare.available_resources().get("CPU", 0) == 0, NEVER)
    gate.set()
    assert sorted(flare.get(refs, timeout=NEVER)) == sorted(node_ids(three_nodes))


def test_queued_tasks_spread_over_nodes_as_they_free_up(three_nodes):
    @flare.remote
    def short(i):
        time.sleep(0.2)
        return flare.get_runtime_context().get_node_id()

    placed = flare.get([short.remote(i) for i in range(9)], timeout=NEVER)
    assert set(placed) == set(node_ids(three_nodes)), "every node took some"


def test_spread_strategy_uses_every_node(three_nodes, events):
    gate = events("gate")
    refs = [hold.options(scheduling_strategy="SPREAD").remote(gate, i) for i in range(3)]
    gate.set()
    assert sorted(flare.get(refs, timeout=NEVER)) == sorted(node_ids(three_nodes))


def test_a_resource_only_one_node_has_sends_the_task_there(three_nodes):
    gadget_node = node_ids(three_nodes)[1]
    refs = [where.options(resources={"gadget": 1}).remote(i) for i in range(3)]
    assert flare.get(refs, timeout=NEVER) == [gadget_node] * 3


def test_hard_affinity_to_a_node_that_is_not_there_fails_clearly(three_nodes):
    missing = "ab" * 16
    with pytest.raises(flare.exceptions.TaskUnschedulableError, match=missing):
        flare.get(where.options(scheduling_strategy=on(missing)).remote(), timeout=NEVER)
    # soft: runs anyway
    assert flare.get(where.options(scheduling_strategy=on(missing, soft=True)).remote(),
                     timeout=NEVER) in node_ids(three_nodes)


def test_bad_node_affinity_ids_fail_at_submission(three_nodes):
    with pytest.raises(ValueError, match="32 hex digits"):
        where.options(scheduling_strategy=on("not-a-node")).remote()


def test_dynamic_returns_made_on_another_node_are_read_on_the_drivers(three_nodes):
    import numpy as np

    @flare.remote(num_returns="dynamic")
    def pieces(n):
        for i in range(n):
            # Small items travel inline; large ones stay in that node's store.
            yield np.full(1 << 20 if i % 2 else 8, i, dtype=np.uint8)

    worker = node_ids(three_nodes)[2]
    generator = flare.get(pieces.options(scheduling_strategy=on(worker)).remote(4),
                          timeout=NEVER)
    values = flare.get(list(generator), timeout=NEVER)
    assert [(int(v[0]), v.nbytes) for v in values] == [(0, 8), (1, 1 << 20), (2, 8), (3, 1 << 20)]


def test_a_ref_that_reaches_another_node_outside_flare_is_fetched_from_its_owner(
        three_nodes, tmp_path):
    # Pickled to a file by the driver and loaded by a task elsewhere: that
    # node never heard of the object, and borrows it from the owner the ref
    # names.
    import pickle

    import numpy as np

    small, large = flare.put("small value"), flare.put(np.arange(1 << 18))
    (tmp_path / "refs.pkl").write_bytes(pickle.dumps([small, large]))

    @flare.remote
    def load(path):
        import pickle
        refs = pickle.loads(open(path, "rb").read())
        text, array = flare.get(refs, timeout=60)
        return text, int(array.sum())

    worker = node_ids(three_nodes)[2]
    text, total = flare.get(load.options(scheduling_strategy=on(worker)).remote(
        str(tmp_path / "refs.pkl")), timeout=NEVER)
    assert (text, total) == ("small value", int(np.arange(1 << 18).sum()))


def test_tasks_submitted_on_a_worker_node_run_and_return(three_nodes):
    @flare.remote
    def parent(n):
        children = [where.remote(i) for i in range(n)]
        return flare.get_runtime_context().get_node_id(), flare.get(children)

    worker = node_ids(three_nodes)[2]
    me, children = flare.get(parent.options(scheduling_strategy=on(worker)).remote(3),
                             timeout=NEVER)
    assert me == worker
    assert len(children) == 3 and set(children) <= set(node_ids(three_nodes))


def test_worker_output_on_another_node_reaches_the_driver_with_its_address(tmp_path):
    from conftest import run_script
    result = run_script("""
        import flare
        from flare.cluster_utils import Cluster
        from flare.util.scheduling_strategies import NodeAffinitySchedulingStrategy
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
        worker = cluster.add_node(num_cpus=1)
        flare.init(address=cluster.address)

        @flare.remote
        def speak():
            print("hello from the worker node", flush=True)

        flare.get(speak.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
            worker.node_id, soft=False)).remote())
        import time; time.sleep(0.5)  # let the output arrive before shutdown
        flare.shutdown()
        cluster.shutdown()
    """)
    assert result.returncode == 0, result.stderr
    assert "(speak pid=" in result.stdout and ", ip=127.0.0.1) hello from the worker node" \
        in result.stdout, result.stdout


def test_cancel_reaches_a_task_running_on_another_node(three_nodes, events):
    started, gate = events("started"), events("never")

    @flare.remote
    def stuck(started, gate):
        started.set()
        gate.wait_or_raise()

    ref = stuck.options(scheduling_strategy=on(node_ids(three_nodes)[1])).remote(started, gate)
    assert started.wait()
    flare.cancel(ref)
    with pytest.raises(flare.exceptions.TaskCancelledError):
        flare.get(ref, timeout=NEVER)
    # The node's CPU comes back: the task really stopped there.
    assert wait_for(lambda: flare.available_resources().get("CPU") == 3, NEVER)


def test_large_arrays_cross_nodes_both_ways_and_leave_no_copies(three_nodes):
    import numpy as np

    @flare.remote
    def make(mib):
        return np.full(mib << 20, 7, dtype=np.uint8)

    @flare.remote
    def checksum(array):
        return int(array[::4096].sum()), array.nbytes

    worker, other = node_ids(three_nodes)[1], node_ids(three_nodes)[2]
    for _ in range(3):
        made = make.options(scheduling_strategy=on(worker)).remote(64)
        value = flare.get(made, timeout=NEVER)  # pulled to the driver's node
        assert value.nbytes == 64 << 20 and value[-1] == 7
        # A task on a third node reads it: pulled from the head's copy.
        total, size = flare.get(checksum.options(scheduling_strategy=on(other)).remote(made),
                                timeout=NEVER)
        assert size == 64 << 20 and total == 7 * ((64 << 20) // 4096)
        del value, made
    put = flare.put(np.ones(32 << 20, dtype=np.uint8))
    assert flare.get(checksum.options(scheduling_strategy=on(worker)).remote(put),
                     timeout=NEVER)[1] == 32 << 20
    del put
    # Every copy goes with the last reference, on every node: each store's
    # free bytes (available object_store_memory, as in Ray) are all back.
    total = flare.cluster_resources()["object_store_memory"]
    assert wait_for(lambda: flare.available_resources()["object_store_memory"] == total, NEVER)


def test_a_large_error_from_another_node_is_read_whole_anywhere_and_leaves_no_copies(
        three_nodes):
    @flare.remote
    def fail(mib):
        raise ValueError("e" * (mib << 20))

    @flare.remote
    def length_of_error(refs):
        try:
            flare.get(refs[0])
        except ValueError as error:
            return len(error.args[0])
        return -1

    worker, other = node_ids(three_nodes)[1], node_ids(three_nodes)[2]
    failed = fail.options(scheduling_strategy=on(worker)).remote(16)
    # Read on the driver's node, then on a third node (the ref nested in a
    # list reaches the task as a ref): the error is stored once, on the node
    # that raised it, and pulled from there like a value.
    assert flare.get(length_of_error.remote([failed]), timeout=NEVER) == 16 << 20
    read_elsewhere = length_of_error.options(scheduling_strategy=on(other)).remote([failed])
    assert flare.get(read_elsewhere, timeout=NEVER) == 16 << 20
    try:
        flare.get(failed, timeout=NEVER)
        raise AssertionError("get returned a value instead of raising the task's error")
    except ValueError as error:
        assert len(error.args[0]) == 16 << 20
    del failed
    total = flare.cluster_resources()["object_store_memory"]
    assert wait_for(lambda: flare.available_resources()["object_store_memory"] == total, NEVER), \
        "a copy of the error outlived its last reference"


def test_actor_handles_and_named_actors_work_from_other_nodes(three_nodes):
    @flare.remote
    class Tally:
        def __init__(self):
            self.values = []

        def add(self, value):
            self.values.append(value)
            return len(self.values)

        def all(self):
            return self.values

    tally = Tally.options(name="tally", namespace="cluster-test").remote()

    @flare.remote
    def from_handle(actor, start):
        return [flare.get(actor.add.remote(start + i)) for i in range(5)]

    @flare.remote
    def by_name(value):
        actor = flare.get_actor("tally", namespace="cluster-test")
        return flare.get(actor.add.remote(value))

    worker, other = node_ids(three_nodes)[1], node_ids(three_nodes)[2]
    counts = flare.get(from_handle.options(scheduling_strategy=on(worker)).remote(tally, 0),
                       timeout=NEVER)
    assert counts == [1, 2, 3, 4, 5], "calls from one caller run in submission order"
    assert flare.get(by_name.options(scheduling_strategy=on(other)).remote(100),
                     timeout=NEVER) == 6
    assert flare.get(tally.all.remote(), timeout=NEVER) == [0, 1, 2, 3, 4, 100]

    @flare.remote
    def kill_by_name():
        flare.kill(flare.get_actor("tally", namespace="cluster-test"))

    flare.get(kill_by_name.options(scheduling_strategy=on(worker)).remote(), timeout=NEVER)

    # The kill went from another process: the driver's calls may overtake
    # it, but not for long.
    def dead():
        try:
            flare.get(tally.add.remote(7), timeout=NEVER)
        except flare.exceptions.ActorDiedError:
            return True
        return False

    assert wait_for(dead, NEVER)


def test_refs_made_on_another_node_are_read_anywhere_and_freed_everywhere(three_nodes):
    import numpy as np

    @flare.remote
    def make():
        # Owned on this node: only the refs leave it, inside the return value.
        return [flare.put(np.full(2_000_000, 3.0)), flare.put("small")]

    @flare.remote
    def read(refs):
        return float(flare.get(refs[0]).sum()), flare.get(refs[1])

    maker, reader = node_ids(three_nodes)[1], node_ids(three_nodes)[2]
    refs = flare.get(make.options(scheduling_strategy=on(maker)).remote(), timeout=NEVER)
    assert flare.get(refs[1], timeout=NEVER) == "small"
    assert flare.get(refs[0], timeout=NEVER).sum() == 6_000_000.0
    for node_id in (reader, node_ids(three_nodes)[0], maker):
        assert flare.get(read.options(scheduling_strategy=on(node_id)).remote(refs),
                         timeout=NEVER) == (6_000_000.0, "small")
    # Refs nested in the arguments of a task on another node: the driver's own.
    mine = [flare.put(np.full(2_000_000, 1.0)), flare.put("mine")]
    assert flare.get(read.options(scheduling_strategy=on(reader)).remote(mine),
                     timeout=NEVER) == (2_000_000.0, "mine")
    del refs, mine
    total = flare.cluster_resources()["object_store_memory"]
    assert wait_for(lambda: flare.available_resources()["object_store_memory"] == total, NEVER)


def test_a_generator_on_another_node_streams_its_items_back_in_order(three_nodes, events):
    import numpy as np

    @flare.remote
    def produce(n, gate):
        for i in range(n):
            if i == 2:
                gate.wait_or_raise()  # the caller reads the first items meanwhile
            # Small items travel inline, large ones are pulled.
            yield (flare.get_runtime_context().get_node_id(),
                   np.full(200_000 if i % 2 else 10, float(i)))

    gate = events("gate")
    worker = node_ids(three_nodes)[1]
    gen = produce.options(scheduling_strategy=on(worker)).remote(5, gate)
    first = [flare.get(next(gen), timeout=NEVER) for _ in range(2)]
    gate.set()
    items = first + [flare.get(ref, timeout=NEVER) for ref in gen]
    assert [node for node, _ in items] == [worker] * 5
    assert [float(values[0]) for _, values in items] == [0.0, 1.0, 2.0, 3.0, 4.0]

    @flare.remote
    def failing():
        yield 1
        raise ValueError("broken after one item")

    gen = failing.options(scheduling_strategy=on(worker)).remote()
    assert flare.get(next(gen), timeout=NEVER) == 1
    with pytest.raises(flare.exceptions.TaskError, match="broken after one item"):
        flare.get(next(gen), timeout=NEVER)
