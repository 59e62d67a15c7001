"""get and wait: timeouts, ordering and argument checks."""

from __future__ import annotations

import time

import pytest

import flare
from flare import exceptions


@flare.remote
def sleep_then(seconds, value):
    time.sleep(seconds)
    return value


def test_get_timeout_raises_get_timeout_error(flare_2cpu):
    ref = sleep_then.remote(2, "late")
    start = time.monotonic()
    with pytest.raises(exceptions.GetTimeoutError):
        flare.get(ref, timeout=0.3)
    assert time.monotonic() - start < 1.0
    assert isinstance(exceptions.GetTimeoutError("x"), TimeoutError)
    assert flare.get(ref, timeout=10) == "late"  # the task kept running


def test_get_timeout_zero_polls(flare_2cpu):
    ready = flare.put(1)
    assert flare.get(ready, timeout=0) == 1
    with pytest.raises(exceptions.GetTimeoutError):
        flare.get(sleep_then.remote(1, 0), timeout=0)


def test_wait_returns_as_soon_as_num_returns_are_ready(flare_2cpu):
    fast = sleep_then.remote(0.05, "fast")
    slow = sleep_then.remote(3, "slow")
    start = time.monotonic()
    ready, not_ready = flare.wait([slow, fast], num_returns=1)
    assert time.monotonic() - start < 2
    assert ready == [fast] and not_ready == [slow]


def test_repeated_wait_hands_results_over_in_completion_order(flare_2cpu):
    # num_cpus=0: all three run at once, whatever earlier tests left running.
    refs = [sleep_then.options(num_cpus=0).remote(delay, delay) for delay in (1.5, 0.1, 0.7)]
    order = []
    while refs:
        ready, refs = flare.wait(refs, num_returns=1)
        order.append(flare.get(ready[0]))
    assert order == [0.1, 0.7, 1.5]


def test_wait_keeps_input_order_in_both_lists(flare_2cpu):
    refs = [flare.put(i) for i in range(5)]
    pending = sleep_then.remote(5, None)
    ready, not_ready = flare.wait(refs[:2] + [pending] + refs[2:], num_returns=4, timeout=2)
    assert ready == refs[:4]
    assert not_ready == [pending, refs[4]]


def test_wait_timeout_returns_what_is_ready(flare_2cpu):
    slow = sleep_then.remote(3, None)
    done = flare.put(1)
    start = time.monotonic()
    ready, not_ready = flare.wait([slow, done], num_returns=2, timeout=0.3)
    assert 0.25 < time.monotonic() - start < 1.5
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
