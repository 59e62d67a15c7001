"""Remote functions: submission, arguments, returns, errors and parallelism."""

from __future__ import annotations

import numpy as np
import pytest

import flare
from flare import exceptions

from conftest import rendezvous


@flare.remote
def double(x):
    return x * 2


@flare.remote
def add(a, b=0):
    return a + b


@flare.remote
def echo(value):
    return value


@flare.remote
def meet(directory, me, others):
    """True if every task named in ``others`` was running while this one was."""
    return rendezvous(directory, me, others)


@flare.remote
def wait_for_event(event):
    event.wait_or_raise()
    return "through"


@flare.remote(num_returns=3)
def three():
    return 1, 2, 3


@flare.remote
def fail(message):
    raise ValueError(message)


def test_task_result_comes_back(flare_2cpu):
    assert flare.get(double.remote(21)) == 42


def test_get_of_a_list_keeps_order(flare_2cpu):
    assert flare.get([double.remote(i) for i in range(20)]) == [2 * i for i in range(20)]


def test_keyword_arguments_arrive(flare_2cpu):
    assert flare.get(add.remote(1, b=2)) == 3


def test_top_level_ref_argument_arrives_as_value(flare_2cpu):
    ref = flare.put(20)
    assert flare.get(add.remote(ref, b=flare.put(1))) == 21


def test_ref_of_a_task_result_pipelines_into_the_next_task(flare_2cpu):
    assert flare.get(double.remote(double.remote(double.remote(1)))) == 8


def test_nested_refs_arrive_as_refs(flare_2cpu):
    @flare.remote
    def kinds(items, mapping):
        return ([type(item).__name__ for item in items], type(mapping["k"]).__name__,
                flare.get(items), flare.get(mapping["k"]))

    refs = [flare.put(1), flare.put(2)]
    names, mapped, values, mapped_value = flare.get(kinds.remote(refs, {"k": flare.put(3)}))
    assert names == ["ObjectRef", "ObjectRef"]
    assert mapped == "ObjectRef"
    assert values == [1, 2] and mapped_value == 3


def test_refs_captured_in_a_closure_work(flare_2cpu):
    captured = flare.put(7)

    @flare.remote
    def read_captured():
        return flare.get(captured) + 1

    assert flare.get(read_captured.remote()) == 8


def test_num_returns_gives_that_many_refs(flare_2cpu):
    refs = three.remote()
    assert isinstance(refs, list) and len(refs) == 3
    assert flare.get(refs) == [1, 2, 3]


def test_num_returns_mismatch_is_an_error(flare_2cpu):
    with pytest.raises(ValueError, match="num_returns=2"):
        flare.get(three.options(num_returns=2).remote()[0])


def test_num_returns_zero_returns_none(flare_2cpu):
    assert three.options(num_returns=0).remote() is None


def test_task_exception_is_both_task_error_and_original(flare_2cpu):
    with pytest.raises(ValueError) as caught:
        flare.get(fail.remote("the message"))
    error = caught.value
    assert isinstance(error, exceptions.RayTaskError)
    assert isinstance(error, exceptions.TaskError)
    assert "the message" in str(error)
    assert "Traceback" in str(error) and "fail" in str(error)
    assert error.args == ("the message",)


def test_error_propagates_to_dependent_tasks(flare_2cpu):
    with pytest.raises(ValueError, match="upstream"):
        flare.get(double.remote(fail.remote("upstream")))


def test_tasks_submit_tasks_and_wait_without_deadlock(flare_2cpu):
    @flare.remote
    def fan_out(depth):
        if depth == 0:
            return 1
        return sum(flare.get([fan_out.remote(depth - 1) for _ in range(2)]))

    # 2 CPUs, 15 tasks all blocking in get at the same time: only works if
    # blocked workers give their CPU back.
    assert flare.get(fan_out.remote(3), timeout=60) == 8


def test_two_tasks_on_two_cpus_run_at_the_same_time(flare_2cpu, tmp_path):
    # Each waits until it sees the other running: one at a time, neither would.
    together = flare.get([meet.remote(str(tmp_path), "a", ["b"]),
                          meet.remote(str(tmp_path), "b", ["a"])], timeout=90)
    assert together == [True, True], "two tasks on 2 CPUs did not run at the same time"


def test_large_numpy_result_is_a_read_only_view_of_shared_memory(flare_2cpu):
    @flare.remote
    def make(n):
        return np.arange(n, dtype=np.int64)

    array = flare.get(make.remote(4_000_000))
    assert array.sum() == sum(range(4_000_000))
    assert not array.flags.writeable
    assert not array.flags.owndata  # a view, not a copy


def test_small_values_round_trip_inline(flare_2cpu):
    values = [None, 1, 2.5, "text", b"bytes", (1, 2), [1, [2]], {"a": {"b": 1}}, {1, 2}]
    assert flare.get([flare.put(v) for v in values]) == values


def test_put_of_large_array_gets_back_equal_array(flare_2cpu):
    original = np.random.default_rng(0).random((1000, 1000))
    ref = flare.put(original)
    copy = flare.get(ref)
    assert np.array_equal(original, copy)
    assert not copy.flags.writeable


def test_numpy_array_argument_by_value(flare_2cpu):
    original = np.ones(1_000_000)
    assert flare.get(echo.remote(original)).sum() == 1_000_000


def test_object_ref_is_hashable_and_readable(flare_2cpu):
    ref = flare.put(1)
    assert ref in {ref}
    assert len(ref.hex()) == 40
    assert repr(ref) == f"ObjectRef({ref.hex()})"
    assert ref == flare.ObjectRef(ref.binary())


def test_options_override_resources(flare_2cpu):
    assert flare.get(double.options(num_cpus=0.5).remote(2)) == 4


def test_zero_cpu_tasks_run(flare_2cpu):
    assert flare.get(double.options(num_cpus=0).remote(2)) == 4


def test_lambda_and_closure_functions_run(flare_2cpu):
    offset = 10
    remote_lambda = flare.remote(lambda x: x + offset)
    assert flare.get(remote_lambda.remote(1)) == 11


def test_runtime_context_has_ids(flare_2cpu):
    @flare.remote
    def ids():
        context = flare.get_runtime_context()
        return context.get_job_id(), context.get_task_id(), context.get_node_id()

    job, task, node = flare.get(ids.remote())
    driver = flare.get_runtime_context()
    assert job == driver.get_job_id()
    assert task is not None and driver.get_task_id() is None
    assert node == driver.get_node_id()


def test_assigned_resources_are_the_tasks_request(flare_2cpu):
    @flare.remote
    def assigned():
        return flare.get_runtime_context().get_assigned_resources()

    assert flare.get(assigned.remote(), timeout=30) == {"CPU": 1.0}
    assert flare.get(assigned.options(num_cpus=0.5).remote(), timeout=30) == {"CPU": 0.5}
    assert flare.get_runtime_context().get_assigned_resources() == {}


def test_cluster_and_available_resources(flare_2cpu):
    total = flare.cluster_resources()
    assert total["CPU"] == 2
    assert "object_store_memory" in total
    assert flare.available_resources()["CPU"] <= 2
    nodes = flare.nodes()
    assert len(nodes) == 1 and nodes[0]["Alive"]


def test_retry_exceptions_retries_matching_errors(flare_2cpu, tmp_path):
    marker = tmp_path / "attempts"

    @flare.remote(max_retries=2, retry_exceptions=[KeyError])
    def flaky(path):
        import os
        count = len(os.listdir(path))
        open(os.path.join(path, str(count)), "w").close()
        if count < 2:
            raise KeyError("again")
        return count

    marker.mkdir()
    assert flare.get(flaky.remote(str(marker))) == 2


def test_short_tasks_are_not_stuck_behind_a_long_one(flare_2cpu, events):
    release = events("release-long")
    long_ref = wait_for_event.remote(release)
    shorts = [double.remote(i) for i in range(12)]
    # One CPU is held by the long task until the test releases it; the other
    # runs the 12 short ones meanwhile.
    assert flare.get(shorts, timeout=60) == [2 * i for i in range(12)]
    assert flare.wait([long_ref], timeout=0)[0] == [], "the long task ended before its release"
    release.set()
    assert flare.get(long_ref, timeout=60) == "through"
