"""The example programs from the seed documents (examples/*.py), run end to end.

Each example is the Ray program of a tutorial with ``import flare as ray``; it
calls ray.init() itself, so each run starts (and must stop) its own local
raylet. A test runs one example as a subprocess of ``sys.executable`` from
the repository root, checks the exit code and the output that shows the
result, and checks that the raylet started for that driver, and its workers,
are gone afterwards. Examples run at reduced sizes (EXAMPLE_SCALE) where the
default would take longer than needed to show the behaviour.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Optional

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
DEFAULT_TIMEOUT = 120.0
CLEANUP_GRACE = 10.0   # seconds the raylet and its workers get to exit after the driver


# ---- output checks -------------------------------------------------------------

# The prefix of a worker's print, as Ray writes it: "(name pid=N)" for a worker on
# the driver's node and "(name pid=N, ip=A.B.C.D)" for one on another node.
PREFIX = r"\({} pid=\d+(?:, ip=[0-9.]+)?\)"

def check_monte_carlo_pi(out: str) -> None:
    assert "Serial time:" in out
    assert "Parallel (distributed) time:" in out
    estimates = [float(v) for v in re.findall(r"Estimated value of π is: ([0-9.]+)", out)]
    assert len(estimates) == 2, out
    for pi in estimates:
        assert abs(pi - math.pi) < 0.01, f"pi estimate {pi} is off by more than 0.01"
    # The distributed run's tasks print from the workers, with the task's prefix.
    assert re.search(PREFIX.format("sample_task_distribute") + r" Task id: \d+ \| Samples in the circle",
                     out), out


def check_fibonacci(out: str) -> None:
    assert "Fibonacci results match" in out


def check_image_processing(out: str) -> None:
    assert "Serial and distributed results match" in out
    assert re.search(r"Distributed transformations/computations of \d+ images", out)


def check_wait_for_results(out: str) -> None:
    assert [int(v) for v in re.findall(r"^ Completed (\d+)$", out, re.M)] == list(range(9, -1, -1))
    assert "GET took:" in out and "WAIT took:" in out
    assert re.findall(r"^Ready 5 rest (\d+)$", out, re.M) == ["5", "0"]
    assert "all results arrived; WAIT processed them as they came" in out


def check_pipelining(out: str) -> None:
    assert "sum_values of the pipelined numbers = 31 (expected 31)" in out
    assert "TypeError as expected" in out


def check_nested_parallelism(out: str) -> None:
    assert "[0, 1, 0, 3]" in out
    assert sorted(re.findall(r"^completed result (\d+)$", out, re.M)) == ["0", "0", "1", "3"]
    assert "nested results match" in out


def check_quick_sort(out: str) -> None:
    sizes = re.findall(r"^Array size: (\d+)$", out, re.M)
    assert sizes, out
    for size in sizes:
        assert f"sorted {size} elements correctly" in out


def check_tasks_basics(out: str) -> None:
    assert "all task examples passed" in out
    assert "my_task succeeded on attempt 3" in out


def check_task_patterns(out: str) -> None:
    assert "all task patterns passed" in out
    # Worker prints reach the driver with the task's prefix.
    assert re.search(PREFIX.format("pass_via_nested_ref") + r" 3", out), out
    assert re.search(PREFIX.format("pass_via_direct_arg") + r" 3", out), out


def check_object_refs(out: str) -> None:
    assert out.startswith("[0, 1, 4, 9]"), out[:200]
    assert re.search(PREFIX.format("echo") + r" 1 2 3", out), out
    assert re.search(PREFIX.format("echo_and_get") + r" args: \[ObjectRef\(", out), out
    assert re.search(PREFIX.format("echo_and_get") + r" values: \[1, 2, 3\]", out), out
    assert re.search(PREFIX.format("print_via_capture") + r" \[1, 2, 3\]", out), out
    assert "large_values returned 5 arrays" in out


def check_cancel_tasks(out: str) -> None:
    assert "Object reference was cancelled." in out
    assert len(re.findall(r"^ObjectRef\([0-9a-f]+\) was cancelled$", out, re.M)) == 2, out
    assert "all 2 running tasks were cancelled" in out


def check_monte_carlo_pi_progress(out: str) -> None:
    progress = [int(v) for v in re.findall(r"^Progress: (\d+)%$", out, re.M)]
    assert progress and progress[-1] == 100, out
    assert progress == sorted(progress), "progress went backwards"
    pi = float(re.search(r"Estimated value of π is: ([0-9.]+)", out).group(1))
    assert abs(pi - math.pi) < 0.01, f"pi estimate {pi} is off by more than 0.01"


def check_counter_actor(out: str) -> None:
    assert "increments: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]" in out
    assert "counter: 10" in out


def check_dag(out: str) -> None:
    # model calls is 2 each time: every execute() creates its own actor.
    assert "execute(5, x=1): features, prediction, total, model calls = [10, 20, 30, 2]" in out
    assert "execute(7, x=3): features, prediction, total, model calls = [30, 60, 74, 2]" in out


def check_generators(out: str) -> None:
    arrivals = [(int(v), float(t)) for v, t in re.findall(r"^(\d) \(after ([0-9.]+) s\)$",
                                                          out, re.M)]
    assert [v for v, _ in arrivals] == [0, 1, 2, 3, 4], out
    assert arrivals[0][1] < arrivals[-1][1] - 1.0, "the first value waited for the whole task"
    assert len(re.findall(PREFIX.format("large_values_generator") + r" yielded return value \d",
                          out)) == 5, out
    assert "consumed 5 arrays (50,000,000 values) one at a time" in out


@dataclass
class Case:
    script: str
    check: Optional[Callable[[str], None]] = None
    env: Dict[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    marks: tuple = ()
    id: Optional[str] = None


CASES = [
    Case("monte_carlo_pi.py", check_monte_carlo_pi),      # as `make run` runs it
    Case("fibonacci.py", check_fibonacci),
    Case("image_processing.py", check_image_processing, env={"EXAMPLE_SCALE": "0.5"}),
    Case("wait_for_results.py", check_wait_for_results, env={"EXAMPLE_SCALE": "0.5"}),
    Case("pipelining.py", check_pipelining),
    Case("nested_parallelism.py", check_nested_parallelism),
    Case("quick_sort.py", check_quick_sort),
    # Quick sort at deeper nesting: ~118 calls wait in ray.get() at once, so
    # workers blocked in get must not count against the pool's cap.
    Case("quick_sort.py", check_quick_sort, id="quick_sort.py-deep-nesting",
         env={"EXAMPLE_SCALE": "0.1", "EXAMPLE_SIZE_RATIOS": "1,60"}, timeout=60),
    Case("tasks_basics.py", check_tasks_basics),
    Case("task_patterns.py", check_task_patterns),
    Case("object_refs.py", check_object_refs),
    Case("cancel_tasks.py", check_cancel_tasks),
    # The guide's ProgressActor: tasks report to an actor through its handle.
    Case("monte_carlo_pi_progress.py", check_monte_carlo_pi_progress,
         env={"EXAMPLE_SCALE": "0.2"}),
    Case("counter_actor.py", check_counter_actor),
    Case("generators.py", check_generators),
    Case("dag.py", check_dag),
]

_listed = {case.script for case in CASES}
# An example added later is still run (exit code 0 and no leftovers).
CASES += [Case(path.name) for path in sorted(EXAMPLES.glob("*.py")) if path.name not in _listed]


# ---- process bookkeeping -----------------------------------------------------

def _processes() -> Dict[int, tuple]:
    """pid -> (parent pid, command line) of the processes alive now."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if fields[0] != "Z":
            table[int(entry)] = (int(fields[1]), cmdline)
    return table


def _runtime_of(driver_pid: int) -> set:
    """The flare-raylet this driver started and the raylet's children (its workers).

    The raylet is the driver's child while the driver lives, and its command
    line names the driver (--driver-pid) after that.
    """
    table = _processes()
    driver_flag = re.compile(rf"--driver-pid {driver_pid}( |$)")
    raylets = {pid for pid, (ppid, cmd) in table.items()
               if "flare-raylet" in cmd and (ppid == driver_pid or driver_flag.search(cmd))}
    return raylets | {pid for pid, (ppid, _) in table.items() if ppid in raylets}


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def run_example(case: Case):
    env = dict(os.environ)
    env.update(case.env)
    env.setdefault("PYTHONUNBUFFERED", "1")
    with tempfile.TemporaryFile(mode="w+") as out:
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, str(EXAMPLES / case.script)], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT, text=True)
        seen: set = set()
        timed_out = False
        # Note the driver's raylet and workers while it runs, to check after.
        while proc.poll() is None:
            seen |= _runtime_of(proc.pid)
            if time.monotonic() - start > case.timeout:
                timed_out = True
                proc.kill()
                proc.wait()
                break
            time.sleep(0.1)
        elapsed = time.monotonic() - start
        out.seek(0)
        output = out.read()
    deadline = time.monotonic() + CLEANUP_GRACE
    while time.monotonic() < deadline and any(_alive(pid) for pid in seen):
        time.sleep(0.1)
    leftover = sorted(pid for pid in seen | _runtime_of(proc.pid) if _alive(pid))
    return proc.returncode, output, elapsed, timed_out, seen, leftover


def _params():
    return [pytest.param(case, id=case.id or case.script, marks=case.marks) for case in CASES]


@pytest.mark.timeout(DEFAULT_TIMEOUT + CLEANUP_GRACE + 30)
@pytest.mark.parametrize("case", _params())
def test_example(case: Case):
    returncode, output, elapsed, timed_out, seen, leftover = run_example(case)
    tail = output[-4000:]
    assert not leftover, (f"{case.script}: flare processes {leftover} still running "
                          f"{CLEANUP_GRACE:.0f} s after the driver exited")
    assert not timed_out, (f"{case.script} did not finish within {case.timeout:.0f} s "
                           f"(killed); output so far:\n{tail}")
    assert returncode == 0, f"{case.script} exited with {returncode} after {elapsed:.1f} s:\n{tail}"
    assert seen, f"{case.script}: no flare-raylet was seen for the driver"
    if case.check is not None:
        case.check(output)
