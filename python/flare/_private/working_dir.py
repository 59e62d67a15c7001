"""runtime_env ``working_dir`` on the submitting side: a local directory (or
``.zip`` file) packed once and stored in the GCS KV, so that a worker on any
node can fetch it (see working_dir_cache for that side).

A directory is packed into a zip named by the sha256 of what it holds
(paths, contents, executable bits), leaving out what ``excludes`` and its
``.gitignore`` files name; a ``.zip`` is shipped as it is, named by the
sha256 of its bytes. Either is refused over MAX_BYTES (unpacked), before
anything is read. The package travels as chunks under KV keys derived from
its hash, so a second job with the same contents uploads nothing, and tasks
carry only its URI.

KV layout, for a package with digest D:
  ``working_dir:D``             JSON {"chunks": n, "bytes": size, "upload": u},
                                written last: its presence means complete;
  ``working_dir:D:u:i``         chunk i (0 <= i < n) of that upload.
Each upload has its own ``u``, so two drivers racing to upload the same
package never mix their chunks: the first index record wins.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import zipfile
from typing import IO, List, NamedTuple, Optional, Protocol, Sequence, Tuple

from flare._private.ignore_rules import IgnoreRules, parse_lines

# The unpacked size a working_dir may have, as in Ray.
MAX_BYTES = 500 * 2**20
# Under the 64 MiB message limit between nodes, small enough to pipeline.
CHUNK_BYTES = 4 * 2**20
KV_TIMEOUT_MS = 60_000

# URIs in a task's runtime_env: "flare-pkg://dir/<sha256>" or ".../zip/<sha256>".
URI_SCHEME = "flare-pkg://"
DIRECTORY, ZIP = "dir", "zip"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # zip entries carry no mtime: same input, same zip
_IGNORE_GITIGNORE = ("FLARE_RUNTIME_ENV_IGNORE_GITIGNORE", "RAY_RUNTIME_ENV_IGNORE_GITIGNORE")


class KvStore(Protocol):
    """The GCS KV as a CoreClient offers it."""

    def kv_get(self, key: str, timeout_ms: int) -> Optional[bytes]: ...

    def kv_put_if_absent(self, key: str, value: bytes, timeout_ms: int) -> bool: ...


def is_uri(value: object) -> bool:
    return isinstance(value, str) and value.startswith(URI_SCHEME)


def parse_uri(uri: str) -> Tuple[str, str]:
    """(kind, digest) of a package URI."""
    kind, _, digest = uri[len(URI_SCHEME):].partition("/")
    if kind not in (DIRECTORY, ZIP) or len(digest) != 64:
        raise ValueError(f"not a flare working_dir package URI: {uri!r}")
    return kind, digest


def index_key(digest: str) -> str:
    return f"working_dir:{digest}"


def chunk_key(digest: str, upload: str, index: int) -> str:
    return f"working_dir:{digest}:{upload}:{index}"


def check_source(value: object, where: str) -> str:
    """The absolute path of a working_dir given by a user: an existing
    directory or .zip file. Raises ValueError naming what is wrong."""
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{where}: runtime_env['working_dir'] must be the path of a local "
                         f"directory or .zip file, got {value!r}")
    text = os.fspath(value)
    if "://" in text:
        raise ValueError(f"{where}: runtime_env['working_dir'] {text!r} is a remote URI; flare "
                         "ships a local directory or a local .zip file to the nodes and does "
                         "not download from s3://, gs://, http(s):// or other URIs: fetch it "
                         "first and give its local path")
    path = os.path.abspath(text)
    if os.path.isdir(path):
        return path
    if os.path.isfile(path) and path.endswith(".zip"):
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{where}: runtime_env['working_dir'] {path!r} is not a valid "
                             ".zip file")
        return path
    raise ValueError(f"{where}: runtime_env['working_dir'] {path!r} is not a directory or a "
                     ".zip file")


class Package:
    """A packed working_dir, open for upload; close() (or ``with``) frees
    the temporary zip of a directory."""

    def __init__(self, kind: str, digest: str, file: IO[bytes], size: int) -> None:
        self.kind = kind
        self.digest = digest
        self.file = file  # the zip, positioned anywhere
        self.size = size  # of the zip, in bytes
        self.uri = f"{URI_SCHEME}{kind}/{digest}"

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> "Package":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Entry(NamedTuple):
    relative: str  # '/'-separated, from the working directory
    path: str  # on disk
    size: int  # -1 for a directory
    mode: int


def pack(source: str, excludes: Sequence[str] = (), *, where: str = "runtime_env",
         max_bytes: int = MAX_BYTES) -> Package:
    """Packs ``source`` (a path check_source accepted). Raises ValueError,
    before reading any file, when it holds more than ``max_bytes``."""
    if os.path.isdir(source):
        return _pack_directory(source, excludes, where, max_bytes)
    return _open_zip(source, where, max_bytes)


def _pack_directory(root: str, excludes: Sequence[str], where: str, max_bytes: int) -> Package:
    use_gitignore = not any(os.environ.get(name, "0") not in ("", "0", "false", "False")
                            for name in _IGNORE_GITIGNORE)
    entries: List[_Entry] = []
    _collect(root, "", IgnoreRules().with_patterns(excludes), use_gitignore,
             frozenset(), entries)
    total = sum(entry.size for entry in entries if entry.size > 0)
    if total > max_bytes:
        raise ValueError(f"{where}: runtime_env['working_dir'] {root!r} holds "
                         f"{_mib(total)} of files, over the {_mib(max_bytes)} limit; largest: "
                         f"{_largest(entries)}. Leave files out with runtime_env['excludes'] "
                         "(gitignore-style patterns) or a .gitignore file")
    entries.sort(key=lambda entry: entry.relative)
    digest = hashlib.sha256(b"flare working_dir v1\0")
    file = tempfile.TemporaryFile(prefix="flare-working-dir-")
    try:
        with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as archive:
            for entry in entries:
                _add(archive, entry, digest)
        size = file.tell()
    except BaseException:
        file.close()
        raise
    return Package(DIRECTORY, digest.hexdigest(), file, size)


def _collect(root: str, relative_dir: str, rules: IgnoreRules, use_gitignore: bool,
             ancestors: frozenset, out: List[_Entry]) -> None:
    """Appends what the directory at ``relative_dir`` holds (after the
    rules) to ``out``; follows symbolic links, but not around a cycle."""
    directory = os.path.join(root, relative_dir)
    real = os.path.realpath(directory)
    if real in ancestors:
        return
    ancestors = ancestors | {real}
    if use_gitignore:
        try:
            with open(os.path.join(directory, ".gitignore"), encoding="utf-8",
                      errors="replace") as ignore_file:
                rules = rules.with_patterns(parse_lines(ignore_file), relative_dir)
        except OSError:
            pass
    with os.scandir(directory) as listing:
        children = sorted(listing, key=lambda child: child.name)
    for child in children:
        relative = f"{relative_dir}/{child.name}" if relative_dir else child.name
        try:
            is_dir = child.is_dir()
            if not is_dir and not child.is_file():
                continue  # a broken link, socket or device
            if rules.excluded(relative, is_dir):
                continue
            status = child.stat()
        except OSError:
            continue  # vanished while we looked
        if is_dir:
            out.append(_Entry(relative, child.path, -1, status.st_mode))
            _collect(root, relative, rules, use_gitignore, ancestors, out)
        else:
            out.append(_Entry(relative, child.path, status.st_size, status.st_mode))


def _add(archive: zipfile.ZipFile, entry: _Entry, digest: "hashlib._Hash") -> None:
    name = entry.relative.encode("utf-8", "surrogateescape")
    if entry.size < 0:
        info = zipfile.ZipInfo(entry.relative + "/", _FIXED_TIME)
        info.external_attr = ((stat.S_IFDIR | 0o755) << 16) | 0x10
        archive.writestr(info, b"")
        digest.update(b"d" + name + b"\0")
        return
    executable = bool(entry.mode & 0o111)
    info = zipfile.ZipInfo(entry.relative, _FIXED_TIME)
    info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    info.file_size = entry.size
    digest.update(b"f" + name + b"\0" + (b"x" if executable else b"-"))
    length = 0
    with open(entry.path, "rb") as source, archive.open(info, "w") as target:
        while block := source.read(1 << 20):
            digest.update(block)
            target.write(block)
            length += len(block)
    digest.update(b"\0" + length.to_bytes(8, "little"))


def _open_zip(path: str, where: str, max_bytes: int) -> Package:
    with zipfile.ZipFile(path) as archive:
        total = sum(info.file_size for info in archive.infolist())
    if total > max_bytes:
        raise ValueError(f"{where}: runtime_env['working_dir'] {path!r} unpacks to "
                         f"{_mib(total)}, over the {_mib(max_bytes)} limit")
    file = open(path, "rb")
    digest = hashlib.sha256()
    while block := file.read(1 << 20):
        digest.update(block)
    return Package(ZIP, digest.hexdigest(), file, file.tell())


def upload(kv: KvStore, package: Package, chunk_bytes: int = CHUNK_BYTES) -> None:
    """Stores ``package`` in the KV unless a complete copy is there already."""
    if kv.kv_get(index_key(package.digest), KV_TIMEOUT_MS) is not None:
        return
    upload_id = os.urandom(8).hex()
    package.file.seek(0)
    chunks = 0
    while block := package.file.read(chunk_bytes):
        kv.kv_put_if_absent(chunk_key(package.digest, upload_id, chunks), block, KV_TIMEOUT_MS)
        chunks += 1
    record = {"chunks": chunks, "bytes": package.size, "upload": upload_id}
    kv.kv_put_if_absent(index_key(package.digest), json.dumps(record).encode(), KV_TIMEOUT_MS)


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def _largest(entries: List[_Entry], count: int = 3) -> str:
    """The biggest top-level entries, for the too-large message."""
    totals: dict = {}
    for entry in entries:
        if entry.size > 0:
            top, slash, _ = entry.relative.partition("/")
            key = top + slash
            totals[key] = totals.get(key, 0) + entry.size
    biggest = sorted(totals.items(), key=lambda item: -item[1])[:count]
    return ", ".join(f"{name} ({_mib(size)})" for name, size in biggest)
