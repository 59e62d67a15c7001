"""Starting and stopping a local flare-raylet process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

from flare._version import __version__



def flare_root() -> Path:
    """This user's private directory for sessions and the cluster file:
    ``$TMPDIR/flare-<uid>``, created 0700. Anything else found there (another
    user's, or one others may write into) is refused: a cluster file or a
    socket in it would decide which process this user's drivers trust."""
    root = Path(tempfile.gettempdir()) / f"flare-{os.getuid()}"
    try:
        root.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = os.lstat(root)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(
            f"{root} is not a private directory of this user (owner uid {info.st_uid}, mode "
            f"{oct(info.st_mode & 0o777)}, a {'directory' if stat.S_ISDIR(info.st_mode) else 'file'}): "
            "flare keeps its sessions and cluster file there, so it must be this user's "
            "alone (0700); remove it, or set TMPDIR elsewhere")
    return root


def cluster_file() -> Path:
    """The record of the nodes 'flare start' ran on this machine."""
    return flare_root() / "flare_current_cluster"


def raylet_binary() -> str:
    """The flare-raylet shipped inside the package (or $FLARE_RAYLET_BINARY)."""
    override = os.environ.get("FLARE_RAYLET_BINARY")
    if override:
        return override
    candidate = Path(__file__).resolve().parent.parent / "bin" / "flare-raylet"
    if candidate.exists():
        return str(candidate)
    raise FileNotFoundError(
        f"flare-raylet not found at {candidate}; reinstall flare (pip install .) "
        "or set FLARE_RAYLET_BINARY")


# Old session directories kept for their logs; older ones of nodes that
# have exited are removed when a new session starts.
KEEP_SESSIONS = 10
# A session directory with no raylet.ready record yet may be one starting
# right now: it is left alone until it is this old.
STARTING_GRACE_S = 600


def prune_sessions(root: Path, keep: int = KEEP_SESSIONS) -> None:
    """Removes the session directories of nodes that have exited, past the
    newest ``keep``. A directory whose raylet still runs stays."""
    sessions = sorted(root.glob("session_*"), key=lambda path: path.stat().st_mtime,
                      reverse=True)
    now = time.time()
    for path in sessions[keep:]:
        try:
            record = read_ready(str(path))
            if record is None:
                # Starting now, or a raylet whose socket is still there.
                if (now - path.stat().st_mtime < STARTING_GRACE_S
                        or (path / "raylet.sock").exists()):
                    continue
            elif is_raylet_of(int(record.get("pid", "0")), str(path)):
                continue
            shutil.rmtree(path, ignore_errors=True)
        except (OSError, ValueError):
            continue  # another process pruned or changed it meanwhile


def new_session_dir() -> str:
    root = flare_root()
    prune_sessions(root)
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    path = Path(tempfile.mkdtemp(prefix=f"session_{stamp}_{os.getpid()}_", dir=root))
    (path / "logs").mkdir(exist_ok=True)
    return str(path)


def read_ready(session_dir: str) -> Optional[Dict[str, str]]:
    """The raylet's ``raylet.ready`` record (pid, socket, port, gcs_address,
    node_id, head), written once it has joined its cluster; None before."""
    try:
        text = (Path(session_dir) / "raylet.ready").read_text()
    except OSError:
        return None
    record = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    return record if "gcs_address" in record else None


class RayletProcess:
    """A raylet this process started; stopped by stop()."""

    def __init__(self, process: subprocess.Popen, session_dir: str, socket_path: str) -> None:
        self.process = process
        self.session_dir = session_dir
        self.socket_path = socket_path
        self.ready: Optional[Dict[str, str]] = None

    def wait_ready(self, timeout: float = 15.0) -> Dict[str, str]:
        """Blocks until the raylet has joined its cluster and returns its ready
        record; raises RuntimeError with its log if it exits or times out."""
        deadline = time.monotonic() + timeout
        while self.ready is None:
            self.ready = read_ready(self.session_dir)
            if self.ready is not None:
                return self.ready
            if not self.alive():
                raise RuntimeError(f"flare-raylet exited (code {self.process.returncode}):\n"
                                   f"{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"flare-raylet did not start within {timeout:g} s:\n"
                                   f"{self.log_tail()}")
            time.sleep(0.01)
        return self.ready

    @property
    def port(self) -> int:
        return int(self.wait_ready()["port"])

    @property
    def gcs_address(self) -> str:
        return self.wait_ready()["gcs_address"]

    @property
    def node_id(self) -> str:
        return self.wait_ready()["node_id"]

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def log_tail(self, lines: int = 20) -> str:
        path = Path(self.session_dir) / "logs" / "raylet.out"
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_raylet(*, num_cpus: Optional[float], num_gpus: Optional[float],
                 resources: Optional[Dict[str, float]], object_store_memory: Optional[int],
                 driver_pid: Optional[int], memory: Optional[int] = None, head: bool = True,
                 session_dir: Optional[str] = None, address: Optional[str] = None,
                 token: Optional[str] = None, port: int = 0,
                 node_ip_address: Optional[str] = None,
                 node_timeout_ms: Optional[int] = None,
                 infeasible_grace_ms: Optional[int] = None,
                 gcs_storage: Optional[str] = None,
                 gcs_reconnect_timeout_s: Optional[float] = None,
                 command_prefix: Sequence[str] = ()) -> RayletProcess:
    """Starts a raylet: a head (with the GCS), or with ``address`` and
    ``token`` a node that joins the head there. ``command_prefix`` runs it
    under another command that execs it (e.g. ``ip netns exec NAME``).

    A head keeps the GCS's state in ``gcs_storage`` (see ``flare start
    --help``; default: gcs.sqlite in its session dir). A joining node whose
    head crashed keeps running and waits for it; a GCS request waits up to
    ``gcs_reconnect_timeout_s`` (default $FLARE_GCS_RECONNECT_TIMEOUT_S, else
    20) before it fails."""
    session_dir = session_dir or new_session_dir()
    socket_path = os.path.join(session_dir, "raylet.sock")
    args = [*command_prefix, raylet_binary(), "--session-dir", session_dir, "--socket", socket_path,
            "--python", sys.executable, "--version", __version__, "--port", str(int(port))]
    if head:
        args.append("--head")
    else:
        args += ["--address", address, "--token", token]
    if token and head:
        args += ["--token", token]
    if node_ip_address:
        args += ["--node-ip-address", node_ip_address]
    if node_timeout_ms is not None:
        args += ["--node-timeout-ms", str(int(node_timeout_ms))]
    if infeasible_grace_ms is not None:
        args += ["--infeasible-grace-ms", str(int(infeasible_grace_ms))]
    if head and gcs_storage:
        args += ["--gcs-storage", gcs_storage]
    if gcs_reconnect_timeout_s is None:
        gcs_reconnect_timeout_s = gcs_reconnect_timeout_from_env()
    if not head and gcs_reconnect_timeout_s is not None:
        args += ["--gcs-reconnect-timeout-s", repr(float(gcs_reconnect_timeout_s))]
    if num_cpus is not None:
        args += ["--num-cpus", repr(float(num_cpus))]
    if num_gpus is not None:
        args += ["--num-gpus", repr(float(num_gpus))]
    if resources:
        args += ["--resources", json.dumps(resources)]
    if object_store_memory is not None:
        args += ["--object-store-memory", str(int(object_store_memory))]
    if memory is not None:
        args += ["--memory", str(int(memory))]
    if driver_pid is not None:
        args += ["--driver-pid", str(driver_pid)]
    log = open(os.path.join(session_dir, "logs", "raylet.out"), "ab")
    try:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   start_new_session=True, close_fds=True)
    finally:
        log.close()
    return RayletProcess(process, session_dir, socket_path)


def gcs_reconnect_timeout_from_env() -> Optional[float]:
    """$FLARE_GCS_RECONNECT_TIMEOUT_S: how long a GCS request of a node
    waits for a crashed head to come back (None: the raylet's default)."""
    value = os.environ.get("FLARE_GCS_RECONNECT_TIMEOUT_S")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"FLARE_GCS_RECONNECT_TIMEOUT_S must be a number of seconds, "
                         f"got {value!r}") from None
    if not 0 <= seconds <= 86400:
        raise ValueError(f"FLARE_GCS_RECONNECT_TIMEOUT_S must be between 0 and 86400, "
                         f"got {value!r}")
    return seconds


def _normalize(address: str) -> str:
    host, _, port = address.rpartition(":")
    if host in ("localhost", ""):
        host = "127.0.0.1"
    return f"{host}:{port}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_raylet_of(pid: int, session_dir: str) -> bool:
    """Whether ``pid`` is alive and is the flare-raylet of ``session_dir``
    (a pid in a stale record may have been reused by another process)."""
    if pid <= 0 or not _pid_alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            argv = cmdline.read().split(b"\0")
    except OSError:
        return False
    if not argv or not argv[0].endswith(b"flare-raylet"):
        return False
    return not session_dir or session_dir.encode() in argv


def find_local_node(gcs_address: str) -> Optional[Dict[str, str]]:
    """The ready record of a live raylet on this machine in the cluster whose
    head is at ``gcs_address`` (the head's own node first)."""
    wanted = _normalize(gcs_address)
    root = flare_root()
    found = []
    for ready_file in root.glob("session_*/raylet.ready"):
        record = read_ready(str(ready_file.parent))
        if record is None or _normalize(record["gcs_address"]) != wanted:
            continue
        if not _pid_alive(int(record.get("pid", "0"))):
            continue
        found.append(record)
    found.sort(key=lambda record: record.get("head") != "1")
    return found[0] if found else None


def add_to_cluster_file(socket_path: str, pid: int, session_dir: str, gcs_address: str) -> None:
    """Records a node 'flare start' ran on this machine. The first one (the
    head, or the first node that joined one) is what address='auto' uses;
    'flare stop' stops them all."""
    record = {"socket": socket_path, "pid": pid, "session_dir": session_dir,
              "gcs_address": gcs_address}
    info = read_cluster_file()
    # (A killed raylet may linger as a zombie: it counts as gone.)
    first_alive = info is not None and is_raylet_of(int(info.get("pid", 0)),
                                                    info.get("session_dir", ""))
    if info is None or (not first_alive
                        and _normalize(info.get("gcs_address", "")) != _normalize(gcs_address)):
        info = dict(record, nodes=[])
    elif not first_alive:
        # The head came back on its address: 'auto' finds the new one, and
        # 'flare stop' still stops the nodes that waited for it.
        info = dict(record, nodes=info.get("nodes", []))
    info.setdefault("nodes", [dict(info)]).append(record)
    path = cluster_file()
    # Private to this user (the directory is too): 0600 from the start.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(info))


def read_cluster_file() -> Optional[dict]:
    try:
        return json.loads(cluster_file().read_text())
    except (OSError, ValueError):
        return None
