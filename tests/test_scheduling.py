"""Scheduling as Ray users see it: placement in submission order."""

from __future__ import annotations

import time

import pytest

import flare

pytestmark = pytest.mark.timeout(120)


def test_actor_created_before_tasks_is_placed_before_them(fresh_flare, tmp_path):
    # The seeds' Monte Carlo π with a progress actor: tasks report to an actor
    # created before them. Each task waits (up to a bound it should never
    # reach) until the actor has served a call; if the actor were placed only
    # after the tasks, no call would be served while tasks still start.
    fresh_flare(num_cpus=2)
    log, served = tmp_path / "order.log", tmp_path / "served"

    def note(line):
        with open(log, "a") as out:
            out.write(line + "\n")

    @flare.remote
    class Progress:
        def report(self, i):
            note(f"call {i}")
            served.touch()

    @flare.remote
    def sample(i, progress):
        note(f"start {i}")
        progress.report.remote(i)
        deadline = time.monotonic() + 30
        while not served.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return i

    progress = Progress.remote()
    assert flare.get([sample.remote(i, progress) for i in range(6)]) == list(range(6))
    flare.get(progress.report.remote("last"))
    lines = log.read_text().splitlines()
    first_call = next(n for n, line in enumerate(lines) if line.startswith("call"))
    last_start = max(n for n, line in enumerate(lines) if line.startswith("start"))
    assert first_call < last_start, (
        "the actor created first served no call before the last task started:\n" +
        "\n".join(lines))
