"""runtime_env ``working_dir`` on the running side: a node's unpacked copies
of the packages working_dir.upload stored in the GCS KV.

Layout under the node's session directory (``root``):
  ``<digest>/``        a complete unpacked package (appears by rename);
  ``<digest>.lock``    held by the one process fetching it;
  ``.<digest>.<pid>*`` that process's download and half-unpacked tree.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import zipfile
from typing import Dict, Optional

from flare._private import working_dir
from flare.exceptions import RuntimeEnvSetupError


class NodeCopies:
    """A worker's access to its node's copies of working_dir packages.

    The first process of a node to need a package downloads and unpacks it
    under ``root``; the node's other workers wait on a file lock instead of
    fetching it again, and every later task finds the tree in place. A
    process remembers the paths it resolved, so a task in a known working
    directory costs a dict look-up. Used by the worker's main thread only.
    """

    def __init__(self, kv: working_dir.KvStore, root: str) -> None:
        self._kv = kv
        self._root = root
        self._paths: Dict[str, str] = {}
        self._entered: Optional[str] = None

    def path(self, uri: str) -> str:
        """The local directory a task with working_dir ``uri`` runs in,
        fetched first if this node has no copy. Raises RuntimeEnvSetupError."""
        found = self._paths.get(uri)
        if found is not None:
            return found
        try:
            kind, digest = working_dir.parse_uri(uri)
            tree = os.path.join(self._root, digest)
            if not os.path.isdir(tree):
                os.makedirs(self._root, exist_ok=True)
                with open(os.path.join(self._root, digest + ".lock"), "a") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)  # released when closed
                    if not os.path.isdir(tree):
                        self._fetch(digest, tree)
        except RuntimeEnvSetupError:
            raise
        except Exception as error:  # noqa: BLE001 - reported as the task's error
            raise RuntimeEnvSetupError(f"runtime_env working_dir {uri}: could not set it up on "
                                       f"this node: {type(error).__name__}: {error}") from error
        found = _content_root(tree) if kind == working_dir.ZIP else tree
        self._paths[uri] = found
        return found

    def enter(self, path: str) -> None:
        """Called as a task starts in working directory ``path``: modules
        imported from a different working directory before are forgotten,
        so that a task of another package (or another version of one)
        imports its own; tasks in the same directory keep them."""
        previous = self._entered
        self._entered = path
        if previous is None or previous == path:
            return
        prefix = previous + os.sep
        for name, module in list(sys.modules.items()):
            location = getattr(module, "__file__", None)
            if isinstance(location, str) and location.startswith(prefix):
                del sys.modules[name]

    def _fetch(self, digest: str, tree: str) -> None:
        index = self._kv.kv_get(working_dir.index_key(digest), working_dir.KV_TIMEOUT_MS)
        if index is None:
            raise RuntimeEnvSetupError(f"runtime_env working_dir package {digest} is not in "
                                       "the GCS (was the job that uploaded it on another "
                                       "cluster?)")
        record = json.loads(index)
        staging = os.path.join(self._root, f".{digest}.{os.getpid()}")
        archive_path = staging + ".zip"
        try:
            with open(archive_path, "wb") as archive:
                for number in range(record["chunks"]):
                    key = working_dir.chunk_key(digest, record["upload"], number)
                    block = self._kv.kv_get(key, working_dir.KV_TIMEOUT_MS)
                    if block is None:
                        raise RuntimeEnvSetupError(f"runtime_env working_dir package {digest} "
                                                   f"is missing chunk {number} in the GCS")
                    archive.write(block)
                size = archive.tell()
            if size != record["bytes"]:
                raise RuntimeEnvSetupError(f"runtime_env working_dir package {digest}: "
                                           f"fetched {size} bytes, expected {record['bytes']}")
            shutil.rmtree(staging, ignore_errors=True)
            _unpack(archive_path, staging)
            os.rename(staging, tree)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            try:
                os.unlink(archive_path)
            except OSError:
                pass


def _unpack(archive_path: str, target: str) -> None:
    """Unpacks the zip at ``archive_path`` into ``target`` (zipfile keeps
    every entry inside it and checks each file's CRC), keeping executable
    bits."""
    with zipfile.ZipFile(archive_path) as archive:
        archive.extractall(target)
        for info in archive.infolist():
            if not info.is_dir() and (info.external_attr >> 16) & 0o111:
                extracted = os.path.join(target, *info.filename.split("/"))
                if os.path.isfile(extracted):
                    os.chmod(extracted, os.stat(extracted).st_mode | 0o111)


def _content_root(tree: str) -> str:
    """Where a user's zip's files start: the one top-level directory it
    holds, as when a folder is zipped, else the zip's root."""
    names = [name for name in os.listdir(tree) if name != "__MACOSX"]
    if len(names) == 1 and os.path.isdir(os.path.join(tree, names[0])):
        return os.path.join(tree, names[0])
    return tree
