"""Placement groups (ray.util.placement_group): reserve bundles of resources
at once, then run tasks and actors inside them.

The raylet where the group is created chooses a node for each bundle by the
group's strategy and reserves them all or nothing; each node offers its
bundles again under the group's names, and a task placed in bundle i asks
for ``CPU_group_i_<id>`` instead of ``CPU`` (any bundle: ``CPU_group_<id>``),
which sends it to that bundle's node. Removing a group cancels the tasks and
ends the actors placed in it, on every node.

Every group is a record in the GCS placement-group table. A named group
takes its name in the job's namespace there before it is created (as a
named actor does), is found by it with ``get_placement_group``, and gives
it up when removed.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from flare._private import runtime, serialization, state
from flare._private.placement import PlacementGroup, PlacementGroupID
from flare._private.protocol import group_of_resource

STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")
_GCS_TIMEOUT_MS = 30000


def placement_group(bundles: List[Dict[str, float]], strategy: str = "PACK", name: str = "",
                    lifetime: Optional[str] = None, _max_cpu_fraction_per_node: Any = None,
                    **unused: Any) -> PlacementGroup:
    """Asks for ``bundles`` (dicts of resource amounts) to be reserved
    together; returns at once. ``ready()`` / ``wait()`` tell when they are."""
    _check_bundles(bundles)
    if strategy not in STRATEGIES:
        raise ValueError(f"placement_group(strategy={strategy!r}): must be one of "
                         f"{', '.join(STRATEGIES)}")
    if lifetime not in (None, "detached"):
        raise ValueError(f"placement_group(lifetime={lifetime!r}): must be None or 'detached'")
    if not isinstance(name, str):
        raise TypeError(f"placement_group(name=...) must be a string, got {name!r}")
    unknown = sorted(set(unused) - {"bundle_label_selector"})
    if unknown:
        raise TypeError(f"placement_group() got unknown option(s): {', '.join(unknown)}")
    session = runtime.session()
    core = session.core
    group_id = core.new_task_id()
    group = PlacementGroup(group_id, [{k: float(v) for k, v in b.items()} for b in bundles],
                           strategy, name)
    if name:
        namespace = state.current_namespace(session)
        if not core.register_placement_group(pg_id=group_id, name=name, namespace=namespace,
                                             strategy=strategy, bundles=group.bundle_specs,
                                             timeout_ms=_GCS_TIMEOUT_MS):
            raise ValueError(f"a placement group named {name!r} already exists in namespace "
                             f"{namespace!r}")
    ready_id = group._ready_id()
    core.expect_object(ready_id)
    core.create_placement_group(pg_id=group_id, bundles=group.bundle_specs, strategy=strategy,
                                name=name, ready_id=ready_id,
                                ready_value=serialization.serialize(group).to_bytes(),
                                detached=lifetime == "detached")
    # The raylet keeps the ready object while the group exists; the
    # creator's reference from the submission is not needed.
    core.remove_ref(ready_id)
    return group


def remove_placement_group(group: PlacementGroup) -> None:
    """Frees the group's resources; tasks in it are cancelled, actors end."""
    if not isinstance(group, PlacementGroup):
        raise TypeError(f"remove_placement_group() takes a PlacementGroup, got "
                        f"{type(group).__name__}")
    runtime.session().core.remove_placement_group(group.id.binary())


def get_placement_group(placement_group_name: str) -> PlacementGroup:
    """The live placement group created as ``placement_group_name`` in this
    job's namespace."""
    if not isinstance(placement_group_name, str) or not placement_group_name:
        raise ValueError(f"get_placement_group() needs a non-empty name, got "
                         f"{placement_group_name!r}")
    session = runtime.session()
    namespace = state.current_namespace(session)
    info = session.core.lookup_placement_group(namespace, placement_group_name,
                                                _GCS_TIMEOUT_MS)
    if info is None:
        raise ValueError(f"no placement group named {placement_group_name!r} exists in "
                         f"namespace {namespace!r}")
    return _handle_of(info)


def get_current_placement_group() -> Optional[PlacementGroup]:
    """The group the running task or actor was placed in, if any."""
    session = runtime.session()
    for resource in getattr(session, "assigned_resources", None) or {}:
        group_hex = group_of_resource(resource)
        if group_hex is not None:
            groups = session.core.placement_group_table(bytes.fromhex(group_hex),
                                                        _GCS_TIMEOUT_MS)
            if groups and groups[0]["state"] != "REMOVED":
                return _handle_of(groups[0])
    return None


def placement_group_table(placement_group: Optional[PlacementGroup] = None) -> Dict[str, Any]:
    """Ray's table, as the GCS keeps it: with no argument, every group
    (live, and the most recently removed) keyed by id hex; with a group, that
    group's entry ({} once it is forgotten). States: PENDING, CREATED,
    RESCHEDULING (a node of its bundles left; they are being placed again),
    REMOVED."""
    pg_id = b"" if placement_group is None else placement_group.id.binary()
    groups = runtime.session().core.placement_group_table(pg_id, _GCS_TIMEOUT_MS)
    table = {info["pg_id"].hex(): _table_entry(info) for info in groups}
    if placement_group is None:
        return table
    return table.get(placement_group.id.hex(), {})


def _handle_of(info: Dict[str, Any]) -> PlacementGroup:
    """The handle of a group from its GCS record."""
    return PlacementGroup(info["pg_id"], info["bundles"], info["strategy"], info["name"])


def _table_entry(info: Dict[str, Any]) -> Dict[str, Any]:
    status = info["state"]
    if status in ("PENDING", "RESCHEDULING"):  # RESCHEDULING: its lost bundles
        scheduling = "INFEASIBLE" if info["infeasible"] else "QUEUED"
    else:
        scheduling = "FINISHED" if status == "CREATED" else status
    return {"placement_group_id": info["pg_id"].hex(), "name": info["name"],
            "bundles": dict(enumerate(info["bundles"])),
            "bundles_to_node_id": {i: node.hex() for i, node in enumerate(info["bundle_node_ids"])},
            "strategy": info["strategy"], "state": status,
            "stats": {"scheduling_state": scheduling}}


def _check_bundles(bundles: Any) -> None:
    if not isinstance(bundles, (list, tuple)) or not bundles:
        raise ValueError("placement_group() needs a non-empty list of bundles (dicts of "
                         "resource amounts)")
    for bundle in bundles:
        if not isinstance(bundle, dict) or not bundle:
            raise ValueError(f"each bundle must be a non-empty dict of resource amounts, got "
                             f"{bundle!r}")
        for key, value in bundle.items():
            if not isinstance(key, str) or isinstance(value, bool) or \
                    not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"bundle {bundle!r}: amounts must be non-negative numbers")
        if all(value == 0 for value in bundle.values()):
            raise ValueError(f"bundle {bundle!r} asks for nothing")


__all__ = ["PlacementGroup", "PlacementGroupID", "get_current_placement_group", "get_placement_group",
           "placement_group", "placement_group_table", "remove_placement_group"]
