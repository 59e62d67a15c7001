"""runtime_env working_dir without a cluster: which files are packed
(excludes, .gitignore), how a package is named (by its contents), the size
limit, and a node's cache of unpacked packages, over a KV held in a dict.
No processes, no sockets."""

from __future__ import annotations

import os
import sys
import zipfile

import pytest

from flare._private import working_dir, working_dir_cache
from flare._private.ignore_rules import IgnoreRules, parse_lines
from flare.exceptions import RuntimeEnvSetupError

pytestmark = pytest.mark.timeout(60)


class DictKv:
    """The GCS KV as a dict, counting reads of each key."""

    def __init__(self) -> None:
        self.values: dict = {}
        self.reads: dict = {}

    def kv_get(self, key, timeout_ms):
        self.reads[key] = self.reads.get(key, 0) + 1
        return self.values.get(key)

    def kv_put_if_absent(self, key, value, timeout_ms):
        if key in self.values:
            return False
        self.values[key] = bytes(value)
        return True


def make_tree(root, files):
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def packed_names(source, excludes=()):
    with working_dir.pack(str(source), excludes) as package:
        package.file.seek(0)
        with zipfile.ZipFile(package.file) as archive:
            return sorted(name for name in archive.namelist() if not name.endswith("/"))


# ---- ignore rules ------------------------------------------------------------

@pytest.mark.parametrize("pattern, path, is_dir, excluded", [
    ("*.log", "a.log", False, True),
    ("*.log", "deep/down/a.log", False, True),
    ("*.log", "a.txt", False, False),
    ("build", "sub/build", True, True),
    ("build/", "build", False, False),        # a trailing slash: directories only
    ("build/", "build", True, True),
    ("/top.txt", "top.txt", False, True),      # a leading slash anchors
    ("/top.txt", "sub/top.txt", False, False),
    ("data/*.bin", "data/x.bin", False, True),
    ("data/*.bin", "data/deeper/x.bin", False, False),  # '*' stays in one component
    ("data/**/x.bin", "data/a/b/x.bin", False, True),
    ("**/cache", "a/b/cache", True, True),
    ("file?.txt", "file1.txt", False, True),
    ("file[0-2].txt", "file3.txt", False, False),
])
def test_an_ignore_pattern_matches_as_gitignore_does(pattern, path, is_dir, excluded):
    rules = IgnoreRules().with_patterns([pattern])
    assert rules.excluded(path, is_dir) is excluded, \
        f"{pattern!r} on {path!r}: expected excluded={excluded}"


def test_a_later_negated_pattern_reincludes_and_rules_apply_below_their_base():
    rules = IgnoreRules().with_patterns(parse_lines(["# comment", "", "*.log", "!keep.log"]))
    assert rules.excluded("x.log", False) and not rules.excluded("keep.log", False)
    nested = IgnoreRules().with_patterns(["/local.txt"], "sub")
    assert nested.excluded("sub/local.txt", False)
    assert not nested.excluded("local.txt", False) and not nested.excluded("other/local.txt", False)


# ---- packing -------------------------------------------------------------------

def test_excludes_and_gitignore_files_leave_files_out(tmp_path):
    make_tree(tmp_path, {"main.py": "", "notes.log": "", "data/big.bin": "", "data/small.txt": "",
                         "sub/.gitignore": "secret.txt\n", "sub/secret.txt": "",
                         "sub/kept.txt": "", ".gitignore": "*.log\n"})
    assert packed_names(tmp_path, ["data/*.bin"]) == [
        ".gitignore", "data/small.txt", "main.py", "sub/.gitignore", "sub/kept.txt"]


def test_gitignore_files_are_obeyed_unless_switched_off(tmp_path, monkeypatch):
    make_tree(tmp_path, {".gitignore": "*.log\n", "notes.log": ""})
    assert "notes.log" not in packed_names(tmp_path)
    monkeypatch.setenv("RAY_RUNTIME_ENV_IGNORE_GITIGNORE", "1")
    assert "notes.log" in packed_names(tmp_path)


def test_a_package_is_named_by_its_contents(tmp_path):
    first = make_tree(tmp_path / "first", {"a.py": "A = 1\n", "sub/b.txt": "b"})
    same = make_tree(tmp_path / "same", {"a.py": "A = 1\n", "sub/b.txt": "b"})
    os.utime(same / "a.py", (0, 0))  # times do not count
    changed = make_tree(tmp_path / "changed", {"a.py": "A = 2\n", "sub/b.txt": "b"})
    with working_dir.pack(str(first)) as a, working_dir.pack(str(same)) as b, \
            working_dir.pack(str(changed)) as c:
        assert a.uri == b.uri and a.uri != c.uri
        assert working_dir.parse_uri(a.uri) == (working_dir.DIRECTORY, a.digest)


def test_a_directory_over_the_limit_is_refused_naming_its_size_and_largest_entry(tmp_path):
    make_tree(tmp_path, {"code.py": ""})
    (tmp_path / "data").mkdir()
    with open(tmp_path / "data" / "huge.bin", "wb") as huge:
        huge.truncate(working_dir.MAX_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(ValueError, match=r"over the 500.0 MiB limit; largest: data/ \(500.0 MiB"
                                         r"\).*excludes"):
        working_dir.pack(str(tmp_path), where="f.remote()")
    assert packed_names(tmp_path, ["huge.bin"]) == ["code.py"]


def test_sources_that_are_not_local_directories_or_zips_are_clear_errors(tmp_path):
    (tmp_path / "file.txt").write_text("")
    (tmp_path / "fake.zip").write_text("not a zip")
    for source, message in (("s3://bucket/pkg.zip", "remote URI"),
                            ("https://host/pkg.zip", "remote URI"),
                            (str(tmp_path / "file.txt"), "not a directory or a .zip"),
                            (str(tmp_path / "fake.zip"), "not a valid .zip"),
                            (42, "must be the path")):
        with pytest.raises(ValueError, match=message):
            working_dir.check_source(source, "where")


# ---- upload and the node's cache -----------------------------------------------

def ship(source, kv, excludes=(), chunk_bytes=working_dir.CHUNK_BYTES):
    with working_dir.pack(str(source), excludes) as package:
        working_dir.upload(kv, package, chunk_bytes)
        return package.uri


def test_a_package_round_trips_through_the_kv_in_chunks(tmp_path):
    source = make_tree(tmp_path / "src", {"mod.py": "X = 1\n", "data/blob.txt": "y" * 5000,
                                          "empty/.keep": ""})
    os.chmod(source / "mod.py", 0o755)
    kv = DictKv()
    uri = ship(source, kv, chunk_bytes=100)
    assert len(kv.values) > 3, "expected several chunks and an index"
    path = working_dir_cache.NodeCopies(kv, str(tmp_path / "node")).path(uri)
    assert path.startswith(str(tmp_path / "node"))
    assert (open(os.path.join(path, "data", "blob.txt")).read()) == "y" * 5000
    assert os.access(os.path.join(path, "mod.py"), os.X_OK), "the executable bit was lost"


def test_a_second_upload_of_the_same_contents_stores_nothing(tmp_path):
    source = make_tree(tmp_path / "src", {"mod.py": "X = 1\n"})
    kv = DictKv()
    ship(source, kv)
    stored = dict(kv.values)
    ship(source, kv)
    assert kv.values == stored


def test_a_node_fetches_a_package_once_for_all_its_workers(tmp_path):
    source = make_tree(tmp_path / "src", {"mod.py": "X = 1\n"})
    kv = DictKv()
    uri = ship(source, kv)
    kv.reads.clear()
    root = str(tmp_path / "node")
    first_worker = working_dir_cache.NodeCopies(kv, root)
    path = first_worker.path(uri)
    reads_for_fetch = sum(kv.reads.values())
    assert first_worker.path(uri) == path
    assert working_dir_cache.NodeCopies(kv, root).path(uri) == path  # another worker
    assert sum(kv.reads.values()) == reads_for_fetch, "the package was fetched again"
    digest = os.path.basename(path)
    assert sorted(os.listdir(root)) == [digest, digest + ".lock"], "expected one unpacked copy"


def test_a_zip_with_one_top_level_folder_runs_in_that_folder(tmp_path):
    make_tree(tmp_path / "proj", {"mod.py": "X = 1\n", "data.txt": "d"})
    archive_path = tmp_path / "proj.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        for name in ("mod.py", "data.txt"):
            archive.write(tmp_path / "proj" / name, f"proj/{name}")
    kv = DictKv()
    uri = ship(working_dir.check_source(str(archive_path), "t"), kv)
    assert working_dir.parse_uri(uri)[0] == working_dir.ZIP
    path = working_dir_cache.NodeCopies(kv, str(tmp_path / "node")).path(uri)
    assert os.path.basename(path) == "proj" and sorted(os.listdir(path)) == ["data.txt", "mod.py"]


def test_a_zip_over_the_limit_is_refused(tmp_path):
    archive_path = tmp_path / "big.zip"
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * 4096)
    with pytest.raises(ValueError, match="unpacks to .* over the"):
        working_dir.pack(str(archive_path), max_bytes=1000)


def test_a_package_missing_from_the_kv_is_a_runtime_env_setup_error(tmp_path):
    uri = working_dir.URI_SCHEME + "dir/" + "0" * 64
    with pytest.raises(RuntimeEnvSetupError, match="not in the GCS"):
        working_dir_cache.NodeCopies(DictKv(), str(tmp_path)).path(uri)


def test_entering_another_working_dir_forgets_modules_imported_from_the_last(tmp_path):
    copies = working_dir_cache.NodeCopies(DictKv(), str(tmp_path))
    old = make_tree(tmp_path / "old", {"wd_probe_module.py": "VERSION = 1\n"})
    sys.path.insert(0, str(old))
    try:
        copies.enter(str(old))
        import wd_probe_module
        assert wd_probe_module.VERSION == 1
        copies.enter(str(old))  # the same directory keeps its modules
        assert "wd_probe_module" in sys.modules
        copies.enter(str(tmp_path / "new"))
        assert "wd_probe_module" not in sys.modules
    finally:
        sys.path.remove(str(old))
        sys.modules.pop("wd_probe_module", None)
