"""Multi-node clusters on one machine: real raylets with their own ports,
stores and session directories (cluster_utils.Cluster and the ``flare``
CLI). Membership, the cluster-wide view, the token and version checks, and
clear errors for a head that is not there or a port that is taken.

Every test tears its nodes down, also when it fails (the ``cluster``
fixture), and only ends processes it started."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

import pytest

import flare
from conftest import NEVER, PYTHON, wait_for
from flare._private import node as node_module
from flare.cluster_utils import Cluster
from flare.util.scheduling_strategies import NodeAffinitySchedulingStrategy


@pytest.fixture
def cluster(head_only_cluster):
    """A head with 1 CPU; tests add nodes. Always shut down."""
    return head_only_cluster


def alive_node_ids():
    return {node["NodeID"] for node in flare.nodes() if node["Alive"]}


def test_nodes_join_and_every_driver_sees_all_of_them_with_rays_fields(cluster):
    worker = cluster.add_node(num_cpus=2, resources={"ssd": 1})
    flare.init(address=cluster.address)
    nodes = {node["NodeID"]: node for node in flare.nodes()}
    assert set(nodes) == {cluster.head_node.node_id, worker.node_id}
    head = nodes[cluster.head_node.node_id]
    assert head["IsHead"] and head["Alive"]
    assert head["NodeManagerAddress"] == "127.0.0.1"
    assert f"127.0.0.1:{head['NodeManagerPort']}" == cluster.address
    joined = nodes[worker.node_id]
    assert not joined["IsHead"]
    assert joined["NodeManagerPort"] not in (0, head["NodeManagerPort"])
    assert joined["Resources"]["CPU"] == 2 and joined["Resources"]["ssd"] == 1
    assert joined["SessionDir"] == worker.session_dir


def test_cluster_resources_sum_every_alive_node(cluster):
    cluster.add_node(num_cpus=2, resources={"ssd": 1})
    cluster.add_node(num_cpus=1)
    flare.init(address=cluster.address)
    total = flare.cluster_resources()
    assert total["CPU"] == 4 and total["ssd"] == 1
    assert wait_for(lambda: flare.available_resources().get("CPU") == 4, NEVER), \
        "every node reports its free CPUs into the view"


def test_a_removed_node_is_dead_at_once_and_leaves_the_totals(cluster):
    worker = cluster.add_node(num_cpus=2)
    flare.init(address=cluster.address)
    assert worker.node_id in alive_node_ids()
    cluster.remove_node(worker)
    assert wait_for(lambda: worker.node_id not in alive_node_ids(), NEVER)
    dead = [node for node in flare.nodes() if node["NodeID"] == worker.node_id]
    assert dead and not dead[0]["Alive"], "a dead node stays listed, not alive"
    assert flare.cluster_resources()["CPU"] == 1


def test_a_killed_node_is_dead_at_once(cluster):
    worker = cluster.add_node(num_cpus=1)
    flare.init(address=cluster.address)
    cluster.remove_node(worker, allow_graceful=False)
    assert wait_for(lambda: worker.node_id not in alive_node_ids(), NEVER)


def test_a_stopped_node_is_declared_dead_after_the_node_timeout():
    made = Cluster(initialize_head=True,
                   head_node_args={"num_cpus": 1, "node_timeout_ms": 1000},
                   shutdown_at_exit=False)
    try:
        worker = made.add_node(num_cpus=1)
        flare.init(address=made.address)
        os.kill(worker.pid, signal.SIGSTOP)
        try:
            assert wait_for(lambda: worker.node_id not in alive_node_ids(), NEVER), \
                "a hung node is noticed without its connection closing"
        finally:
            os.kill(worker.pid, signal.SIGCONT)
        # Told it is dead, the node stops itself when it resumes.
        assert wait_for(lambda: not worker.alive(), NEVER)
    finally:
        flare.shutdown()
        made.shutdown()


def test_the_driver_of_a_worker_node_uses_that_node(cluster):
    worker = cluster.add_node(num_cpus=1)
    found = node_module.find_local_node(cluster.address)
    assert found is not None and found["node_id"] == cluster.head_node.node_id, \
        "on the head's machine a driver attaches to the head's node"
    cluster.remove_node(cluster.head_node)
    assert wait_for(lambda: not worker.alive(), NEVER), \
        "a node whose head is gone stops instead of running headless"


def run_raylet(*args, timeout=30):
    with tempfile.TemporaryDirectory(prefix="flare-test-") as session:
        return subprocess.run([node_module.raylet_binary(), "--session-dir", session,
                               "--num-cpus", "1", "--object-store-memory", str(64 << 20),
                               "--python", sys.executable, *args],
                              capture_output=True, text=True, timeout=timeout)


def test_joining_with_a_wrong_or_missing_token_is_refused_saying_so(cluster):
    wrong = run_raylet("--address", cluster.address, "--token", "not-the-token",
                       "--version", flare.__version__)
    assert wrong.returncode != 0
    assert "wrong cluster token" in wrong.stderr
    missing = run_raylet("--address", cluster.address, "--version", flare.__version__)
    assert missing.returncode != 0
    assert "--token" in missing.stderr


def test_a_node_of_another_version_is_refused_naming_both(cluster):
    token = open(os.path.join(cluster.head_node.session_dir, "cluster_token")).read().strip()
    result = run_raylet("--address", cluster.address, "--token", token, "--version", "0.0.1")
    assert result.returncode != 0
    assert "0.0.1" in result.stderr and flare.__version__ in result.stderr


def test_joining_an_address_with_no_head_fails_with_a_clear_message():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_raylet("--address", f"127.0.0.1:{port}", "--token", "t",
                        "--version", flare.__version__)
    assert result.returncode != 0
    assert f"no flare head answered at 127.0.0.1:{port}" in result.stderr


def test_a_port_in_use_is_a_clear_error(cluster):
    port = cluster.address.rpartition(":")[2]
    result = run_raylet("--head", "--port", port, "--version", flare.__version__)
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_the_token_file_is_private(cluster):
    mode = os.stat(os.path.join(cluster.head_node.session_dir, "cluster_token")).st_mode
    assert mode & 0o077 == 0, oct(mode)


def test_flare_start_prints_the_join_command_and_stop_ends_every_node():
    private_tmp = tempfile.mkdtemp(prefix="fl")  # short: socket paths have a length limit
    env = dict(os.environ, TMPDIR=private_tmp)
    cli = [PYTHON, "-m", "flare.scripts"]
    head = subprocess.run(cli + ["start", "--head", "--num-cpus", "1"], capture_output=True,
                          text=True, env=env, timeout=60)
    try:
        assert head.returncode == 0, head.stderr
        join = re.search(r"flare start --address (\S+) --token (\S+)", head.stdout)
        assert join, head.stdout
        joined = subprocess.run(cli + ["start", "--address", join[1], "--token", join[2],
                                       "--num-cpus", "2"],
                                capture_output=True, text=True, env=env, timeout=60)
        assert joined.returncode == 0, joined.stderr
        status = subprocess.run(cli + ["status"], capture_output=True, text=True, env=env,
                                timeout=60)
        assert status.returncode == 0, status.stderr
        assert "nodes: 2 alive" in status.stdout
        assert "CPU: 3 / 3" in status.stdout
    finally:
        stop = subprocess.run(cli + ["stop"], capture_output=True, text=True, env=env,
                              timeout=60)
        shutil.rmtree(private_tmp, ignore_errors=True)
    assert stop.stdout.count("stopped the node") == 2, stop.stdout


@pytest.fixture
def network_namespace():
    """A network namespace joined to this one by a veth pair, each end with
    its own address: (namespace name, this side's address, its address)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for a network namespace")
    tag = os.getpid() % 10000
    name, outside, inside = f"flare{tag}", f"flo{tag}", f"fli{tag}"
    subnet = f"10.{77 + tag // 250 % 100}.{tag % 250}"
    host_ip, node_ip = f"{subnet}.1", f"{subnet}.2"
    setup = [
        ["ip", "netns", "add", name],
        ["ip", "link", "add", outside, "type", "veth", "peer", "name", inside],
        ["ip", "link", "set", inside, "netns", name],
        ["ip", "addr", "add", f"{host_ip}/24", "dev", outside],
        ["ip", "link", "set", outside, "up"],
        ["ip", "netns", "exec", name, "ip", "addr", "add", f"{node_ip}/24", "dev", inside],
        ["ip", "netns", "exec", name, "ip", "link", "set", inside, "up"],
        ["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"],
    ]
    try:
        for command in setup:
            subprocess.run(command, check=True, capture_output=True, timeout=30)
        yield name, host_ip, node_ip
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)
        subprocess.run(["ip", "link", "del", outside], capture_output=True, timeout=30)


def test_a_node_in_another_network_namespace_joins_over_its_own_address(network_namespace):
    name, host_ip, node_ip = network_namespace
    made = Cluster(initialize_head=True,
                   head_node_args={"num_cpus": 1, "node_ip_address": host_ip},
                   shutdown_at_exit=False)
    worker = None
    try:
        assert made.address.startswith(host_ip + ":")
        token = open(os.path.join(made.head_node.session_dir, "cluster_token")).read().strip()
        worker = node_module.start_raylet(
            num_cpus=1, num_gpus=None, resources={"remote": 1}, object_store_memory=64 << 20,
            driver_pid=None, head=False, address=made.address, token=token,
            node_ip_address=node_ip, command_prefix=["ip", "netns", "exec", name])
        ready = worker.wait_ready()
        flare.init(address=made.address)
        nodes = {node["NodeID"]: node for node in flare.nodes()}
        joined = nodes[ready["node_id"]]
        assert joined["Alive"] and joined["NodeManagerAddress"] == node_ip
        assert flare.cluster_resources()["remote"] == 1
        worker.stop()
        assert wait_for(lambda: not any(node["Alive"] for node in flare.nodes()
                                        if node["NodeID"] == ready["node_id"]), NEVER)
    finally:
        flare.shutdown()
        if worker is not None:
            worker.stop()
        made.shutdown()


def test_tasks_on_a_node_that_dies_retry_elsewhere_or_fail_with_its_name(events):
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1},
                      shutdown_at_exit=False)
    try:
        doomed = cluster.add_node(num_cpus=1, resources={"doomed": 1})
        flare.init(address=cluster.address)
        started, gate = events("started"), events("gate")

        @flare.remote
        def marked(started, gate):
            started.set()
            gate.wait_or_raise()
            return flare.get_runtime_context().get_node_id()

        retried = marked.options(scheduling_strategy=NodeAffinitySchedulingStrategy(doomed.node_id, soft=True),
                                 max_retries=1).remote(started, gate)
        lost = marked.options(resources={"doomed": 0.5}, max_retries=0).remote(started, gate)
        assert started.wait()
        cluster.remove_node(doomed, allow_graceful=False)
        gate.set()
        assert flare.get(retried, timeout=NEVER) == cluster.head_node.node_id
        with pytest.raises(flare.exceptions.NodeDiedError, match=doomed.node_id):
            flare.get(lost, timeout=NEVER)
    finally:
        flare.shutdown()
        cluster.shutdown()


def test_calls_to_an_actor_whose_node_is_removed_fail_with_actor_died(cluster):
    node = cluster.add_node(num_cpus=1)
    flare.init(address=cluster.address)

    @flare.remote
    class Counter:
        def __init__(self):
            self.total = 0

        def add(self, value):
            self.total += value
            return self.total

    counter = Counter.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node.node_id, False),
                              num_cpus=0).remote()
    assert flare.get(counter.add.remote(1), timeout=NEVER) == 1
    cluster.remove_node(node, allow_graceful=False)
    with pytest.raises(flare.exceptions.ActorDiedError, match=node.node_id):
        flare.get(counter.add.remote(2), timeout=NEVER)


def test_a_large_result_whose_node_is_removed_raises_object_lost_naming_the_node(cluster):
    # Large results stay where they were made: a node that goes takes them
    # along (rebuilding them from lineage is issue 14's), and a get says so
    # instead of hanging.
    import numpy as np

    node = cluster.add_node(num_cpus=1)
    flare.init(address=cluster.address)

    @flare.remote(max_retries=0)
    def make():
        return np.ones(8 << 20, dtype=np.uint8)

    ref = make.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node.node_id, False)).remote()
    flare.wait([ref], timeout=NEVER, fetch_local=False)
    cluster.remove_node(node, allow_graceful=False)
    with pytest.raises(flare.exceptions.ObjectLostError, match=node.node_id):
        flare.get(ref, timeout=NEVER)


def test_a_task_no_node_fits_waits_for_one_to_join_then_runs_there(capfd):
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "infeasible_grace_ms": 30000},
                      shutdown_at_exit=False)
    try:
        flare.init(address=cluster.address)

        @flare.remote
        def where():
            return flare.get_runtime_context().get_node_id()

        ref = where.options(resources={"late": 1}).remote()
        assert wait_for(lambda: "warning" in capfd.readouterr().err, NEVER), \
            "the driver is warned at once"
        ready, _ = flare.wait([ref], timeout=0.2)
        assert not ready
        late = cluster.add_node(num_cpus=1, resources={"late": 1})
        assert flare.get(ref, timeout=NEVER) == late.node_id
    finally:
        flare.shutdown()
        cluster.shutdown()


def test_a_task_no_node_fits_fails_after_the_grace_naming_the_largest_node():
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "infeasible_grace_ms": 200},
                      shutdown_at_exit=False)
    try:
        cluster.add_node(num_cpus=2)
        flare.init(address=cluster.address)

        @flare.remote
        def never():
            return 1

        with pytest.raises(flare.exceptions.TaskUnschedulableError, match="largest has"):
            flare.get(never.options(num_cpus=64).remote(), timeout=NEVER)
    finally:
        flare.shutdown()
        cluster.shutdown()


def test_a_pull_that_finds_no_room_goes_on_once_room_is_freed(cluster):
    import gc

    import numpy as np

    node = cluster.add_node(num_cpus=1, object_store_memory=80 << 20)
    flare.init(address=cluster.address)
    pinned = NodeAffinitySchedulingStrategy(node.node_id, soft=False)

    @flare.remote
    class Holder:
        def hold(self, array):
            self.array = array  # keeps the node's copy mapped
            return array.nbytes

        def drop(self):
            self.array = None
            gc.collect()

    @flare.remote
    def size(array):
        return array.nbytes

    holder = Holder.options(scheduling_strategy=pinned, num_cpus=0).remote()
    first = flare.put(np.ones(48 << 20, dtype=np.uint8))
    assert flare.get(holder.hold.remote(first), timeout=NEVER) == 48 << 20
    # No room on that node for a second copy while the first is mapped: the
    # pull waits (it cannot spill or unpin a mapped object) ...
    waiting = size.options(scheduling_strategy=pinned).remote(
        flare.put(np.ones(48 << 20, dtype=np.uint8)))
    # ... and goes on as soon as the first copy is freed there.
    flare.get(holder.drop.remote(), timeout=NEVER)
    del first
    assert flare.get(waiting, timeout=NEVER) == 48 << 20
