"""Shared fixtures: a flare runtime per test module, and leak checks."""

from __future__ import annotations

import os
import subprocess

import pytest

import flare


def raylet_pids() -> set:
    """Pids of the flare-raylet processes of the installation under test (not
    those of another checkout's tests running on the same machine)."""
    from flare._private.node import raylet_binary
    result = subprocess.run(["pgrep", "-f", raylet_binary()], capture_output=True, text=True)
    return {int(pid) for pid in result.stdout.split()}


def children_of(pid: int) -> set:
    result = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return {int(child) for child in result.stdout.split()}


@pytest.fixture(scope="module")
def flare_2cpu():
    """A local 2-CPU node shared by the tests of one module."""
    flare.init(num_cpus=2, object_store_memory=512 * 2**20)
    yield flare
    flare.shutdown()


@pytest.fixture
def fresh_flare():
    """A node for one test; the test may call init itself via the returned function."""
    started = []

    def start(**kwargs):
        kwargs.setdefault("num_cpus", 2)
        kwargs.setdefault("object_store_memory", 256 * 2**20)
        info = flare.init(**kwargs)
        started.append(info)
        return info

    yield start
    flare.shutdown()


@pytest.fixture(autouse=True, scope="session")
def no_leftover_raylets():
    before = raylet_pids()
    yield
    flare.shutdown()
    leftover = raylet_pids() - before
    assert not leftover, f"flare-raylet processes left running after the tests: {leftover}"

