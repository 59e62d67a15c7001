"""Workers forked from the template process (the fork server) are real
workers: adopted by the raylet, they run tasks and actor calls, their output
reaches the driver, and they and the template go when the node stops. When
the template is gone or disabled, workers are exec'ed as before."""

from __future__ import annotations

import json
import os
import signal

import pytest

from conftest import NEVER, process_gone, run_script, wait_for

pytestmark = pytest.mark.timeout(180)

# A driver that starts actors until one of them was forked from the template
# (a forked process keeps the template's command line), and reports the
# processes involved as JSON on its last line. Between the markers, the
# test's own steps run.
DRIVER = """
import json, os, flare
flare.init(num_cpus=1)

def command(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        return fh.read().replace(b"\\0", b" ").decode()

def parent(pid):
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])

@flare.remote
class Greeter:
    def pid(self):
        return os.getpid()

    def greet(self, name):
        print(f"hello {name} from", os.getpid(), flush=True)
        return f"hello {name}"

@flare.remote
def square(x):
    return x * x

actors, pids = [], []
for _ in range(20):
    actor = Greeter.remote()
    actors.append(actor)
    pids.append(flare.get(actor.pid.remote()))
    if "fork_server" in command(pids[-1]):
        break
raylet = parent(pids[0])
%s
print(json.dumps({"pids": pids, "commands": [command(p) for p in pids],
                  "parents": [parent(p) for p in pids], "raylet": raylet, **report}))
flare.shutdown()
"""


def run(steps: str, env=None) -> tuple:
    result = run_script(DRIVER % steps, timeout=NEVER * 2, env=env)
    assert result.returncode == 0, result.stderr
    # Worker output forwarded to the driver may come after the report.
    report = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert report, f"the driver reported nothing:\n{result.stdout}\n{result.stderr}"
    # A forwarded line may land between the report and its newline (print
    # writes them apart): what follows the JSON object is not part of it.
    return json.JSONDecoder().raw_decode(report[-1])[0], result


def template_of(raylet: int) -> list:
    """The template under ``raylet`` (as a list: empty once it is gone): the
    oldest of its children with the fork server's command line, since every
    other one was forked from it later."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmd = fh.read()
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid, started = int(fields[1]), int(fields[19])
        if b"flare._private.fork_server" in cmd and ppid == raylet:
            found.append((started, int(entry)))
    return [min(found)[1]] if found else []


def test_a_forked_actor_is_adopted_by_the_raylet_runs_calls_and_goes_with_the_node():
    report, result = run("""
forked = actors[-1]
greeting = flare.get(forked.greet.remote("there"))
squares = flare.get([square.remote(i) for i in range(20)])
report = {"greeting": greeting, "squares": squares}
""")
    assert "fork_server" in report["commands"][-1], (
        f"no actor was forked from the template: {report['commands']}")
    assert "worker_main" in report["commands"][0], "the prestarted workers are exec'ed"
    assert report["parents"][-1] == report["raylet"], "the raylet did not adopt the forked worker"
    assert report["greeting"] == "hello there"
    assert report["squares"] == [i * i for i in range(20)]
    forked = report["pids"][-1]
    assert f"pid={forked}) hello there from {forked}" in result.stdout, (
        f"the forked actor's output did not reach the driver:\n{result.stdout}")
    assert wait_for(lambda: all(process_gone(pid) for pid in report["pids"]), NEVER), \
        "workers outlived their node"
    assert wait_for(lambda: process_gone(report["raylet"]), NEVER)


def test_workers_are_execed_when_the_template_is_disabled():
    report, _ = run("report = {}", env=dict(os.environ, FLARE_FORK_SERVER="0"))
    assert len(report["pids"]) == 20
    assert all("worker_main" in command for command in report["commands"]), report["commands"]


def test_a_killed_template_leaves_workers_to_exec_and_the_node_usable():
    report, _ = run("""
import signal, time
from test_fork_server import template_of
templates = template_of(raylet)
for pid in templates:
    os.kill(pid, signal.SIGKILL)
while template_of(raylet) == templates:
    time.sleep(0.01)
# The first may take a worker forked before; the others need new ones.
late = [Greeter.remote() for _ in range(3)]
report = {"templates": templates,
          "late": [command(pid) for pid in flare.get([a.pid.remote() for a in late])],
          "late_greetings": flare.get([a.greet.remote("again") for a in late])}
""")
    assert len(report["templates"]) == 1, "found no template"
    assert any("worker_main" in command for command in report["late"]), (
        f"no worker started after the template died was exec'ed: {report['late']}")
    assert report["late_greetings"] == ["hello again"] * 3
