"""Starting and stopping a local flare-raylet process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional

CLUSTER_FILE = Path(tempfile.gettempdir()) / "flare" / "flare_current_cluster"


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


def new_session_dir() -> str:
    root = Path(tempfile.gettempdir()) / "flare"
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    path = Path(tempfile.mkdtemp(prefix=f"session_{stamp}_{os.getpid()}_", dir=root))
    (path / "logs").mkdir(exist_ok=True)
    return str(path)


class RayletProcess:
    """A raylet this process started; stopped by stop()."""

    def __init__(self, process: subprocess.Popen, session_dir: str, socket_path: str) -> None:
        self.process = process
        self.session_dir = session_dir
        self.socket_path = socket_path

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
                 session_dir: Optional[str] = None) -> RayletProcess:
    session_dir = session_dir or new_session_dir()
    socket_path = os.path.join(session_dir, "raylet.sock")
    args = [raylet_binary(), "--session-dir", session_dir, "--socket", socket_path,
            "--python", sys.executable]
    if head:
        args.append("--head")
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


def write_cluster_file(socket_path: str, pid: int, session_dir: str) -> None:
    CLUSTER_FILE.parent.mkdir(parents=True, exist_ok=True)
    CLUSTER_FILE.write_text(json.dumps(
        {"socket": socket_path, "pid": pid, "session_dir": session_dir}))


def read_cluster_file() -> Optional[dict]:
    try:
        return json.loads(CLUSTER_FILE.read_text())
    except (OSError, ValueError):
        return None
