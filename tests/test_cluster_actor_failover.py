"""Actors fail over: an actor whose node dies restarts on another node that
fits while it has max_restarts left (its constructor runs again), named
actors resolve to the new instance and handles everywhere keep working;
calls running on the dead node run again while max_task_retries allows, or
fail with ActorDiedError; with no restart left, calls fail with
ActorDiedError naming the dead node. Every test tears its nodes down (the
``cluster`` fixture), even when it fails."""

from __future__ import annotations

import os
import signal
import time

import pytest

import flare
from conftest import NEVER
from flare import exceptions
from flare.cluster_utils import Cluster
from flare.util.scheduling_strategies import NodeAffinitySchedulingStrategy


@pytest.fixture
def cluster(head_only_cluster):
    """A head with 1 CPU; tests add nodes. Always shut down."""
    return head_only_cluster


@flare.remote(num_cpus=0)
class Counter:
    def __init__(self, start=0):
        self.count = start
        self.node = flare.get_runtime_context().get_node_id()

    def add(self, amount=1):
        self.count += amount
        return self.count

    def where(self):
        return self.node

    def add_when(self, started, release):
        started.set()
        release.wait_or_raise()
        self.count += 1
        return self.count


def two_gadget_nodes(cluster):
    """Two nodes that have the "gadget" resource the actors below need (the
    head has none), so an actor on one restarts on the other."""
    nodes = [cluster.add_node(num_cpus=1, resources={"gadget": 1}) for _ in range(2)]
    flare.init(address=cluster.address)
    return nodes


def node_of(nodes, node_id):
    return next(node for node in nodes if node.node_id == node_id)


def test_an_actor_whose_node_dies_restarts_on_another_and_handles_keep_working(cluster):
    nodes = two_gadget_nodes(cluster)
    counter = Counter.options(max_restarts=1, resources={"gadget": 0.5}).remote(10)
    assert flare.get(counter.add.remote(), timeout=NEVER) == 11
    first = flare.get(counter.where.remote(), timeout=NEVER)

    @flare.remote(num_cpus=0)
    def call_from_a_task(actor):
        return flare.get(actor.add.remote(100), timeout=NEVER)

    cluster.remove_node(node_of(nodes, first), allow_graceful=False)
    # (A call sent before the death is seen may be lost with the node, and
    # max_task_retries is 0: the calls below come after.)
    wait_until_dead(node_of(nodes, first))

    # The constructor ran again there: its state starts over.
    assert flare.get(counter.add.remote(), timeout=NEVER) == 11
    second = flare.get(counter.where.remote(), timeout=NEVER)
    assert second != first and second in {node.node_id for node in nodes}
    # A handle passed to a task on the head reaches the new instance too.
    assert flare.get(call_from_a_task.remote(counter), timeout=NEVER) == 111


def test_a_named_detached_actor_resolves_to_its_new_instance(cluster):
    nodes = two_gadget_nodes(cluster)
    counter = Counter.options(name="survivor", lifetime="detached", max_restarts=-1,
                              resources={"gadget": 0.5}).remote()
    try:
        first = flare.get(counter.where.remote(), timeout=NEVER)
        cluster.remove_node(node_of(nodes, first), allow_graceful=False)

        again = flare.get_actor("survivor")
        assert flare.get(again.add.remote(5), timeout=NEVER) == 5
        assert flare.get(again.where.remote(), timeout=NEVER) != first
    finally:
        flare.kill(counter)


def test_with_no_restart_left_calls_fail_naming_the_dead_node(cluster):
    nodes = two_gadget_nodes(cluster)
    counter = Counter.options(max_restarts=0, resources={"gadget": 0.5}).remote()
    first = flare.get(counter.where.remote(), timeout=NEVER)
    cluster.remove_node(node_of(nodes, first), allow_graceful=False)

    with pytest.raises(exceptions.ActorDiedError, match=first):
        flare.get(counter.add.remote(), timeout=NEVER)
    with pytest.raises(exceptions.ActorDiedError, match="max_restarts"):
        flare.get(counter.add.remote(), timeout=NEVER)


def test_a_call_running_on_the_dead_node_runs_again_only_while_max_task_retries_allows(
        cluster, events):
    nodes = two_gadget_nodes(cluster)
    patient = Counter.options(max_restarts=2, max_task_retries=1,
                              resources={"gadget": 0.5}).remote()
    # Both on one node, so that one removal catches a call of each.
    there = flare.get(patient.where.remote(), timeout=NEVER)
    impatient = Counter.options(
        max_restarts=2, max_task_retries=0, resources={"gadget": 0.5},
        scheduling_strategy=NodeAffinitySchedulingStrategy(there, soft=True)).remote()
    assert flare.get(impatient.where.remote(), timeout=NEVER) == there
    release = events("release")
    running = [events("patient"), events("impatient")]
    slow_patient = patient.add_when.remote(running[0], release)
    slow_impatient = impatient.add_when.remote(running[1], release)
    after = patient.add.remote(10)  # queued behind the slow call, in order
    assert all(started.wait() for started in running)

    cluster.remove_node(node_of(nodes, there), allow_graceful=False)
    release.set()

    assert flare.get(slow_patient, timeout=NEVER) == 1, "ran again on the new instance"
    assert flare.get(after, timeout=NEVER) == 11, "and the call after it, after it"
    with pytest.raises(exceptions.ActorDiedError, match="max_task_retries"):
        flare.get(slow_impatient, timeout=NEVER)
    assert flare.get(impatient.add.remote(), timeout=NEVER) == 1, "later calls reach it"


def test_an_actor_restarts_on_the_head_when_only_the_head_fits(cluster):
    doomed = cluster.add_node(num_cpus=1, resources={"gadget": 1})
    flare.init(address=cluster.address)
    # Soft affinity: on the node while it lives, anywhere after.
    counter = Counter.options(
        max_restarts=1, scheduling_strategy=NodeAffinitySchedulingStrategy(
            doomed.node_id, soft=True)).remote(1)
    assert flare.get(counter.where.remote(), timeout=NEVER) == doomed.node_id
    cluster.remove_node(doomed, allow_graceful=False)
    wait_until_dead(doomed)

    assert flare.get(counter.add.remote(), timeout=NEVER) == 2
    assert flare.get(counter.where.remote(), timeout=NEVER) == cluster.head_node.node_id


def test_an_actor_on_a_hung_node_restarts_elsewhere_once_the_node_is_declared_dead():
    # SIGSTOP: the node's links stay open, it just stops answering; the head
    # declares it dead after node_timeout_ms, and the actor moves then.
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "node_timeout_ms": 1000},
                      shutdown_at_exit=False)
    try:
        hung = cluster.add_node(num_cpus=1, resources={"gadget": 1})
        cluster.add_node(num_cpus=1, resources={"gadget": 1})
        flare.init(address=cluster.address)
        counter = Counter.options(
            max_restarts=1, max_task_retries=1, resources={"gadget": 0.5},
            scheduling_strategy=NodeAffinitySchedulingStrategy(hung.node_id, soft=True)).remote()
        assert flare.get(counter.where.remote(), timeout=NEVER) == hung.node_id

        os.kill(hung.pid, signal.SIGSTOP)
        try:
            call = counter.add.remote()  # sent to the hung node, then again after its death
            assert flare.get(call, timeout=NEVER) == 1
            assert flare.get(counter.where.remote(), timeout=NEVER) != hung.node_id
        finally:
            os.kill(hung.pid, signal.SIGCONT)
    finally:
        flare.shutdown()
        cluster.shutdown()


def test_a_handle_keeps_reaching_its_actor_after_the_node_that_placed_it_dies(cluster):
    # A task on one node creates a detached actor on another and returns its
    # handle, whose calls are addressed to the placing node. That node tells
    # the driver's node where the actor runs, so calls go straight there and
    # go on once the placing node is gone.
    placer = cluster.add_node(num_cpus=1, resources={"placer": 1})
    cluster.add_node(num_cpus=1, resources={"gadget": 1})
    flare.init(address=cluster.address)

    @flare.remote(num_cpus=0, resources={"placer": 1})
    def make_counter():
        counter = Counter.options(lifetime="detached", resources={"gadget": 0.5}).remote(7)
        flare.get(counter.add.remote(0), timeout=NEVER)
        return counter

    counter = flare.get(make_counter.remote(), timeout=NEVER)
    try:
        assert flare.get(counter.add.remote(), timeout=NEVER) == 8
        assert flare.get(counter.add.remote(), timeout=NEVER) == 9
        cluster.remove_node(placer, allow_graceful=False)
        wait_until_dead(placer)

        assert flare.get([counter.add.remote() for _ in range(3)], timeout=NEVER) == [10, 11, 12]
    finally:
        flare.kill(counter)


def wait_until_dead(node, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(entry["NodeID"] == node.node_id and entry["Alive"] for entry in flare.nodes()):
            return
        time.sleep(0.05)
    raise AssertionError(f"node {node.node_id} still alive in nodes() after {timeout} s")
