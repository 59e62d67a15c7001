"""Placement groups whose bundles' node dies, on a cluster on this machine: the
group goes RESCHEDULING (its ready() stays ready), the bundle that stayed
serves on, the lost one is reserved again on a node that joins, and tasks
and actors for it (new ones, and a task retried after running there) wait
for it, then run on the new node. Each test has its own cluster (a head
without CPUs, where the driver makes its groups, and two one-CPU workers),
shut down at its end whatever happens."""

from __future__ import annotations

import pytest

import flare
from conftest import NEVER, connected_cluster, wait_for
from flare.exceptions import GetTimeoutError
from flare.util import placement_group, placement_group_table
from flare.util.scheduling_strategies import PlacementGroupSchedulingStrategy

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def cluster():
    with connected_cluster({"num_cpus": 0}, {"num_cpus": 1}, {"num_cpus": 1}) as cluster:
        yield cluster


def in_bundle(group, index):
    return PlacementGroupSchedulingStrategy(group, index)


def bundle_nodes(group):
    return placement_group_table(group)["bundles_to_node_id"]


def state(group):
    return placement_group_table(group)["state"]


def kill_node_of_bundle(cluster, group, index):
    """Kills (not gracefully) the worker node holding bundle ``index``;
    returns the surviving worker and the killed node's id once the cluster
    knows it is gone."""
    doomed_id = bundle_nodes(group)[index]
    doomed = next(node for node in cluster.worker_nodes if node.node_id == doomed_id)
    survivor = next(node for node in cluster.worker_nodes if node is not doomed)
    cluster.remove_node(doomed, allow_graceful=False)
    assert wait_for(lambda: doomed_id not in
                    {node["NodeID"] for node in flare.nodes() if node["Alive"]}, NEVER)
    return survivor, doomed_id


@flare.remote
def where():
    return flare.get_runtime_context().get_node_id()


@flare.remote(max_retries=3)
def hold_then_where(started, gate):
    started.set()
    gate.wait_or_raise()
    return flare.get_runtime_context().get_node_id()


@flare.remote
def where_in_bundle(group, index):
    """Where a task this task submits into bundle ``index`` of ``group`` runs."""
    inner = where.options(num_cpus=0.25, scheduling_strategy=in_bundle(group, index)).remote()
    return flare.get(inner, timeout=NEVER)


@flare.remote
class Resident:
    def node(self):
        return flare.get_runtime_context().get_node_id()


def test_a_lost_spread_bundle_is_placed_on_a_new_node_and_its_tasks_and_actors_run_there(
        cluster):
    group = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="SPREAD")
    assert group.wait(NEVER)
    before = bundle_nodes(group)
    assert set(before.values()) == {node.node_id for node in cluster.worker_nodes}

    survivor, doomed_id = kill_node_of_bundle(cluster, group, 1)
    assert wait_for(lambda: state(group) == "RESCHEDULING", NEVER)
    assert group.wait(0), "ready() stays ready while the group is placed again"
    assert bundle_nodes(group)[0] == survivor.node_id == before[0], "bundle 0 stays"

    new_node = cluster.add_node(num_cpus=1)
    assert wait_for(lambda: state(group) == "CREATED", NEVER)
    assert bundle_nodes(group) == {0: survivor.node_id, 1: new_node.node_id}
    assert flare.get(where.options(num_cpus=0.5, scheduling_strategy=in_bundle(group, 1)).remote(),
                     timeout=NEVER) == new_node.node_id
    actor = Resident.options(num_cpus=0.5, scheduling_strategy=in_bundle(group, 1)).remote()
    assert flare.get(actor.node.remote(), timeout=NEVER) == new_node.node_id
    assert flare.get(where.options(num_cpus=0.5, scheduling_strategy=in_bundle(group, 0)).remote(),
                     timeout=NEVER) == survivor.node_id


def test_tasks_for_a_lost_strict_spread_bundle_wait_for_a_node_to_join_then_run_there(
        cluster, events):
    group = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_SPREAD")
    assert group.wait(NEVER)
    started, gate = events("started"), events("gate")
    running = hold_then_where.options(num_cpus=0.25,
                                      scheduling_strategy=in_bundle(group, 1)).remote(started, gate)
    assert started.wait(NEVER)
    lost_node = bundle_nodes(group)[1]

    survivor, _ = kill_node_of_bundle(cluster, group, 1)
    assert wait_for(lambda: state(group) == "RESCHEDULING", NEVER)
    waiting = where.options(num_cpus=0.25, scheduling_strategy=in_bundle(group, 1)).remote()
    actor = Resident.options(num_cpus=0.25, scheduling_strategy=in_bundle(group, 1)).remote()
    # A task in the bundle that stayed submits into the lost one from the
    # survivor, which holds a bundle of the group but did not create it.
    from_survivor = where_in_bundle.options(num_cpus=0.25,
                                            scheduling_strategy=in_bundle(group, 0)).remote(group, 1)
    with pytest.raises(GetTimeoutError):
        # No node may hold the bundle (the survivor holds the other one):
        # they wait rather than fail.
        flare.get([running, waiting, actor.node.remote(), from_survivor], timeout=1)
    entry = placement_group_table(group)
    assert entry["state"] == "RESCHEDULING", entry
    assert entry["stats"]["scheduling_state"] == "INFEASIBLE", "no node may ever hold it as is"
    assert bundle_nodes(group)[0] == survivor.node_id

    new_node = cluster.add_node(num_cpus=1)
    gate.set()
    assert flare.get(running, timeout=NEVER) == new_node.node_id != lost_node, \
        "the task that ran on the dead node is retried in the bundle's new place"
    assert flare.get(waiting, timeout=NEVER) == new_node.node_id
    assert flare.get(actor.node.remote(), timeout=NEVER) == new_node.node_id
    assert flare.get(from_survivor, timeout=NEVER) == new_node.node_id, \
        "the survivor took the new map"
    assert state(group) == "CREATED"
    assert bundle_nodes(group) == {0: survivor.node_id, 1: new_node.node_id}
