"""The worker fork server: a template process that has imported what a
worker imports and forks workers on the raylet's request, so that a worker
costs a fork instead of an interpreter start and its imports, and shares the
template's pages.

Started by the raylet (cpp/raylet/fork_server_launcher.h) as
``python -m flare._private.fork_server`` with the worker environment and a
socket to the raylet as fd 3. It writes ``ready``, then answers each request
line ``<worker id hex> <log path>`` with the new worker's pid. A worker is
forked by a middle process that exits at once, so that the raylet (a child
subreaper) adopts the worker, reaps it and signals it like any other; the
worker then ties its life to the raylet's (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import sys

# What every worker imports: loaded once here, shared by every fork.
from flare._private import worker_main

_REQUESTS_FD = 3
_PR_SET_PDEATHSIG = 1


def _become_worker(worker_id: str, log_path: str, raylet: int, middle: int) -> None:
    """In the forked worker: waits to be adopted by the raylet, takes its own
    output and identity, and runs the worker's main loop (never returns)."""
    status = 1
    try:
        while os.getppid() == middle:  # the middle process exits right after the fork
            os.sched_yield()
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != raylet:
            return  # the raylet is gone (or did not adopt this process)
        os.setpgid(0, 0)
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(_REQUESTS_FD)
        os.environ["FLARE_WORKER_ID"] = worker_id
        status = 0
        worker_main.main()
    except BaseException:  # noqa: BLE001 - a worker that cannot start says why in its log
        import traceback
        traceback.print_exc()
        status = 1
    finally:
        os._exit(status)


def _fork_worker(worker_id: str, log_path: str, raylet: int) -> int:
    read_end, write_end = os.pipe()
    middle = os.fork()
    if middle == 0:
        status = 1
        try:
            os.close(read_end)
            me = os.getpid()  # before the fork: the worker may outlive this process
            worker = os.fork()
            if worker == 0:
                os.close(write_end)
                _become_worker(worker_id, log_path, raylet, me)
            os.write(write_end, str(worker).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        answer = os.read(read_end, 64)
    finally:
        os.close(read_end)
        os.waitpid(middle, 0)
    return int(answer)


def main() -> None:
    raylet = os.getppid()
    # Objects made so far are never collected: the collector would touch
    # (and so copy) their pages in every worker.
    gc.freeze()
    os.write(_REQUESTS_FD, b"ready\n")
    pending = b""
    while True:
        chunk = os.read(_REQUESTS_FD, 4096)
        if not chunk:
            break  # the raylet closed its end
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            worker_id, log_path = line.decode().split(" ", 1)
            try:
                answer = str(_fork_worker(worker_id, log_path, raylet))
            except (OSError, ValueError) as error:
                answer = f"error {error}"
            os.write(_REQUESTS_FD, (answer + "\n").encode())
    sys.exit(0)


if __name__ == "__main__":
    main()
