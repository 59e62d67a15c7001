"""The chaos run (bench/chaos_bench.py): ~2,000 tasks of a two-stage
map-reduce over 10 MiB intermediate objects and an actor pool with
max_restarts, on a head and three worker nodes, while a killer SIGKILLs a
random worker node's raylet every two seconds and starts a replacement. It
must finish with exactly the right result, the actors having moved, and
leave no process of its nodes and no shared memory behind. A second run
kills the head once, mid-job, and starts it again. Bounded: the script has
a timeout, and the run stops killing when the job ends."""

from __future__ import annotations

import json
import os
import subprocess

from conftest import PYTHON

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench",
                      "chaos_bench.py")


def chaos_run(kind: str) -> dict:
    """Runs bench/chaos_bench.py's `kind` run and checks what every run must
    hold: no error, the exact result, nothing left on the machine."""
    done = subprocess.run([PYTHON, SCRIPT, "--runs", kind, "--json"], capture_output=True,
                          text=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no result (exit {done.returncode}):\n{done.stdout}\n{done.stderr[-4000:]}"
    run = json.loads(lines[-1])
    assert "error" not in run, run
    assert run["result"] == run["expected"], run
    assert run["leftover_processes"] == [], run
    assert run["leftover_shm"] == [], run
    assert run["ok"] and done.returncode == 0, run
    return run


def test_a_job_survives_nodes_killed_under_it_with_exactly_the_right_result():
    run = chaos_run("workers")
    assert run["kills"] >= 2, f"too few faults to mean anything: {run}"


def test_a_job_survives_its_head_killed_and_started_again_mid_job():
    run = chaos_run("head")
    assert run["kills"] == 1, run
