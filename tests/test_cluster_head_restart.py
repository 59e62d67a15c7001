"""The head can come back: a head killed with SIGKILL and started again on
the same port over the same GCS storage (``Cluster.restart_head``) finds
its named actors, jobs and KV, its nodes register again, and the work they
ran meanwhile completes. A node whose head never comes back keeps serving
its own work, and a request that needs the GCS fails with a clear error
after the configured bound.

Drivers here attach to a worker node's raylet (its socket), so that they
outlive the head. Every test tears its cluster down, whatever happens."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sys
import subprocess
import tempfile
import threading
from typing import Iterator

import pytest

import flare
from flare.cluster_utils import Cluster
from conftest import NEVER, FileEvent, wait_for

pytestmark = pytest.mark.timeout(180)


@flare.remote
class Counter:
    def __init__(self) -> None:
        self.count = 0

    def incr(self) -> int:
        self.count += 1
        return self.count


@contextlib.contextmanager
def crashable_cluster(**head_args) -> Iterator[tuple]:
    """A 1-CPU head, a 2-CPU node with the custom resource 'worker' and a
    1-CPU node with 'host'; this process is a driver of the 'worker' node
    (namespace 'ns'). Everything is shut down at exit."""
    # A long node timeout: a node held back (SIGSTOP) is not declared dead
    # before the test lets it come back.
    head = {"num_cpus": 1, "node_timeout_ms": 60000, **head_args}
    cluster = Cluster(initialize_head=True, head_node_args=head, shutdown_at_exit=False)
    try:
        worker = cluster.add_node(num_cpus=2, resources={"worker": 1},
                                  gcs_reconnect_timeout_s=NEVER)
        cluster.add_node(num_cpus=1, resources={"host": 1}, gcs_reconnect_timeout_s=NEVER)
        flare.init(address=worker._raylet.socket_path, namespace="ns")
        yield cluster, worker
    finally:
        flare.shutdown()
        cluster.shutdown()


def crash_and_restart_head(cluster: Cluster, worker, late=None) -> None:
    """Kills the head (SIGKILL) and starts it again; ``late``, a node, is
    held stopped until the others are back."""
    old_head = cluster.head_node.node_id
    alive = lambda: {node["NodeID"] for node in flare.nodes() if node["Alive"]}
    if late is not None:
        os.kill(late.pid, signal.SIGSTOP)
    try:
        cluster.head_node.kill(allow_graceful=False)
        assert worker.alive(), "a node does not stop when its head crashes"
        cluster.restart_head()
        assert cluster.head_node.node_id != old_head
        if late is not None:
            assert wait_for(lambda: worker.node_id in alive(), NEVER)
            assert late.node_id in alive(), \
                "a node that was alive when the head went is not taken for dead while it comes back"
    finally:
        if late is not None:
            os.kill(late.pid, signal.SIGCONT)
    everyone = {node.node_id for node in cluster.list_all_nodes()}
    assert wait_for(lambda: everyone <= alive(), NEVER), \
        "the nodes register again with the restarted head, each with its own id"


def survives_a_head_restart(cluster: Cluster, worker) -> None:
    # Owned by the driver's node, hosted by another: neither may take the
    # other for dead while both come back.
    counter = Counter.options(name="counter", lifetime="detached",
                              resources={"host": 1}).remote()
    assert flare.get([counter.incr.remote(), counter.incr.remote()]) == [1, 2]

    crash_and_restart_head(cluster, worker, late=cluster.worker_nodes[1])

    found = flare.get_actor("counter")
    assert flare.get(found.incr.remote()) == 3, "the actor kept its state"
    # A new driver, on the restarted head's node, finds it by name too.
    flare.shutdown()
    flare.init(address=cluster.address, namespace="ns")
    assert flare.get(flare.get_actor("counter").incr.remote()) == 4


def test_a_detached_named_actor_survives_a_head_restart():
    with crashable_cluster() as (cluster, worker):
        survives_a_head_restart(cluster, worker)


def test_a_long_task_submitted_before_the_crash_completes(tmp_path):
    started, release = FileEvent(tmp_path / "started"), FileEvent(tmp_path / "release")

    @flare.remote(resources={"worker": 0.1})
    def long_task(started: FileEvent, release: FileEvent) -> str:
        started.set()
        release.wait_or_raise()
        return "finished"

    with crashable_cluster() as (cluster, worker):
        ref = long_task.remote(started, release)
        assert started.wait(), "the task runs before the head crashes"
        cluster.head_node.kill(allow_graceful=False)
        release.set()  # the task finishes while the head is down ...
        assert flare.get(ref, timeout=NEVER) == "finished"
        cluster.restart_head()  # ... and the node goes on once it is back
        assert flare.get(long_task.remote(started, release), timeout=NEVER) == "finished"


def test_kv_and_function_exports_survive_a_head_restart():
    with crashable_cluster() as (cluster, worker):
        first = Counter.options(resources={"worker": 0.1}).remote()
        assert flare.get(first.incr.remote()) == 1  # exports the class to the GCS KV

        crash_and_restart_head(cluster, worker)

        # A new actor is a new worker process: it reads the class from the KV.
        second = Counter.options(resources={"worker": 0.1}).remote()
        assert flare.get(second.incr.remote()) == 1


def test_a_driver_blocked_on_the_gcs_while_the_head_is_down_resumes_when_it_is_back():
    with crashable_cluster() as (cluster, worker):
        counter = Counter.options(name="counter", resources={"worker": 0.1}).remote()
        assert flare.get(counter.incr.remote()) == 1
        cluster.head_node.kill(allow_graceful=False)
        found = []
        lookup = threading.Thread(target=lambda: found.append(flare.get_actor("counter")))
        lookup.start()
        lookup.join(0.5)  # not a measurement: the lookup cannot end while the head is down
        assert lookup.is_alive() and not found, "a lookup waits for the head instead of failing"
        cluster.restart_head()
        lookup.join(NEVER)
        assert found, "the lookup resumed once the head was back"
        assert flare.get(found[0].incr.remote()) == 2


def flare_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flare.scripts", *args], capture_output=True,
                          text=True, env=env, timeout=NEVER)


def test_flare_start_head_restarts_a_crashed_head_on_its_port_and_storage(tmp_path):
    # A private TMPDIR (short: socket paths have a length limit): its own
    # sessions and cluster file.
    private_tmp = tempfile.mkdtemp(prefix="fl")
    env = dict(os.environ, TMPDIR=private_tmp)
    storage = str(tmp_path / "gcs.sqlite")
    port = str(free_port())
    try:
        head = flare_cli("start", "--head", "--port", port, "--num-cpus", "1",
                         "--gcs-storage", storage, env=env)
        assert head.returncode == 0, head.stderr
        assert f"--gcs-storage {storage}" in head.stdout, "the restart command is printed"
        token = head.stdout.split("--token ")[1].split()[0]
        node = flare_cli("start", "--address", f"127.0.0.1:{port}", "--token", token,
                         "--num-cpus", "1", env=env)
        assert node.returncode == 0, node.stderr
        head_pid = int(head.stdout.split("(pid ")[1].split(")")[0])
        os.kill(head_pid, signal.SIGKILL)

        again = flare_cli("start", "--head", "--port", port, "--num-cpus", "1",
                          "--gcs-storage", storage, env=env)
        assert again.returncode == 0, again.stderr
        assert token in again.stdout, "the restarted head keeps the cluster's token"
        status = lambda: flare_cli("status", env=env).stdout
        assert wait_for(lambda: "nodes: 2 alive, 1 dead" in status(), NEVER), \
            f"the node registers again; the old head is dead: {status()}"
    finally:
        flare_cli("stop", env=env)
        shutil.rmtree(private_tmp, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A redis-server of this test's own on a free port; yields its URL."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.access(binary, os.X_OK):
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    directory = tempfile.mkdtemp(prefix="flare-redis-")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", directory],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def answers() -> bool:
            assert process.poll() is None, "redis-server exited"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
            return False
        assert wait_for(answers, NEVER), "redis-server did not answer"
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def test_a_detached_named_actor_survives_a_head_restart_over_redis():
    with redis_server() as url:
        with crashable_cluster(gcs_storage=url) as (cluster, worker):
            survives_a_head_restart(cluster, worker)


def test_a_node_whose_head_never_returns_serves_local_work_and_gcs_calls_fail_clearly():
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1},
                      shutdown_at_exit=False)
    try:
        worker = cluster.add_node(num_cpus=1, resources={"worker": 1},
                                  gcs_reconnect_timeout_s=2)
        flare.init(address=worker._raylet.socket_path, namespace="ns")

        @flare.remote(resources={"worker": 0.1})
        def square(x: int) -> int:
            return x * x

        counter = Counter.options(resources={"worker": 0.1}).remote()
        assert flare.get([square.remote(3), counter.incr.remote()]) == [9, 1]

        cluster.head_node.kill(allow_graceful=False)

        assert flare.get([square.remote(4), counter.incr.remote()], timeout=NEVER) == [16, 2], \
            "work the node can do alone goes on without the head"
        # A new worker process loads the class and enters the job from what
        # the node kept of the GCS's answers.
        another = Counter.options(resources={"worker": 0.1}).remote()
        assert flare.get(another.incr.remote(), timeout=NEVER) == 1
        with pytest.raises(Exception) as failed:
            flare.get_actor("never-registered")
        assert "FLARE_GCS_RECONNECT_TIMEOUT_S" in str(failed.value), \
            f"the error says the head is unreachable and what bounds the wait: {failed.value}"
        assert "unreachable" in str(failed.value)
        assert worker.alive()
    finally:
        flare.shutdown()
        cluster.shutdown()
