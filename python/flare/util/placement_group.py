"""Placement groups (ray.util.placement_group): reserve bundles of resources
at once, then run tasks and actors inside them.

The raylet takes a group's bundles out of the node's resources when they all
fit and offers them again under the group's names; a task placed in bundle i
asks for ``CPU_group_i_<id>`` instead of ``CPU`` (any bundle:
``CPU_group_<id>``). Removing a group cancels the tasks and ends the actors
placed in it. On one node every strategy but STRICT_SPREAD (with more than
one bundle) can be met.
"""

from __future__ import annotations

import pickle
from typing import Any, Dict, List, Optional

from flare._private import runtime, serialization, state
from flare._private.placement import PlacementGroup, PlacementGroupID
from flare._private.protocol import group_of_resource

STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")


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
    record = pickle.dumps((group_id, group.bundle_specs, strategy, name))
    keys = [_id_key(group_id.hex())]
    if name:
        name_key = _name_key(session, name)
        if not core.kv_put_if_absent(name_key, record, 30000):
            raise ValueError(f"a placement group named {name!r} already exists")
        keys.append(name_key)
    core.kv_put(keys[0], record, True)
    ready_id = group._ready_id()
    core.expect_object(ready_id)
    core.create_placement_group(pg_id=group_id, bundles=group.bundle_specs, strategy=strategy,
                                name=name, ready_id=ready_id,
                                ready_value=serialization.serialize(group).to_bytes(),
                                detached=lifetime == "detached", kv_keys=keys)
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


def get_placement_group(name: str) -> PlacementGroup:
    """The live placement group created with ``name`` (in this namespace)."""
    session = runtime.session()
    record = session.core.kv_get(_name_key(session, name), 30000)
    if record is None:
        raise ValueError(f"no placement group named {name!r} exists")
    return PlacementGroup(*pickle.loads(record))


def get_current_placement_group() -> Optional[PlacementGroup]:
    """The group the running task or actor was placed in, if any."""
    session = runtime.session()
    for resource in getattr(session, "assigned_resources", None) or {}:
        group_hex = group_of_resource(resource)
        if group_hex is not None:
            record = session.core.kv_get(_id_key(group_hex), 30000)
            if record is not None:
                return PlacementGroup(*pickle.loads(record))
    return None


def placement_group_table(placement_group: Optional[PlacementGroup] = None) -> Dict[str, Any]:
    """Ray's table, as the raylet keeps it: with no argument, every group
    (live, and the most recently removed) keyed by id hex; with a group, that
    group's entry ({} once it is forgotten). States: PENDING, CREATED,
    REMOVED."""
    pg_id = b"" if placement_group is None else placement_group.id.binary()
    groups = runtime.session().core.placement_group_table(pg_id, 10000)
    table = {info["pg_id"].hex(): _table_entry(info) for info in groups}
    if placement_group is None:
        return table
    return table.get(placement_group.id.hex(), {})


def _table_entry(info: Dict[str, Any]) -> Dict[str, Any]:
    status = info["state"]
    if status == "PENDING":
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


def _name_key(session: state.Session, name: str) -> str:
    return f"pg:{state.current_namespace(session)}:{name}"


def _id_key(hex_id: str) -> str:
    return f"pg:id:{hex_id}"


__all__ = ["PlacementGroup", "PlacementGroupID", "get_current_placement_group", "get_placement_group",
           "placement_group", "placement_group_table", "remove_placement_group"]
