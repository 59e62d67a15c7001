"""The processes a benchmark starts, and what they leave behind (Linux).

A benchmark runs each runtime in a child process, which starts raylets,
GCS servers, agents and workers of its own, some in sessions of their own.
Making the benchmark a child subreaper (``adopt_orphans``) means every one of
them that outlives its parent is re-parented to the benchmark, so
``reap_leftovers`` finds exactly those, by pid, after the child exits.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from typing import Dict, List, Set, Tuple

_PR_SET_CHILD_SUBREAPER = 36


def proc_table() -> Dict[int, Tuple[int, int, str]]:
    """pid -> (ppid, sid, state) of every process (from /proc)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        # Fields after the ")" closing the command name: state ppid pgrp sid
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry)] = (int(fields[1]), int(fields[3]), fields[0])
    return table


def descendants(roots: Set[int], table: Dict[int, Tuple[int, int, str]]) -> Set[int]:
    """The descendants of ``roots`` in ``table`` (the roots excluded), zombies
    (exited, not yet reaped) left out."""
    found: Set[int] = set()
    frontier = set(roots)
    while frontier:
        frontier = {pid for pid, (ppid, _, _) in table.items() if ppid in frontier} - found
        found |= frontier
    return {pid for pid in found if table[pid][2] != "Z"}


def kill_tree(root: int) -> None:
    """SIGKILL ``root``, its descendants and its session (if it leads one).

    Only processes started (directly or not) by ``root`` are targeted; a
    snapshot is taken first so reparented orphans are still found.
    """
    try:
        table = proc_table()
        roots = {root} | {pid for pid, (_, sid, _) in table.items() if sid == root}
        victims = roots | descendants(roots, table)
    except OSError:
        victims = {root}
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def vm_rss_kib(pid: int) -> int:
    """The process's resident set (VmRSS, KiB); 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def adopt_orphans() -> None:
    """Makes this process the subreaper of everything it starts."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()[:160]
    except OSError:
        return "?"


def _reap_zombies() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def reap_leftovers(grace: float = 15.0) -> List[str]:
    """Waits up to ``grace`` s for the orphans this process adopted to exit
    (workers take a moment after their raylet), then SIGKILLs the rest.
    REQUIRES: adopt_orphans() was called, and no child of ours is running.
    Returns the ones that had to be killed, as "pid command"."""
    deadline = time.monotonic() + grace
    while True:
        _reap_zombies()
        alive = descendants({os.getpid()}, proc_table())
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    killed = [f"{pid} {_command(pid)}" for pid in sorted(alive)]
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(0.2)
    _reap_zombies()
    return killed


def shm_entries() -> Set[str]:
    try:
        return set(os.listdir("/dev/shm"))
    except OSError:
        return set()
