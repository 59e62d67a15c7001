"""Lineage reconstruction: a task's large result stays on the node that made
it; when that node dies before anyone here read it, the owner runs the task
again to make it (spending one of its retries), rebuilding lost arguments
first. What cannot be made again (max_retries=0) raises ObjectLostError
saying why. Every test tears its nodes down (the ``cluster`` fixture)."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import flare
from conftest import NEVER, on
from flare import exceptions
from flare.cluster_utils import Cluster
from flare.util.scheduling_strategies import NodeAffinitySchedulingStrategy

SIZE = 4 << 20  # large enough to stay on the node that made it


@pytest.fixture
def cluster(head_only_cluster):
    """A head with 1 CPU; tests add nodes. Always shut down."""
    return head_only_cluster


def runs(path) -> list:
    """The nodes each run of a task recorded, in order."""
    return open(path).read().split() if os.path.exists(path) else []


@flare.remote(num_cpus=1)
def make(log, value):
    with open(log, "a") as out:
        out.write(flare.get_runtime_context().get_node_id() + "\n")
    return np.full(SIZE, value, dtype=np.uint8)


@flare.remote(num_cpus=1)
def plus_one(log, array):
    with open(log, "a") as out:
        out.write(flare.get_runtime_context().get_node_id() + "\n")
    return array + 1


def test_a_result_lost_with_its_node_is_made_again_by_running_its_task(cluster, tmp_path):
    doomed = cluster.add_node(num_cpus=1)
    flare.init(address=cluster.address)
    log = str(tmp_path / "make")
    there = NodeAffinitySchedulingStrategy(doomed.node_id, soft=True)
    ref = make.options(scheduling_strategy=there).remote(log, 7)
    flare.wait([ref], fetch_local=False, timeout=NEVER)  # made there, not pulled here
    assert runs(log) == [doomed.node_id]

    cluster.remove_node(doomed, allow_graceful=False)
    value = flare.get(ref, timeout=NEVER)

    assert value.shape == (SIZE,) and int(value[0]) == 7 and int(value[-1]) == 7
    assert runs(log) == [doomed.node_id, cluster.head_node.node_id], "ran once more, elsewhere"


def test_lost_arguments_are_made_again_before_the_task_that_reads_them(cluster, tmp_path):
    doomed = cluster.add_node(num_cpus=1)
    flare.init(address=cluster.address)
    there = NodeAffinitySchedulingStrategy(doomed.node_id, soft=True)
    first = make.options(scheduling_strategy=there).remote(str(tmp_path / "make"), 1)
    second = plus_one.options(scheduling_strategy=there).remote(str(tmp_path / "plus"), first)
    flare.wait([second], fetch_local=False, timeout=NEVER)
    del first  # only the lineage keeps it now

    cluster.remove_node(doomed, allow_graceful=False)
    value = flare.get(second, timeout=NEVER)

    assert int(value[0]) == 2 and int(value[-1]) == 2
    assert len(runs(tmp_path / "make")) == 2 and len(runs(tmp_path / "plus")) == 2


def test_a_result_whose_task_may_not_run_again_is_lost_saying_why(cluster, tmp_path):
    doomed = cluster.add_node(num_cpus=1)
    flare.init(address=cluster.address)
    there = NodeAffinitySchedulingStrategy(doomed.node_id, soft=True)
    ref = make.options(scheduling_strategy=there, max_retries=0).remote(
        str(tmp_path / "make"), 3)
    flare.wait([ref], fetch_local=False, timeout=NEVER)

    cluster.remove_node(doomed, allow_graceful=False)
    with pytest.raises(exceptions.ObjectLostError) as lost:
        flare.get(ref, timeout=NEVER)

    assert doomed.node_id in str(lost.value)
    assert "cannot be made again" in str(lost.value)
    assert len(runs(tmp_path / "make")) == 1
    assert isinstance(lost.value, exceptions.ObjectReconstructionFailedError), \
        "a task's result, not a put: its task may not run again"


def test_a_task_on_a_third_node_whose_argument_hung_with_its_node_runs_once_it_is_made_again(
        tmp_path):
    # The reader goes to a third node while the head still thinks the
    # argument's node alive: that node cannot fetch it, and sends the reader
    # back to its owner, which runs it once the argument is made again.
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "node_timeout_ms": 1000},
                      shutdown_at_exit=False)
    try:
        doomed = cluster.add_node(num_cpus=1)
        third = cluster.add_node(num_cpus=1, resources={"third": 1})
        flare.init(address=cluster.address)
        there = NodeAffinitySchedulingStrategy(doomed.node_id, soft=True)
        made = make.options(scheduling_strategy=there).remote(str(tmp_path / "make"), 4)
        flare.wait([made], fetch_local=False, timeout=NEVER)

        os.kill(doomed.pid, signal.SIGSTOP)  # hung: its links stay open
        try:
            read = plus_one.options(resources={"third": 1}).remote(str(tmp_path / "plus"), made)
            value = flare.get(read, timeout=NEVER)
        finally:
            os.kill(doomed.pid, signal.SIGCONT)

        assert int(value[0]) == 5 and int(value[-1]) == 5
        assert runs(tmp_path / "make")[0] == doomed.node_id
        assert len(runs(tmp_path / "make")) == 2, "made again elsewhere"
        assert runs(tmp_path / "plus") == [third.node_id], "read on the third node, once"
    finally:
        flare.shutdown()
        cluster.shutdown()


def test_a_borrower_whose_owner_died_gets_owner_died(cluster, tmp_path):
    # A driver on a worker node owns an object; a task on the head borrows
    # it; the owner's node dies while the borrower waits for it.
    owner_node = cluster.add_node(num_cpus=1, resources={"owner": 1})
    flare.init(address=cluster.address)

    @flare.remote(resources={"owner": 1})
    def own_and_lend(started):
        import time

        @flare.remote(num_cpus=0)
        def never_done():
            time.sleep(600)

        pending = never_done.remote()
        return [pending]  # lent out, never ready

    @flare.remote(num_cpus=0)
    def borrow(refs):
        try:
            flare.get(refs[0], timeout=NEVER)
        except exceptions.OwnerDiedError as error:
            return "owner died: " + str(error)
        except Exception as error:  # noqa: BLE001 - the test reports what it was
            return type(error).__name__ + ": " + str(error)
        return "got a value"

    refs = flare.get(own_and_lend.remote(None), timeout=NEVER)
    waiting = borrow.remote(refs)
    cluster.remove_node(owner_node, allow_graceful=False)
    outcome = flare.get(waiting, timeout=NEVER)
    assert outcome.startswith("owner died: "), outcome
    assert owner_node.node_id in outcome


@flare.remote(num_cpus=0)
def ping():
    return "pong"


@flare.remote(num_cpus=1)
def hold(arg, borrowed, head, started, release):
    """Reads `arg` on this node: as a task argument, or (borrowed) a ref
    passed inside a list that it gets. Then sends a task to the head, which
    goes on the link the copy was reported on, after that report."""
    array = flare.get(arg[0]) if borrowed else arg
    assert flare.get(ping.options(scheduling_strategy=on(head)).remote()) == "pong"
    started.set()
    release.wait_or_raise()
    return int(array[-1])


@pytest.mark.parametrize("borrowed", [False, True], ids=["task_argument", "borrowed_get"])
def test_a_result_whose_node_died_is_read_from_a_copy_another_node_pulled(cluster, events,
                                                                          tmp_path, borrowed):
    # max_retries=0: it cannot be made again, so reading it after its node
    # died works only from the copy the reader's node pulled (and reported),
    # for a task's argument or by a get of a borrowed ref.
    maker = cluster.add_node(num_cpus=1)
    reader_node = cluster.add_node(num_cpus=1)
    flare.init(address=cluster.address)
    log = str(tmp_path / "make")
    ref = make.options(max_retries=0, scheduling_strategy=on(maker)).remote(log, 9)
    flare.wait([ref], fetch_local=False, timeout=NEVER)
    started, release = events("started"), events("release")

    held = hold.options(scheduling_strategy=on(reader_node)).remote(
        [ref] if borrowed else ref, borrowed, cluster.head_node.node_id, started, release)
    assert started.wait()
    cluster.remove_node(maker, allow_graceful=False)

    value = flare.get(ref, timeout=NEVER)
    assert value.shape == (SIZE,) and value[0] == 9 and value[-1] == 9
    assert runs(log) == [maker.node_id], "read from the copy, not made again"
    release.set()
    assert flare.get(held, timeout=NEVER) == 9
