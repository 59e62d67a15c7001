"""runtime_env working_dir shipped across a cluster of two raylets on this
machine: a task pinned to the node the driver is not on imports a module
and reads a file from the working directory, running in that node's copy
under its session directory (the original is renamed away first). One
cluster for the module, a driver (job) per test; both shut down whatever
happens."""

from __future__ import annotations

import os
import sys

import pytest

import flare
from conftest import NEVER
from flare.cluster_utils import Cluster
from flare.util.scheduling_strategies import NodeAffinitySchedulingStrategy

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def cluster():
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1},
                      shutdown_at_exit=False)
    try:
        cluster.add_node(num_cpus=1)
        yield cluster
    finally:
        flare.shutdown()
        cluster.shutdown()


@pytest.fixture
def other_node(cluster):
    """The node beside the head (drivers connect to the head)."""
    return cluster.list_all_nodes()[1]


@pytest.fixture
def job(cluster):
    """Connects a driver with ``job(**init_args)``; disconnects after the test."""
    yield lambda **init_args: flare.init(address=cluster.address, **init_args)
    flare.shutdown()


def make_project(root, version):
    """A working directory whose module and data file say ``version``."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "shipped_helper.py").write_text(
        f"VERSION = {version!r}\n\ndef report():\n    return VERSION, __file__\n")
    (root / "data" / "input.txt").write_text(f"input {version}")
    return root


def look_here():
    import shipped_helper
    with open(os.path.join("data", "input.txt")) as relative:
        text = relative.read()
    return {"node": flare.get_runtime_context().get_node_id(), "cwd": os.getcwd(),
            "module": shipped_helper.__file__, "version": shipped_helper.VERSION, "text": text}


look = flare.remote(look_here)


@flare.remote
class Looker:
    def look(self):
        return look_here()


def pinned(node):
    return NodeAffinitySchedulingStrategy(node.node_id, soft=False)


def assert_ran_in_shipped_copy(seen, node, version):
    assert seen["node"] == node.node_id, "the task did not run on the node it was pinned to"
    assert seen["cwd"].startswith(os.path.join(node.session_dir, "runtime_resources", "")), \
        f"expected cwd under {node.session_dir}, got {seen['cwd']}"
    assert seen["module"].startswith(seen["cwd"] + os.sep), \
        f"shipped_helper came from {seen['module']}, not the shipped copy"
    assert (seen["version"], seen["text"]) == (version, f"input {version}")


def test_the_jobs_working_dir_reaches_a_task_on_another_node(job, other_node, tmp_path):
    project = make_project(tmp_path / "project", "job")
    job(runtime_env={"working_dir": str(project)})
    project.rename(tmp_path / "renamed")  # shipped at init(): the original path is gone
    seen = flare.get(look.options(scheduling_strategy=pinned(other_node)).remote(),
                     timeout=NEVER)
    assert_ran_in_shipped_copy(seen, other_node, "job")

    child_strategy = pinned(other_node)

    @flare.remote
    def parent():  # on the head; its child inherits the working_dir
        return flare.get(look.options(scheduling_strategy=child_strategy).remote())

    assert flare.get(parent.remote(), timeout=NEVER)["cwd"] == seen["cwd"]


def test_task_and_actor_options_ship_and_the_next_job_ships_new_contents(job, other_node,
                                                                           tmp_path):
    project = make_project(tmp_path / "project", "first")
    env = {"working_dir": str(project)}
    job()
    first = flare.get(look.options(runtime_env=env, scheduling_strategy=pinned(other_node))
                      .remote(), timeout=NEVER)
    assert_ran_in_shipped_copy(first, other_node, "first")
    flare.shutdown()

    make_project(project, "second")  # same path, new contents, new job
    job()
    task = look.options(runtime_env=env, scheduling_strategy=pinned(other_node)).remote()
    actor = Looker.options(runtime_env=env, scheduling_strategy=pinned(other_node)).remote()
    project.rename(tmp_path / "renamed")  # shipped at .remote()
    second = flare.get(task, timeout=NEVER)
    assert_ran_in_shipped_copy(second, other_node, "second")
    assert second["cwd"] != first["cwd"]
    assert flare.get(actor.look.remote(), timeout=NEVER) == second


def test_a_function_the_driver_imports_from_its_working_dir_runs_each_jobs_copy(
        job, other_node, tmp_path):
    # A driver run from its project imports the project's modules; their
    # functions travel by reference (module and name), so a worker must
    # import them again from each job's copy, not reuse the last job's.
    project = make_project(tmp_path / "project", "first")
    sys.path.insert(0, str(project))
    try:
        import shipped_helper
        report = flare.remote(shipped_helper.report).options(
            scheduling_strategy=pinned(other_node))
        seen = []
        for version in ("first", "second"):
            make_project(project, version)
            job(runtime_env={"working_dir": str(project)})
            seen.append(flare.get(report.remote(), timeout=NEVER))
            flare.shutdown()
    finally:
        sys.path.remove(str(project))
        sys.modules.pop("shipped_helper", None)
    assert [version for version, _ in seen] == ["first", "second"]
    assert all(path.startswith(other_node.session_dir) for _, path in seen), seen


def test_a_working_dir_over_the_limit_fails_at_submission(job, tmp_path):
    with open(tmp_path / "huge.bin", "wb") as huge:
        huge.truncate(501 * 2**20)  # sparse: nothing is written
    with pytest.raises(ValueError, match=r"init\(\).*500.0 MiB limit.*huge.bin"):
        job(runtime_env={"working_dir": str(tmp_path)})
    assert not flare.is_initialized()
    job()
    with pytest.raises(ValueError, match=r"look.*500.0 MiB limit.*huge.bin.*excludes"):
        look.options(runtime_env={"working_dir": str(tmp_path)}).remote()
