"""get and wait: timeouts, ordering and argument checks."""

from __future__ import annotations

import pytest

import flare
from flare import exceptions


@flare.remote
def when_set(event, value):
    """Returns ``value`` once ``event`` is set: until then the task is running."""
    event.wait_or_raise()
    return value


def test_get_timeout_raises_get_timeout_error_while_the_task_runs(flare_2cpu, events):
    release = events("release")
    ref = when_set.remote(release, "late")
    with pytest.raises(exceptions.GetTimeoutError):
        flare.get(ref, timeout=0.3)
    assert isinstance(exceptions.GetTimeoutError("x"), TimeoutError)
    release.set()
    assert flare.get(ref, timeout=60) == "late"  # the task kept running


def test_get_timeout_zero_polls(flare_2cpu, events):
    ready = flare.put(1)
    assert flare.get(ready, timeout=0) == 1
    with pytest.raises(exceptions.GetTimeoutError):
        flare.get(when_set.remote(events("never"), 0), timeout=0)


def test_wait_returns_once_num_returns_are_ready(flare_2cpu, events):
    release, already_open = events("release-slow"), events("open")
    already_open.set()
    fast = when_set.remote(already_open, "fast")
    slow = when_set.remote(release, "slow")
    ready, not_ready = flare.wait([slow, fast], num_returns=1, timeout=60)
    # slow cannot end before the test releases it: wait returned with fast alone.
    assert ready == [fast] and not_ready == [slow]
    release.set()
    assert flare.get(slow, timeout=60) == "slow"


def test_repeated_wait_hands_results_over_in_completion_order(flare_2cpu, events):
    # num_cpus=0: all three run at once, whatever earlier tests left running.
    gates = {name: events(name) for name in ("a", "b", "c")}
    refs = [when_set.options(num_cpus=0).remote(gate, name) for name, gate in gates.items()]
    order = []
    for name in ("b", "c", "a"):  # the order in which the tasks are let finish
        gates[name].set()
        ready, refs = flare.wait(refs, num_returns=1, timeout=60)
        order.append(flare.get(ready[0]))
    assert order == ["b", "c", "a"]


def test_wait_keeps_input_order_in_both_lists(flare_2cpu, events):
    refs = [flare.put(i) for i in range(5)]
    pending = when_set.remote(events("never"), None)
    ready, not_ready = flare.wait(refs[:2] + [pending] + refs[2:], num_returns=4, timeout=60)
    assert ready == refs[:4]
    assert not_ready == [pending, refs[4]]


def test_wait_timeout_returns_what_is_ready(flare_2cpu, events):
    slow = when_set.remote(events("never"), None)
    done = flare.put(1)
    ready, not_ready = flare.wait([slow, done], num_returns=2, timeout=0.3)
    assert ready == [done] and not_ready == [slow]


def test_wait_rejects_duplicates(flare_2cpu):
    ref = flare.put(1)
    with pytest.raises(ValueError, match="unique"):
        flare.wait([ref, ref])


def test_wait_rejects_num_returns_larger_than_list(flare_2cpu):
    with pytest.raises(ValueError, match="num_returns"):
        flare.wait([flare.put(1)], num_returns=2)


def test_wait_on_nothing_returns_two_empty_lists(flare_2cpu):
    assert flare.wait([]) == ([], [])


def test_wait_rejects_non_refs(flare_2cpu):
    with pytest.raises(TypeError):
        flare.wait([1, 2])


def test_get_rejects_non_refs(flare_2cpu):
    with pytest.raises(TypeError, match="ObjectRef"):
        flare.get(42)
    with pytest.raises(TypeError, match="ObjectRef"):
        flare.get([flare.put(1), "not a ref"])
