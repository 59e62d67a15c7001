"""GPU devices: each task or actor that asks for GPUs is given its own
(CUDA_VISIBLE_DEVICES, get_gpu_ids()), fractions share one, and a device
goes back when its task or actor ends. The node declares GPUs it does not
need to have: flare only hands the ids out."""

from __future__ import annotations

import os

import pytest

import flare

from conftest import rendezvous, wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", autouse=True)
def runtime():
    flare.init(num_cpus=4, num_gpus=2, object_store_memory=64 * 2**20)
    yield
    flare.shutdown()


@flare.remote(num_gpus=1)
def whole_gpu(meeting=None):
    if meeting is not None:
        rendezvous(*meeting)  # hold the device until the others run too
    return flare.get_gpu_ids(), os.environ.get("CUDA_VISIBLE_DEVICES")


@flare.remote(num_gpus=0.5)
def half_gpu(meeting):
    rendezvous(*meeting)
    return flare.get_gpu_ids()


def meetings(directory, n):
    """Arguments for n tasks that each wait until all n run at once."""
    names = [str(i) for i in range(n)]
    return [(str(directory), name, [other for other in names if other != name])
            for name in names]


def test_concurrent_tasks_get_distinct_devices(tmp_path):
    results = flare.get([whole_gpu.remote(meeting) for meeting in meetings(tmp_path, 2)],
                        timeout=90)
    assert sorted(ids[0] for ids, _ in results) == [0, 1]
    for ids, visible in results:
        assert visible == str(ids[0])


def test_fractions_pack_two_to_a_device(tmp_path):
    ids = flare.get([half_gpu.remote(meeting) for meeting in meetings(tmp_path, 4)], timeout=90)
    assert sorted(i[0] for i in ids) == [0, 0, 1, 1]


def test_tasks_without_gpus_see_none():
    @flare.remote
    def no_gpu():
        return flare.get_gpu_ids(), os.environ.get("CUDA_VISIBLE_DEVICES")

    assert flare.get(no_gpu.remote(), timeout=30) == ([], None)
    assert flare.get_gpu_ids() == []


def test_an_actor_holds_its_device_until_it_ends():
    @flare.remote(num_gpus=1)
    class OnGpu:
        def ids(self):
            return flare.get_gpu_ids()

    actor = OnGpu.remote()
    [held] = flare.get(actor.ids.remote(), timeout=30)
    # Meanwhile tasks only get the other device.
    others = flare.get([whole_gpu.remote() for _ in range(2)], timeout=30)
    assert {ids[0] for ids, _ in others} == {1 - held}
    flare.kill(actor)
    assert wait_for(lambda: flare.available_resources().get("GPU") == 2)
    results = flare.get([whole_gpu.remote(), whole_gpu.remote()], timeout=30)
    assert sorted(ids[0] for ids, _ in results) == [0, 1]


def test_tasks_in_a_placement_group_get_devices_too():
    from flare.util import placement_group, remove_placement_group
    from flare.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    group = placement_group([{"GPU": 1, "CPU": 1}, {"GPU": 1, "CPU": 1}])
    assert group.wait(10)
    results = flare.get([whole_gpu.options(scheduling_strategy=PlacementGroupSchedulingStrategy(
        group, i)).remote() for i in range(2)], timeout=30)
    assert sorted(ids[0] for ids, _ in results) == [0, 1]
    remove_placement_group(group)
