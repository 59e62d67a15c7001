"""Placement groups: bundles reserved together, tasks and actors placed in
them, groups that wait for room, removal, and the errors of bad requests."""

from __future__ import annotations

import time

import pytest

import flare
from flare.exceptions import ActorDiedError, GetTimeoutError, TaskCancelledError
from flare.util import (get_current_placement_group, get_placement_group, placement_group,
                        placement_group_table, remove_placement_group)
from flare.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from conftest import private_head, run_script, wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", autouse=True)
def runtime():
    flare.init(num_cpus=4, resources={"disk": 2}, object_store_memory=64 * 2**20)
    yield
    flare.shutdown()


def settled_cpus(expected):
    return wait_for(lambda: flare.available_resources().get("CPU") == expected)


@flare.remote
def placement():
    group = get_current_placement_group()
    return (group.id.hex() if group else None,
            flare.get_runtime_context().get_assigned_resources())


@flare.remote
def span(seconds):
    """(start, end) of a sleep, on the machine's monotonic clock: they order
    tasks, they do not measure them."""
    start = time.monotonic()
    time.sleep(seconds)
    return start, time.monotonic()


@flare.remote
def hold(started):
    started.set()
    time.sleep(600)


def test_a_group_reserves_its_bundles_and_places_tasks_in_them():
    group = placement_group([{"CPU": 1}, {"CPU": 1, "disk": 1}], strategy="PACK")
    assert flare.get(group.ready(), timeout=30) == group
    assert group.wait(5) and group.bundle_count == 2
    assert placement_group_table(group)["state"] == "CREATED"
    assert settled_cpus(2.0)
    hex_id = group.id.hex()
    in_bundle = placement.options(
        scheduling_strategy=PlacementGroupSchedulingStrategy(group, 1)).remote()
    assert flare.get(in_bundle, timeout=30) == (hex_id, {f"CPU_group_1_{hex_id}": 1.0})
    anywhere = placement.options(placement_group=group).remote()  # Ray's older spelling
    assert flare.get(anywhere, timeout=30) == (hex_id, {f"CPU_group_{hex_id}": 1.0})
    assert flare.get(placement.remote(), timeout=30) == (None, {"CPU": 1.0})
    remove_placement_group(group)
    assert settled_cpus(4.0)
    assert not any("_group_" in name for name in flare.cluster_resources())


def test_tasks_in_a_bundle_share_only_its_resources():
    group = placement_group([{"CPU": 1}])
    in_group = span.options(scheduling_strategy=PlacementGroupSchedulingStrategy(group, 0))
    (start_a, end_a), (start_b, end_b) = flare.get([in_group.remote(0.3), in_group.remote(0.3)],
                                                   timeout=30)
    # The node has CPUs to spare, the bundle has one: they ran one after the other.
    assert end_a <= start_b or end_b <= start_a
    remove_placement_group(group)


def test_a_group_waits_for_room_and_so_do_its_tasks():
    whole_node = placement_group([{"CPU": 4}])
    assert whole_node.wait(10)
    waiting = placement_group([{"CPU": 1}])
    assert not waiting.wait(0.2)
    assert placement_group_table(waiting)["state"] == "PENDING"
    queued = placement.options(placement_group=waiting).remote()
    assert flare.wait([queued], timeout=0.2)[0] == []
    remove_placement_group(whole_node)
    assert waiting.wait(10)
    assert flare.get(queued, timeout=30)[0] == waiting.id.hex()
    remove_placement_group(waiting)
    assert settled_cpus(4.0)


def test_the_table_lists_every_group_with_its_state():
    created = placement_group([{"CPU": 3}], strategy="STRICT_PACK", name="table-created")
    assert created.wait(10)
    pending = placement_group([{"CPU": 2}, {"disk": 1}])  # one CPU is left: it waits
    removed = placement_group([{"disk": 1}])
    remove_placement_group(removed)
    table = placement_group_table()
    states = {group: table[group.id.hex()]["state"] for group in (created, pending, removed)}
    assert states == {created: "CREATED", pending: "PENDING", removed: "REMOVED"}
    entry = table[created.id.hex()]
    assert entry == placement_group_table(created)
    assert entry["placement_group_id"] == created.id.hex()
    assert (entry["name"], entry["strategy"]) == ("table-created", "STRICT_PACK")
    assert entry["bundles"] == {0: {"CPU": 3.0}}
    assert entry["bundles_to_node_id"] == {0: flare.nodes()[0]["NodeID"]}
    assert table[pending.id.hex()]["bundles"] == {0: {"CPU": 2.0}, 1: {"disk": 1.0}}
    assert table[pending.id.hex()]["bundles_to_node_id"] == {}
    remove_placement_group(created)
    assert pending.wait(10)
    assert placement_group_table(pending)["state"] == "CREATED"
    remove_placement_group(pending)
    assert settled_cpus(4.0)


def test_a_removed_group_says_removed():
    group = placement_group([{"CPU": 1}], name="soon-removed")
    assert group.wait(10)
    remove_placement_group(group)
    entry = placement_group_table(group)
    assert entry["state"] == "REMOVED", entry
    assert entry["name"] == "soon-removed"
    assert placement_group_table()[group.id.hex()]["state"] == "REMOVED"
    assert settled_cpus(4.0)


def test_a_group_the_node_can_never_hold_stays_pending():
    group = placement_group([{"CPU": 8}])
    ready = group.ready()
    with pytest.raises(GetTimeoutError):
        flare.get(ready, timeout=1)  # as in Ray: it waits for a node that can hold it
    entry = placement_group_table(group)
    assert entry["state"] == "PENDING", entry
    assert entry["stats"]["scheduling_state"] == "INFEASIBLE"
    remove_placement_group(group)
    assert placement_group_table(group)["state"] == "REMOVED"
    with pytest.raises(TaskCancelledError):
        flare.get(ready, timeout=10)


def test_groups_that_cannot_be_placed_warn_the_driver_naming_what_they_need(capfd):
    seen = []

    def warned(*parts):
        seen.append(capfd.readouterr().err)
        return any(all(part in err for part in parts) for err in seen)

    too_big = placement_group([{"CPU": 8}])
    assert wait_for(lambda: warned("cannot be placed", "CPU: 8", "the largest node has")), seen
    too_wide = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_SPREAD")
    assert wait_for(lambda: warned("cannot be placed", "STRICT_SPREAD")), seen
    single = placement_group([{"CPU": 1}], strategy="STRICT_SPREAD")
    assert single.wait(10), "groups that wait for nodes hold back no other"
    for group in (too_big, too_wide, single):
        remove_placement_group(group)


def test_removing_a_group_ends_what_runs_in_it(events):
    group = placement_group([{"CPU": 1}, {"CPU": 1}])
    assert group.wait(10)

    @flare.remote
    class Resident:
        def ping(self):
            return "pong"

    resident = Resident.options(
        scheduling_strategy=PlacementGroupSchedulingStrategy(group, 0)).remote()
    assert flare.get(resident.ping.remote(), timeout=30) == "pong"
    started = events("started")
    running = hold.options(placement_group=group, placement_group_bundle_index=1).remote(started)
    assert started.wait(), "the task in the group never started"
    remove_placement_group(group)
    with pytest.raises(TaskCancelledError, match="placement group"):
        flare.get(running, timeout=10)
    with pytest.raises(ActorDiedError, match="placement group"):
        flare.get(resident.ping.remote(), timeout=10)
    assert settled_cpus(4.0)
    assert flare.get(span.remote(0), timeout=30)  # the node serves on


def test_named_groups_and_bad_requests():
    group = placement_group([{"CPU": 1}], name="named-group")
    assert get_placement_group("named-group") == group
    with pytest.raises(ValueError, match="already exists"):
        placement_group([{"CPU": 1}], name="named-group")
    remove_placement_group(group)

    def name_is_free():
        try:
            get_placement_group("named-group")
        except ValueError:
            return True
        return False

    assert wait_for(name_is_free), "the removed group's name was not freed"
    again = placement_group([{"CPU": 1}], name="named-group")
    assert get_placement_group("named-group") == again != group, "the freed name is taken anew"
    remove_placement_group(again)
    with pytest.raises(ValueError, match="strategy"):
        placement_group([{"CPU": 1}], strategy="NEARBY")
    with pytest.raises(ValueError, match="bundles"):
        placement_group([])
    with pytest.raises(ValueError, match="asks for nothing"):
        placement_group([{"CPU": 0}])
    other = placement_group([{"CPU": 1}])
    with pytest.raises(ValueError, match="bundle_index"):
        span.options(placement_group=other, placement_group_bundle_index=3)
    with pytest.raises(TypeError, match="scheduling_strategy"):
        span.options(scheduling_strategy=42)
    remove_placement_group(other)


def test_a_drivers_groups_go_with_it_unless_detached():
    with private_head(num_cpus=4) as env:
        creator = run_script("""
            import flare
            from flare.util import placement_group
            flare.init(address="auto")
            temporary = placement_group([{"CPU": 2}])
            detached = placement_group([{"CPU": 1}], lifetime="detached")
            assert temporary.wait(10) and detached.wait(10)
            print(flare.available_resources()["CPU"], temporary.id.hex(), detached.id.hex())
        """, env=env)
        assert creator.returncode == 0, creator.stderr
        cpus, temporary, detached = creator.stdout.split()
        assert cpus == "1.0"
        after = run_script(f"""
            import flare
            from flare.util import placement_group_table
            from conftest import wait_for
            flare.init(address="auto")
            wait_for(lambda: flare.available_resources()["CPU"] == 3.0)
            table = placement_group_table()
            print(flare.available_resources()["CPU"],
                  *(table[group]["state"] for group in {[temporary, detached]!r}))
        """, env=env)
        assert after.stdout.split() == ["3.0", "REMOVED", "CREATED"], after.stderr


def test_a_named_group_is_found_in_its_namespace_only():
    with private_head(num_cpus=2) as env:
        creator = run_script("""
            import flare
            from flare.util import placement_group
            flare.init(address="auto", namespace="alpha")
            group = placement_group([{"CPU": 1}], name="shared", lifetime="detached")
            assert group.wait(10)
            print(group.id.hex())
        """, env=env)
        assert creator.returncode == 0, creator.stderr
        group_hex = creator.stdout.split()[-1]
        other = run_script("""
            import flare
            from flare.util import get_placement_group, placement_group, remove_placement_group
            flare.init(address="auto", namespace="beta")
            try:
                get_placement_group("shared")
            except ValueError as error:
                print("not found:", error)
            own = placement_group([{"CPU": 1}], name="shared")
            print("own:", get_placement_group("shared") == own)
            remove_placement_group(own)
        """, env=env)
        assert other.returncode == 0, other.stderr
        assert "not found:" in other.stdout and "'beta'" in other.stdout, other.stdout
        assert "own: True" in other.stdout, "another namespace has its own names"
        owner = run_script(f"""
            import flare
            from flare.util import (get_placement_group, placement_group_table,
                                    remove_placement_group)
            from conftest import wait_for
            flare.init(address="auto", namespace="alpha")

            @flare.remote(num_cpus=0)
            def lookup():  # a worker looks in the namespace of the job it runs for
                return get_placement_group("shared").id.hex()

            group = get_placement_group("shared")
            print(group.id.hex() == {group_hex!r}, flare.get(lookup.remote(), timeout=30))
            remove_placement_group(group)

            def gone():
                try:
                    get_placement_group("shared")
                except ValueError:
                    return True
                return False

            print(wait_for(gone), placement_group_table(group)["state"])
        """, env=env)
        assert owner.returncode == 0, owner.stderr
        assert owner.stdout.split() == ["True", group_hex, "True", "REMOVED"], owner.stdout


def test_child_tasks_join_a_capturing_group():
    group = placement_group([{"CPU": 1}])
    assert group.wait(10)

    @flare.remote
    def parent(depth):
        # Blocked in get, the parent lends its bundle's CPU to its child.
        if depth == 0:
            return flare.get(placement.remote())[0]
        return flare.get(parent.remote(depth - 1))

    capturing = PlacementGroupSchedulingStrategy(group, placement_group_capture_child_tasks=True)
    assert flare.get(parent.options(scheduling_strategy=capturing).remote(2),
                     timeout=30) == group.id.hex()
    plain = PlacementGroupSchedulingStrategy(group)
    assert flare.get(parent.options(scheduling_strategy=plain).remote(0), timeout=30) is None
    remove_placement_group(group)
