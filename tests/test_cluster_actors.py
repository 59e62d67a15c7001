"""Actors on any node of a cluster on this machine: creation placed by the
scheduler (a resource only one node has, SPREAD, node affinity), calls from
the driver and from tasks on other nodes in per-caller order, and the end of
an actor hosted elsewhere (no handle left, kill, its driver exiting, a
constructor that raises, its node removed). A module-wide cluster of three
one-CPU nodes, shut down at the end whatever happens."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import flare
from conftest import connected_cluster, NEVER, node_ids, on, wait_for
from flare.util import ActorPool


@pytest.fixture(scope="module")
def three_nodes():
    with connected_cluster({"num_cpus": 1}, {"num_cpus": 1, "resources": {"gadget": 1}},
                           {"num_cpus": 1}) as cluster:
        yield cluster


def process_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@flare.remote
class Counter:
    def __init__(self, start=0):
        self.values = [start]

    def add(self, value):
        self.values.append(value)
        return self.values

    def node(self):
        return flare.get_runtime_context().get_node_id()

    def pid(self):
        return os.getpid()


def test_an_actor_needing_a_resource_only_one_node_has_is_created_there(three_nodes):
    gadget_node = node_ids(three_nodes)[1]
    counter = Counter.options(resources={"gadget": 1}).remote(10)
    assert flare.get(counter.node.remote(), timeout=NEVER) == gadget_node
    assert flare.get(counter.add.remote(1), timeout=NEVER) == [10, 1]

    @flare.remote
    def call_many(actor, start):
        return [flare.get(actor.add.remote(start + i))[-1] for i in range(4)]

    # A handle passed to a task on the third node reaches the actor too, in
    # that caller's order.
    third = node_ids(three_nodes)[2]
    assert flare.get(call_many.options(scheduling_strategy=on(third)).remote(counter, 100),
                     timeout=NEVER) == [100, 101, 102, 103]
    assert flare.get(counter.add.remote(2), timeout=NEVER) == [10, 1, 100, 101, 102, 103, 2]
    assert flare.get(counter.__ray_ready__.remote(), timeout=NEVER) is True


def test_spread_and_node_affinity_place_actors_on_every_node(three_nodes):
    # Zero CPUs: every node fits each of them whatever its load, so SPREAD
    # takes the nodes in turn.
    spread = [Counter.options(scheduling_strategy="SPREAD", num_cpus=0).remote()
              for _ in range(3)]
    assert sorted(flare.get([actor.node.remote() for actor in spread], timeout=NEVER)) == \
        sorted(node_ids(three_nodes))
    for node_id in node_ids(three_nodes):
        pinned = Counter.options(scheduling_strategy=on(node_id), num_cpus=0).remote()
        assert flare.get(pinned.node.remote(), timeout=NEVER) == node_id


def test_an_actor_pool_over_actors_on_several_nodes(three_nodes):
    actors = [Counter.options(scheduling_strategy=on(node_id), num_cpus=0).remote()
              for node_id in node_ids(three_nodes)]
    pool = ActorPool(actors)
    results = list(pool.map(lambda actor, value: actor.add.remote(value), range(12)))
    assert [values[-1] for values in results] == list(range(12))
    assert set(flare.get([actor.node.remote() for actor in actors], timeout=NEVER)) == \
        set(node_ids(three_nodes))


def test_an_actor_on_another_node_ends_when_its_last_handle_goes(three_nodes):
    counter = Counter.options(scheduling_strategy=on(node_ids(three_nodes)[2]),
                              num_cpus=0).remote()
    pid = flare.get(counter.pid.remote(), timeout=NEVER)
    pending = counter.add.remote(5)
    del counter
    # Calls already made still run, then the process goes.
    assert flare.get(pending, timeout=NEVER) == [0, 5]
    assert wait_for(lambda: process_gone(pid), NEVER)


def test_kill_reaches_an_actor_on_another_node(three_nodes):
    counter = Counter.options(scheduling_strategy=on(node_ids(three_nodes)[1]),
                              num_cpus=0).remote()
    pid = flare.get(counter.pid.remote(), timeout=NEVER)
    flare.kill(counter)
    with pytest.raises(flare.exceptions.ActorDiedError, match="kill"):
        flare.get(counter.add.remote(1), timeout=NEVER)
    assert wait_for(lambda: process_gone(pid), NEVER)


def test_a_constructor_that_raises_on_another_node_fails_the_calls_with_its_error(three_nodes):
    @flare.remote
    class Broken:
        def __init__(self):
            raise ValueError("no gadget configured")

        def ping(self):
            return "pong"

    broken = Broken.options(scheduling_strategy=on(node_ids(three_nodes)[1]),
                            num_cpus=0).remote()
    with pytest.raises(flare.exceptions.ActorDiedError, match="no gadget configured"):
        flare.get(broken.ping.remote(), timeout=NEVER)


DRIVER = """
import os, sys
import flare
from flare.util.scheduling_strategies import NodeAffinitySchedulingStrategy

flare.init(address=sys.argv[1])
node = NodeAffinitySchedulingStrategy(sys.argv[2], soft=False)

@flare.remote
class Holder:
    def pid(self):
        return os.getpid()

owned = Holder.options(scheduling_strategy=node, num_cpus=0).remote()
detached = Holder.options(scheduling_strategy=node, num_cpus=0, name="survivor",
                          namespace="cluster-actors", lifetime="detached").remote()
print(flare.get(owned.pid.remote(), timeout=60), flare.get(detached.pid.remote(), timeout=60))
"""


def test_the_actors_of_a_driver_that_exits_die_on_other_nodes_unless_detached(three_nodes):
    worker_node = node_ids(three_nodes)[2]
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(DRIVER), three_nodes.address,
                          worker_node], capture_output=True, text=True, timeout=NEVER)
    assert out.returncode == 0, out.stderr
    owned_pid, detached_pid = map(int, out.stdout.split()[-2:])
    assert wait_for(lambda: process_gone(owned_pid), NEVER)
    survivor = flare.get_actor("survivor", namespace="cluster-actors")
    assert flare.get(survivor.pid.remote(), timeout=NEVER) == detached_pid
    flare.kill(survivor)
    assert wait_for(lambda: process_gone(detached_pid), NEVER)


def test_an_actor_on_another_node_restarts_there_and_its_calls_go_on(three_nodes):
    import signal

    @flare.remote(max_restarts=1, max_task_retries=1)
    class Survivor:
        def pid(self):
            return os.getpid()

        def node(self):
            return flare.get_runtime_context().get_node_id()

    worker_node = node_ids(three_nodes)[2]
    survivor = Survivor.options(scheduling_strategy=on(worker_node), num_cpus=0).remote()
    first = flare.get(survivor.pid.remote(), timeout=NEVER)
    os.kill(first, signal.SIGKILL)
    assert wait_for(lambda: process_gone(first), NEVER)
    second = flare.get(survivor.pid.remote(), timeout=NEVER)
    assert second != first
    assert flare.get(survivor.node.remote(), timeout=NEVER) == worker_node
    os.kill(second, signal.SIGKILL)
    assert wait_for(lambda: process_gone(second), NEVER)
    with pytest.raises(flare.exceptions.ActorDiedError):
        flare.get(survivor.pid.remote(), timeout=NEVER)
