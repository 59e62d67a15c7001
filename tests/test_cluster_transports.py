"""The transports between nodes: every raylet serves both the raw link and
the gRPC stream for messages between raylets (``--peer-transport``), and
both raw data connections and gRPC streams for object transfer
(``--object-transport``). The default (raw, raw) carries every other
cluster test; here the same cross-node work runs over each choice, so the
one not in use by default keeps working. The raylet is started through a
wrapper (``FLARE_RAYLET_BINARY``) that adds the flags."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

import flare
from flare._private import node as node_module
from flare.cluster_utils import Cluster
from flare.util.scheduling_strategies import NodeAffinitySchedulingStrategy


@pytest.fixture
def raylet_with(tmp_path, monkeypatch):
    """Makes every raylet started from here on run with `flags`."""
    real = node_module.raylet_binary()

    def use(*flags: str) -> None:
        wrapper = tmp_path / "flare-raylet"
        wrapper.write_text('#!/bin/sh\nexec "{}" "$@" {}\n'.format(real, " ".join(flags)))
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
        monkeypatch.setenv("FLARE_RAYLET_BINARY", str(wrapper))

    return use


@pytest.mark.parametrize("peer,objects", [("grpc", "grpc"), ("grpc", "raw"), ("raw", "grpc")])
def test_cross_node_work_runs_over_each_transport(raylet_with, peer, objects):
    raylet_with("--peer-transport", peer, "--object-transport", objects)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1},
                      shutdown_at_exit=False)
    try:
        other = cluster.add_node(num_cpus=1)
        flare.init(address=cluster.address)
        there = NodeAffinitySchedulingStrategy(other.node_id, soft=False)

        @flare.remote(num_cpus=0)
        def where(x):
            return flare.get_runtime_context().get_node_id(), x + 1

        @flare.remote(num_cpus=0)
        def total(array):
            return float(array.sum())

        @flare.remote(num_cpus=0)
        def make(n):
            return np.ones(n, dtype=np.uint8)

        @flare.remote(num_cpus=0)
        class Counter:
            def __init__(self):
                self.n = 0

            def add(self):
                self.n += 1
                return self.n

        assert [flare.get(where.options(scheduling_strategy=there).remote(i), timeout=60)
                for i in range(20)] == [(other.node_id, i + 1) for i in range(20)]
        counter = Counter.options(scheduling_strategy=there).remote()
        assert flare.get([counter.add.remote() for _ in range(50)], timeout=60) == \
            list(range(1, 51))
        size = 24 << 20  # several chunks each way
        assert flare.get(make.options(scheduling_strategy=there).remote(size),
                         timeout=60).sum() == size
        assert flare.get(total.options(scheduling_strategy=there).remote(
            flare.put(np.ones(size, dtype=np.uint8))), timeout=60) == size
    finally:
        flare.shutdown()
        cluster.shutdown()
