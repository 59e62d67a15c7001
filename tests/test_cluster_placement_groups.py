"""Placement groups across the nodes of a cluster on this machine: each
strategy's bundles land on their nodes (placement_group_table names them),
tasks and actors in a bundle run on its node, a group that needs more nodes
stays pending until they join (however long past the infeasible grace that
is: the head's is short here), removal from any node frees every node, and a
node dying under a bundle makes what goes there wait for the bundle to be
placed again (test_cluster_placement_group_failover.py has more). A
module-wide cluster of three one-CPU nodes (head plus two); shut down at the
end whatever happens. Each test leaves the three nodes as it found them."""

from __future__ import annotations

import pytest

import flare
from conftest import NEVER, connected_cluster, node_ids, wait_for
from flare.exceptions import ActorDiedError, GetTimeoutError, TaskCancelledError
from flare.util import placement_group, placement_group_table, remove_placement_group
from flare.util.scheduling_strategies import (NodeAffinitySchedulingStrategy,
                                              PlacementGroupSchedulingStrategy)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def cluster():
    with connected_cluster({"num_cpus": 1, "infeasible_grace_ms": 300}, {"num_cpus": 1},
                           {"num_cpus": 1}) as cluster:
        yield cluster


@pytest.fixture
def extra_node(cluster):
    """``extra_node(**args)`` adds a node for this test; removed at its end."""
    added = []

    def add(**node_args):
        node = cluster.add_node(**node_args)
        added.append(node)
        return node

    yield add
    for node in added:
        if node in cluster.worker_nodes:  # not removed by the test itself
            cluster.remove_node(node)


@pytest.fixture
def groups():
    """``groups(...)`` makes a placement group that is removed at the test's end."""
    made = []

    def make(bundles, strategy):
        group = placement_group(bundles, strategy=strategy)
        made.append(group)
        return group

    yield make
    for group in made:
        if placement_group_table(group).get("state") != "REMOVED":
            remove_placement_group(group)
    assert wait_for(lambda: flare.available_resources().get("CPU") == 3.0, NEVER), \
        "every bundle's CPU came back"


def bundle_nodes(group):
    return placement_group_table(group)["bundles_to_node_id"]


def in_bundle(group, index):
    return PlacementGroupSchedulingStrategy(group, index)


@flare.remote
def where():
    return flare.get_runtime_context().get_node_id()


@flare.remote
def hold(started, gate):
    started.set()
    gate.wait_or_raise()
    return flare.get_runtime_context().get_node_id()


@flare.remote
def where_in(group):
    """Where a task this task submits into ``group`` (any bundle) runs."""
    inner = where.options(num_cpus=0.25, scheduling_strategy=in_bundle(group, -1)).remote()
    return flare.get(inner, timeout=NEVER)


@flare.remote
def remove_from_here(group):
    remove_placement_group(group)
    return flare.get_runtime_context().get_node_id()


@flare.remote
class Resident:
    def node(self):
        return flare.get_runtime_context().get_node_id()


def test_strict_spread_puts_each_bundle_on_its_own_node_and_tasks_run_there(cluster, groups):
    group = groups([{"CPU": 1}] * 3, "STRICT_SPREAD")
    assert group.wait(NEVER)
    nodes = bundle_nodes(group)
    assert sorted(nodes.values()) == sorted(node_ids(cluster)), nodes
    for index in range(3):
        assert flare.get(where.options(scheduling_strategy=in_bundle(group, index)).remote(),
                         timeout=NEVER) == nodes[index], f"bundle {index} runs on its node"
    anywhere = [where.options(scheduling_strategy=in_bundle(group, -1)).remote()
                for _ in range(6)]
    assert set(flare.get(anywhere, timeout=NEVER)) <= set(nodes.values())
    assert wait_for(lambda: flare.available_resources().get("CPU", 0) == 0, NEVER), \
        "the bundles hold every CPU"


def test_pack_fills_this_node_first_and_spread_uses_every_node(cluster, groups):
    head = cluster.head_node.node_id
    packed = groups([{"CPU": 1}] * 2, "PACK")
    assert packed.wait(NEVER)
    assert bundle_nodes(packed)[0] == head, "PACK starts on the node that made it"
    assert len(set(bundle_nodes(packed).values())) == 2, "one-CPU nodes: it takes two"
    remove_placement_group(packed)
    assert wait_for(lambda: flare.available_resources().get("CPU") == 3.0, NEVER)

    def spread_over_every_node():
        # SPREAD goes by the head's view, which hears of freed CPUs a moment
        # after the GCS does: a group placed on a stale view may double up.
        spread = groups([{"CPU": 0.5}] * 3, "SPREAD")
        assert spread.wait(NEVER)
        nodes = sorted(bundle_nodes(spread).values())
        remove_placement_group(spread)
        return nodes == sorted(node_ids(cluster))

    assert wait_for(spread_over_every_node, NEVER)


def test_strict_pack_goes_to_the_only_node_that_can_hold_it(cluster, groups, extra_node):
    big = extra_node(num_cpus=2)
    cluster.wait_for_nodes()
    group = groups([{"CPU": 1}, {"CPU": 1}], "STRICT_PACK")
    assert group.wait(NEVER)
    assert bundle_nodes(group) == {0: big.node_id, 1: big.node_id}
    refs = [where.options(scheduling_strategy=in_bundle(group, i)).remote() for i in (0, 1)]
    assert flare.get(refs, timeout=NEVER) == [big.node_id, big.node_id]
    remove_placement_group(group)
    assert wait_for(lambda: flare.available_resources().get("CPU") == 5.0, NEVER)


def test_a_strict_spread_wider_than_the_cluster_stays_pending_until_a_node_joins(
        cluster, groups, extra_node):
    group = groups([{"CPU": 1}] * 4, "STRICT_SPREAD")
    waiting = where.options(scheduling_strategy=in_bundle(group, 3)).remote()
    with pytest.raises(GetTimeoutError):
        # Past the head's infeasible grace: it neither fails nor hangs the get.
        flare.get(group.ready(), timeout=2)
    entry = placement_group_table(group)
    assert entry["state"] == "PENDING", entry
    assert entry["stats"]["scheduling_state"] == "INFEASIBLE"
    assert flare.available_resources().get("CPU") == 3.0, "nothing is held meanwhile"
    with pytest.raises(GetTimeoutError):
        flare.get(waiting, timeout=0.5)  # a task in the group waits with it
    fourth = extra_node(num_cpus=1)
    assert flare.get(group.ready(), timeout=NEVER) == group, "reserved once a fourth node joins"
    nodes = bundle_nodes(group)
    assert len(set(nodes.values())) == 4 and fourth.node_id in nodes.values()
    assert flare.get(waiting, timeout=NEVER) == nodes[3], "then its task runs in its bundle"
    remove_placement_group(group)


def test_a_task_on_another_node_in_a_pending_group_waits_for_it(cluster, groups, extra_node):
    quick = extra_node(num_cpus=1, infeasible_grace_ms=300)
    cluster.wait_for_nodes()
    group = groups([{"CPU": 0.5}] * 5, "STRICT_SPREAD")  # four nodes: it waits for a fifth
    outer = where_in.options(num_cpus=0.5, scheduling_strategy=NodeAffinitySchedulingStrategy(
        quick.node_id, soft=False)).remote(group)
    with pytest.raises(GetTimeoutError):
        # Past that node's grace, the task it submitted still waits with the group.
        flare.get(outer, timeout=2)
    extra_node(num_cpus=1)
    assert group.wait(NEVER)
    assert flare.get(outer, timeout=NEVER) in bundle_nodes(group).values()


def test_removing_a_group_that_waits_for_nodes_ends_its_wait(cluster, groups):
    group = groups([{"CPU": 8}], "PACK")  # larger than any node
    ready = group.ready()
    waiting = where.options(scheduling_strategy=in_bundle(group, 0)).remote()
    assert wait_for(lambda: placement_group_table(group)["stats"]["scheduling_state"] ==
                    "INFEASIBLE", NEVER)
    remove_placement_group(group)
    with pytest.raises(TaskCancelledError):
        flare.get(ready, timeout=NEVER)
    with pytest.raises(TaskCancelledError):
        flare.get(waiting, timeout=NEVER)
    assert placement_group_table(group)["state"] == "REMOVED"


def test_removing_a_group_frees_every_node_and_cancels_what_runs_in_it(cluster, groups, events):
    group = groups([{"CPU": 1}] * 3, "STRICT_SPREAD")
    assert group.wait(NEVER)
    remote_bundle = next(i for i, node in bundle_nodes(group).items()
                         if node != cluster.head_node.node_id)
    started, gate = events("started"), events("gate")
    running = hold.options(scheduling_strategy=in_bundle(group, remote_bundle)).remote(started,
                                                                                        gate)
    assert started.wait(NEVER)
    remove_placement_group(group)
    with pytest.raises(TaskCancelledError):
        flare.get(running, timeout=NEVER)
    assert wait_for(lambda: flare.available_resources().get("CPU") == 3.0, NEVER)
    assert not any("_group_" in name for name in flare.cluster_resources())
    assert placement_group_table(group)["state"] == "REMOVED"


def test_a_task_on_a_node_without_bundles_removes_the_group_everywhere(cluster, groups, events):
    head = cluster.head_node.node_id
    group = groups([{"CPU": 1}], "PACK")  # on the node that made it: the head
    assert group.wait(NEVER)
    assert bundle_nodes(group) == {0: head}
    started, gate = events("started"), events("gate")
    running = hold.options(scheduling_strategy=in_bundle(group, 0)).remote(started, gate)
    assert started.wait(NEVER)
    other = next(node for node in node_ids(cluster) if node != head)
    remover = remove_from_here.options(
        scheduling_strategy=NodeAffinitySchedulingStrategy(other, soft=False)).remote(group)
    assert flare.get(remover, timeout=NEVER) == other
    with pytest.raises(TaskCancelledError):
        flare.get(running, timeout=NEVER)
    assert wait_for(lambda: placement_group_table(group)["state"] == "REMOVED", NEVER)
    assert wait_for(lambda: flare.available_resources().get("CPU") == 3.0, NEVER)
    assert not any("_group_" in name for name in flare.cluster_resources())


def test_an_actor_in_a_bundle_on_another_node_lives_there(cluster, groups):
    group = groups([{"CPU": 1}] * 3, "STRICT_SPREAD")
    assert group.wait(NEVER)
    nodes = bundle_nodes(group)
    remote_bundle = next(i for i, node in nodes.items() if node != cluster.head_node.node_id)
    actor = Resident.options(scheduling_strategy=in_bundle(group, remote_bundle)).remote()
    assert flare.get(actor.node.remote(), timeout=NEVER) == nodes[remote_bundle]
    assert flare.get([actor.node.remote() for _ in range(5)], timeout=NEVER) == \
        [nodes[remote_bundle]] * 5
    remove_placement_group(group)
    with pytest.raises(ActorDiedError):
        flare.get(actor.node.remote(), timeout=NEVER)


def test_a_task_for_a_bundle_on_a_node_that_died_waits_for_a_node_that_can_hold_it(
        cluster, groups, extra_node):
    doomed = extra_node(num_cpus=1, resources={"doomed": 1})
    cluster.wait_for_nodes()
    group = groups([{"CPU": 1}, {"CPU": 1, "doomed": 1}], "PACK")
    assert group.wait(NEVER)
    assert bundle_nodes(group)[1] == doomed.node_id
    cluster.remove_node(doomed, allow_graceful=False)
    assert wait_for(lambda: doomed.node_id not in
                    {node["NodeID"] for node in flare.nodes() if node["Alive"]}, NEVER)
    waiting = where.options(scheduling_strategy=in_bundle(group, 1)).remote()
    with pytest.raises(GetTimeoutError):
        flare.get(waiting, timeout=1)  # no node has "doomed": it waits, past the grace
    assert placement_group_table(group)["state"] == "RESCHEDULING"
    assert flare.get(where.options(scheduling_strategy=in_bundle(group, 0)).remote(),
                     timeout=NEVER) == bundle_nodes(group)[0], "the other bundle still works"
    heir = extra_node(num_cpus=1, resources={"doomed": 1})
    assert flare.get(waiting, timeout=NEVER) == heir.node_id, "it runs where the bundle went"
    assert placement_group_table(group)["state"] == "CREATED"
    remove_placement_group(group)
