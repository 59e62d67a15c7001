"""runtime_env: env_vars and working_dir for a job, a task or an actor."""

from __future__ import annotations

import os

import pytest

import flare

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", autouse=True)
def runtime():
    # One CPU: consecutive tasks share a worker, so leftovers would show.
    yield flare.init(num_cpus=1, object_store_memory=64 * 2**20,
                     runtime_env={"env_vars": {"JOB_VAR": "job", "SHARED": "from-job"}})
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


def test_working_dir_is_a_copy_in_the_session_dir_that_is_the_tasks_cwd(runtime, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "helper_module_for_env.py").write_text("VALUE = 41\n")
    (project / "input.txt").write_text("from the working dir")

    @flare.remote(runtime_env={"working_dir": str(project)})
    def use_it():
        import helper_module_for_env
        with open("input.txt") as relative:
            text = relative.read()
        return os.getcwd(), helper_module_for_env.VALUE + 1, text

    first = use_it.remote()
    project.rename(tmp_path / "moved")  # packed at .remote(): the original is not read again
    cwd, value, text = flare.get(first, timeout=30)
    assert (value, text) == (42, "from the working dir")
    assert cwd.startswith(os.path.join(runtime.session_dir, "runtime_resources", "")), \
        f"expected a copy under the node's session dir, ran in {cwd}"
    assert flare.get(flare.remote(os.getcwd).remote(), timeout=30) != cwd
    # Unpacked once per node: later tasks run in the same copy.
    assert flare.get([use_it.remote() for _ in range(3)], timeout=30) == [(cwd, 42, text)] * 3
    unpacked = [name for name in os.listdir(os.path.dirname(cwd)) if not name.endswith(".lock")]
    assert unpacked == [os.path.basename(cwd)], f"expected one unpacked copy, found {unpacked}"


def test_working_dir_may_be_a_zip_and_excludes_leave_files_behind(tmp_path):
    import zipfile

    archive_path = tmp_path / "code.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("code/zipped_module_for_env.py", "NAME = 'zipped'\n")
    (tmp_path / "keep.txt").write_text("kept")
    (tmp_path / "skip.log").write_text("skipped")

    @flare.remote
    def from_zip():
        import zipped_module_for_env
        return zipped_module_for_env.NAME

    @flare.remote
    def listing():
        return sorted(os.listdir("."))

    assert flare.get(from_zip.options(runtime_env={"working_dir": str(archive_path)}).remote(),
                     timeout=30) == "zipped"
    with_excludes = listing.options(runtime_env={"working_dir": str(tmp_path),
                                                 "excludes": ["*.log", "/code.zip"]})
    assert flare.get(with_excludes.remote(), timeout=30) == ["keep.txt"]


def test_a_working_dir_over_the_limit_fails_at_submission(tmp_path):
    with open(tmp_path / "huge.bin", "wb") as huge:
        huge.truncate(501 * 2**20)  # sparse: nothing is written
    too_big = read_env.options(runtime_env={"working_dir": str(tmp_path)})
    with pytest.raises(ValueError, match="over the 500.0 MiB limit.*huge.bin.*excludes"):
        too_big.remote("X")


def test_bad_runtime_envs_are_clear_errors():
    with pytest.raises(TypeError, match="env_vars"):
        read_env.options(runtime_env={"env_vars": {"X": 1}})
    with pytest.raises(ValueError, match="unknown runtime_env field"):
        read_env.options(runtime_env={"nonsense": 1})
    with pytest.raises(ValueError, match="not a directory"):
        read_env.options(runtime_env={"working_dir": "/no/such/dir"})
    with pytest.raises(ValueError, match="remote URI.*local"):
        read_env.options(runtime_env={"working_dir": "s3://bucket/code.zip"})
    with pytest.raises(TypeError, match="excludes"):
        read_env.options(runtime_env={"working_dir": ".", "excludes": "*.log"})
    with pytest.raises(TypeError, match="dict"):
        flare.remote(runtime_env="x")(lambda: 1)
    with pytest.warns(UserWarning, match="pip"):
        read_env.options(runtime_env={"pip": ["numpy"]})
