"""runtime_env: env_vars and working_dir for a job, a task or an actor."""

from __future__ import annotations

import os

import pytest

import flare

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", autouse=True)
def runtime():
    # One CPU: consecutive tasks share a worker, so leftovers would show.
    flare.init(num_cpus=1, object_store_memory=64 * 2**20,
               runtime_env={"env_vars": {"JOB_VAR": "job", "SHARED": "from-job"}})
    yield
    flare.shutdown()


@flare.remote
def read_env(*names):
    return [os.environ.get(name) for name in names]


def test_job_env_vars_reach_tasks_and_task_options_override_them():
    assert flare.get(read_env.remote("JOB_VAR", "SHARED"), timeout=30) == ["job", "from-job"]
    with_own = read_env.options(runtime_env={"env_vars": {"SHARED": "mine", "OWN": "1"}})
    assert flare.get(with_own.remote("JOB_VAR", "SHARED", "OWN"), timeout=30) == \
        ["job", "mine", "1"]
    # Undone after the task: the next one on the same worker sees the job's.
    assert flare.get(read_env.remote("SHARED", "OWN"), timeout=30) == ["from-job", None]


def test_nested_tasks_inherit_their_parents_env():
    @flare.remote
    def parent():
        return flare.get(read_env.remote("OWN", "JOB_VAR"))

    parent_with_env = parent.options(runtime_env={"env_vars": {"OWN": "parent"}})
    assert flare.get(parent_with_env.remote(), timeout=30) == ["parent", "job"]


def test_an_actor_keeps_its_env_for_life():
    @flare.remote(runtime_env={"env_vars": {"ACTOR_VAR": "a"}})
    class Reader:
        def read(self, name):
            return os.environ.get(name)

    reader = Reader.remote()
    assert flare.get([reader.read.remote("ACTOR_VAR") for _ in range(3)], timeout=30) == ["a"] * 3
    assert flare.get(reader.read.remote("JOB_VAR"), timeout=30) == "job"


def test_working_dir_is_the_tasks_cwd_and_importable(tmp_path):
    (tmp_path / "helper_module_for_env.py").write_text("VALUE = 41\n")

    @flare.remote(runtime_env={"working_dir": str(tmp_path)})
    def use_it():
        import helper_module_for_env
        return os.getcwd(), helper_module_for_env.VALUE + 1

    cwd, value = flare.get(use_it.remote(), timeout=30)
    assert cwd == str(tmp_path) and value == 42
    assert flare.get(flare.remote(os.getcwd).remote(), timeout=30) != str(tmp_path)


def test_bad_runtime_envs_are_clear_errors():
    with pytest.raises(TypeError, match="env_vars"):
        read_env.options(runtime_env={"env_vars": {"X": 1}})
    with pytest.raises(ValueError, match="unknown runtime_env field"):
        read_env.options(runtime_env={"nonsense": 1})
    with pytest.raises(ValueError, match="not a directory"):
        read_env.options(runtime_env={"working_dir": "/no/such/dir"})
    with pytest.raises(TypeError, match="dict"):
        flare.remote(runtime_env="x")(lambda: 1)
    with pytest.warns(UserWarning, match="pip"):
        read_env.options(runtime_env={"pip": ["numpy"]})
