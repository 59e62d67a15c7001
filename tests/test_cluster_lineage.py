"""Lineage reconstruction: a task's large result stays on the node that made
it; when that node dies before anyone here read it, the owner runs the task
again to make it (spending one of its retries), rebuilding lost arguments
first. What cannot be made again (max_retries=0) raises ObjectLostError
saying why. Every test tears its nodes down (the ``cluster`` fixture)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import flare
from conftest import NEVER
from flare import exceptions
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
