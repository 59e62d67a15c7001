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

from flare import _core, api, exceptions
from flare._private import serialization, state
from flare.object_ref import ObjectRef

STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")


class PlacementGroupID:
    def __init__(self, binary: bytes) -> None:
        self._binary = binary

    def binary(self) -> bytes:
        return self._binary

    def hex(self) -> str:
        return self._binary.hex()

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, PlacementGroupID) and other._binary == self._binary

    def __hash__(self) -> int:
        return hash(self._binary)

    def __repr__(self) -> str:
        return f"PlacementGroupID({self.hex()})"


class PlacementGroup:
    """A handle to a placement group; it pickles, so tasks can use it too."""

    def __init__(self, group_id: bytes, bundles: List[Dict[str, float]], strategy: str,
                 name: str = "") -> None:
        self.id = PlacementGroupID(group_id)
        self.bundle_specs = [dict(bundle) for bundle in bundles]
        self.strategy = strategy
        self.name = name

    @property
    def bundle_count(self) -> int:
        return len(self.bundle_specs)

    def _ready_id(self) -> bytes:
        return _core.return_id(self.id.binary(), 1)

    def ready(self) -> ObjectRef:
        """A ref that is ready once the bundles are reserved; its value is
        this group (``get`` raises if the group can never be placed)."""
        return ObjectRef(self._ready_id())

    def wait(self, timeout_seconds: float = 30) -> bool:
        """Whether the group was reserved within ``timeout_seconds``."""
        ready, _ = api.wait([self.ready()], timeout=timeout_seconds)
        if not ready:
            return False
        try:
            api.get(ready[0])
        except exceptions.FlareError:
            return False
        return True

    def __reduce__(self):
        return (PlacementGroup, (self.id.binary(), self.bundle_specs, self.strategy, self.name))

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, PlacementGroup) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"PlacementGroup({self.id.hex()}, {self.bundle_specs}, {self.strategy})"


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
    session = state.require_session()
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
    state.require_session().core.remove_placement_group(group.id.binary())


def get_placement_group(name: str) -> PlacementGroup:
    """The live placement group created with ``name`` (in this namespace)."""
    session = state.require_session()
    record = session.core.kv_get(_name_key(session, name), 30000)
    if record is None:
        raise ValueError(f"no placement group named {name!r} exists")
    return PlacementGroup(*pickle.loads(record))


def get_current_placement_group() -> Optional[PlacementGroup]:
    """The group the running task or actor was placed in, if any."""
    session = state.require_session()
    for resource in getattr(session, "assigned_resources", None) or {}:
        group_hex = _core.group_of_resource(resource)
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
    groups = state.require_session().core.placement_group_table(pg_id, 10000)
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


def group_demand(demand: Dict[str, float], group: PlacementGroup,
                 bundle_index: int) -> Dict[str, float]:
    """A task's demand, asked of the group (of one bundle when index >= 0)."""
    if not isinstance(group, PlacementGroup):
        raise TypeError(f"placement_group must be a PlacementGroup, got {type(group).__name__}")
    if isinstance(bundle_index, bool) or not isinstance(bundle_index, int) or \
            not -1 <= bundle_index < group.bundle_count:
        raise ValueError(f"placement_group_bundle_index must be -1 or a bundle of the group "
                         f"(0..{group.bundle_count - 1}), got {bundle_index!r}")
    group_id = group.id.binary()
    return {_core.group_resource_name(name, group_id, bundle_index): amount
            for name, amount in demand.items()}


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


def _name_key(session: Any, name: str) -> str:
    from flare.actor import current_namespace
    return f"pg:{current_namespace(session)}:{name}"


def _id_key(hex_id: str) -> str:
    return f"pg:id:{hex_id}"


__all__ = ["PlacementGroup", "get_current_placement_group", "get_placement_group",
           "placement_group", "placement_group_table", "remove_placement_group"]
