"""flare.util.multiprocessing.Pool: the standard library's Pool on actors."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest

import flare
from flare.util.multiprocessing import Pool

from conftest import wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", autouse=True)
def runtime():
    flare.init(num_cpus=2, object_store_memory=64 * 2**20)
    yield
    flare.shutdown()


def square(x):
    return x * x


def add(a, b):
    return a + b


def fail_on_three(x):
    if x == 3:
        raise KeyError("three")
    return x


def slow_identity(x):
    time.sleep(x)
    return x


def set_marker(value):
    os.environ["POOL_MARKER"] = value


def read_marker(_):
    return os.environ.get("POOL_MARKER")


def test_map_starmap_apply_and_imap_give_the_standard_results():
    with Pool(2) as pool:
        assert pool.map(square, range(20)) == [x * x for x in range(20)]
        assert pool.map(square, range(7), chunksize=3) == [x * x for x in range(7)]
        assert pool.starmap(add, [(1, 2), (3, 4)]) == [3, 7]
        assert pool.apply(add, (5, 6)) == 11
        assert pool.apply_async(add, (1,), {"b": 1}).get(timeout=30) == 2
        assert list(pool.imap(square, range(5))) == [0, 1, 4, 9, 16]
        assert sorted(pool.imap_unordered(square, range(5))) == [0, 1, 4, 9, 16]
        assert pool.map(square, []) == []


def test_errors_timeouts_and_callbacks():
    with Pool(2) as pool:
        with pytest.raises(KeyError, match="three"):
            pool.map(fail_on_three, range(5))
        result = pool.apply_async(slow_identity, (1.0,))
        with pytest.raises(multiprocessing.TimeoutError):
            result.get(timeout=0.05)
        assert not result.ready()
        assert result.get(timeout=30) == 1.0 and result.successful()
        seen = []
        pool.map_async(square, [2, 3], callback=seen.append).wait(30)
        failures = []
        pool.apply_async(fail_on_three, (3,), error_callback=failures.append).wait(30)
        assert wait_for(lambda: seen and failures)
        assert seen == [[4, 9]]
        assert isinstance(failures[0], KeyError)


def test_initializer_runs_in_every_process_and_a_closed_pool_refuses_work():
    pool = Pool(2, initializer=set_marker, initargs=("ready",))
    assert set(pool.map(read_marker, range(8), chunksize=1)) == {"ready"}
    pool.close()
    with pytest.raises(ValueError, match="not running"):
        pool.map(square, [1])
    pool.join()
    pool.terminate()
    with pytest.raises(ValueError):
        Pool(0)


def test_more_processes_than_cpus_share_them():
    with Pool(5) as pool:  # on 2 CPUs
        pids = set(pool.map(_pid, range(20), chunksize=1))
        assert len(pids) == 5


def _pid(_):
    return os.getpid()
