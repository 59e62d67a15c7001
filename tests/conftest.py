"""Shared fixtures and helpers: a flare runtime per test module, leak checks,
file-system events that tasks and the test synchronise on, and drivers run
in processes of their own.

Tests state order, not time: a test waits for an event, a file or a state
(with a generous deadline, so that a regression fails instead of hanging)
and asserts what happened before what, never how long something took.
Helpers here are imported as ``from conftest import ...``; worker processes
import this module too when a task uses one of them (the driver's sys.path
reaches the workers)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from typing import Callable, Iterator

import pytest

import flare
from flare.cluster_utils import Cluster

PYTHON = sys.executable

# A deadline no healthy run comes near: it turns a hang into a failure.
NEVER = 60.0


# ---- waiting for a condition --------------------------------------------------

def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Polls ``condition`` until it holds or ``timeout`` seconds pass; returns
    whether it held. The timeout is a bound against hangs, not a measurement."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class FileEvent:
    """A threading.Event that lives in the file system, so that the test, its
    tasks and actors, and other drivers can all set and wait for it. Picklable:
    it is only a path."""

    def __init__(self, path: os.PathLike | str) -> None:
        self.path = str(path)

    def set(self) -> None:
        open(self.path, "a").close()

    def is_set(self) -> bool:
        return os.path.exists(self.path)

    def wait(self, timeout: float = NEVER) -> bool:
        return wait_for(self.is_set, timeout)

    def wait_or_raise(self, timeout: float = NEVER) -> None:
        """For tasks: returns once set, raises TimeoutError if it never is."""
        if not self.wait(timeout):
            raise TimeoutError(f"{self.path} was never set")

    def __repr__(self) -> str:
        return f"FileEvent({os.path.basename(self.path)})"


@pytest.fixture
def events(tmp_path) -> Iterator[Callable[[str], FileEvent]]:
    """``events(name)`` makes a FileEvent in the test's temporary directory.
    At the end of the test every one is set, so that tasks still waiting on a
    gate finish instead of holding a CPU for the next test."""
    made = []

    def make(name: str) -> FileEvent:
        event = FileEvent(tmp_path / f"{name}.event")
        made.append(event)
        return event

    yield make
    for event in made:
        event.set()


def mark_and_wait(marker: str, release: FileEvent | None = None) -> str:
    """A task body: touches marker+'.started', waits until ``release`` is set
    (sleeps 600 s if there is none), then touches marker+'.done';
    marker+'.finally' on any way out. A task cancelled while it waits never
    reaches '.done'. Wrap it with flare.remote to use it."""
    try:
        # Inside the try: a cancel right after this is seen must reach finally.
        FileEvent(marker + ".started").set()
        if release is None:
            time.sleep(600)
        else:
            release.wait_or_raise()
        FileEvent(marker + ".done").set()
    finally:
        FileEvent(marker + ".finally").set()
    return "released"


def rendezvous(directory: str, me: str, others: list, timeout: float = NEVER) -> bool:
    """Marks ``me`` as arrived in ``directory`` and waits until every one of
    ``others`` has arrived too: returns True only if all were there at once.
    Tasks call it to show that they ran at the same time."""
    FileEvent(os.path.join(directory, me)).set()
    return wait_for(lambda: all(os.path.exists(os.path.join(directory, other))
                                for other in others), timeout)


# ---- processes ------------------------------------------------------------------

def raylet_pids() -> set:
    """Pids of the flare-raylet processes of the installation under test (not
    those of another checkout's tests running on the same machine)."""
    from flare._private.node import raylet_binary
    result = subprocess.run(["pgrep", "-f", raylet_binary()], capture_output=True, text=True)
    return {int(pid) for pid in result.stdout.split()}


def children_of(pid: int) -> set:
    result = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return {int(child) for child in result.stdout.split()}


def process_gone(pid: int) -> bool:
    """True once ``pid`` has exited; a zombie counts as gone (its parent, the
    raylet, reaps it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def any_alive(pids) -> bool:
    return not all(process_gone(pid) for pid in pids)


def driver_env(env=None) -> dict:
    """``env`` (default: this process's) with this folder on PYTHONPATH, so
    that a driver program, and its workers, can import conftest."""
    env = dict(os.environ if env is None else env)
    here = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    return env


def run_script(source: str, timeout: float = 90, env=None) -> subprocess.CompletedProcess:
    """Runs a driver program (dedented) to its end in a fresh interpreter. It
    is written to a file, so that its functions have a source file."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(textwrap.dedent(source))
    try:
        return subprocess.run([PYTHON, script.name], capture_output=True, text=True,
                              timeout=timeout, env=driver_env(env))
    finally:
        os.unlink(script.name)


def start_driver(source: str, env=None, **popen_kwargs) -> subprocess.Popen:
    """Starts a driver program (dedented) with text pipes for stdout and stderr
    (and stdin if asked for); the test talks to it line by line."""
    popen_kwargs.setdefault("stdout", subprocess.PIPE)
    popen_kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([PYTHON, "-c", textwrap.dedent(source)], text=True,
                            env=driver_env(env), **popen_kwargs)


@pytest.fixture
def head_only_cluster():
    """A cluster of a head with 1 CPU; tests add nodes. Always shut down."""
    made = Cluster(initialize_head=True, head_node_args={"num_cpus": 1},
                   shutdown_at_exit=False)
    try:
        yield made
    finally:
        flare.shutdown()
        made.shutdown()


@contextlib.contextmanager
def private_head(num_cpus: int) -> Iterator[dict]:
    """A head node started with ``flare start --head`` in a private temporary
    directory (its own cluster file, so a developer's head is untouched).
    Yields the environment under which ``init(address="auto")`` joins it."""
    private_tmp = tempfile.mkdtemp(prefix="fl")
    env = dict(os.environ, TMPDIR=private_tmp)
    start = subprocess.run([PYTHON, "-m", "flare.scripts", "start", "--head", "--num-cpus",
                            str(num_cpus)], capture_output=True, text=True, env=env, timeout=60)
    assert start.returncode == 0, start.stderr
    try:
        yield env
    finally:
        subprocess.run([PYTHON, "-m", "flare.scripts", "stop"], env=env, timeout=60)
        shutil.rmtree(private_tmp, ignore_errors=True)


@contextlib.contextmanager
def connected_cluster(head: dict, *nodes: dict) -> Iterator[Cluster]:
    """A cluster on this machine (cluster_utils.Cluster): a head started
    with the ``add_node`` arguments ``head``, a node for each of ``nodes``,
    and this process ``flare.init``-ed to it. Shut down at exit whatever
    happens."""
    cluster = Cluster(initialize_head=True, head_node_args=head, shutdown_at_exit=False)
    try:
        for node in nodes:
            cluster.add_node(**node)
        flare.init(address=cluster.address)
        yield cluster
    finally:
        flare.shutdown()
        cluster.shutdown()


def one_cpu_nodes(count: int, store: int):
    """``connected_cluster`` of ``count`` one-CPU nodes (the head first) with
    ``store`` bytes of object store each."""
    node = {"num_cpus": 1, "object_store_memory": store}
    return connected_cluster(*[node] * count)


def node_ids(cluster: Cluster) -> list:
    """The ids of the cluster's nodes, the head first."""
    return [node.node_id for node in cluster.list_all_nodes()]


def on(node, soft: bool = False):
    """Node affinity to ``node`` (a cluster node handle, or a node id)."""
    from flare.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    return NodeAffinitySchedulingStrategy(getattr(node, "node_id", node), soft=soft)


# ---- runtimes ---------------------------------------------------------------------

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

