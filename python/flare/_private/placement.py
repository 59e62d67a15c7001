"""Placement groups as task submission sees them: the group handle, where
options place a task (a group and bundle) and the demand it then asks for,
under the group's resource names."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from flare import exceptions
from flare._private import objects, state
from flare._private.protocol import group_resource_name, return_id
from flare._private.scheduling_strategies import (NodeAffinitySchedulingStrategy,
                                                  PlacementGroupSchedulingStrategy)
from flare.object_ref import ObjectRef


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
        return return_id(self.id.binary(), 1)

    def ready(self) -> ObjectRef:
        """A ref that is ready once the bundles are reserved; its value is
        this group (``get`` raises if the group can never be placed)."""
        return ObjectRef(self._ready_id())

    def wait(self, timeout_seconds: float = 30) -> bool:
        """Whether the group was reserved within ``timeout_seconds``."""
        ref = self.ready()
        core = state.current().core
        if not core.wait([ref._id], 1, objects.timeout_ms(timeout_seconds, "wait"))[0]:
            return False
        try:
            objects.get_values(core, [ref._id], -1)
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
    return {group_resource_name(name, group_id, bundle_index): amount
            for name, amount in demand.items()}


def captures(options: Dict[str, Any]) -> bool:
    """Whether tasks submitted from inside run in the same group."""
    strategy = options.get("scheduling_strategy")
    if strategy is not None and not isinstance(strategy, str):
        return bool(getattr(strategy, "placement_group_capture_child_tasks", False))
    return bool(options.get("placement_group_capture_child_tasks"))


def placement_of(options: Dict[str, Any]) -> Optional[Tuple[Any, int]]:
    """(placement group, bundle index) the options place a task in, if any."""
    strategy = options.get("scheduling_strategy")
    group = options.get("placement_group")
    index = options.get("placement_group_bundle_index", -1)
    if strategy is not None and not isinstance(strategy, str):
        if isinstance(strategy, PlacementGroupSchedulingStrategy):
            group, index = strategy.placement_group, strategy.placement_group_bundle_index
        elif not isinstance(strategy, NodeAffinitySchedulingStrategy):
            raise TypeError(f"scheduling_strategy must be 'DEFAULT', 'SPREAD' or a scheduling "
                            f"strategy object, got {type(strategy).__name__}")
    elif strategy not in (None, "DEFAULT", "SPREAD"):
        raise ValueError(f"scheduling_strategy must be 'DEFAULT', 'SPREAD' or a scheduling "
                         f"strategy object, got {strategy!r}")
    if group is None or group == "default":
        return None
    return group, -1 if index is None else index


# The wire's SchedulingStrategySpec kinds.
STRATEGY_DEFAULT, STRATEGY_SPREAD, STRATEGY_NODE_AFFINITY = 0, 1, 2


def strategy_of(options: Dict[str, Any]) -> Tuple[int, bytes, bool]:
    """(kind, node id, soft) of the options' scheduling_strategy, as the
    raylet takes it: "SPREAD", a NodeAffinitySchedulingStrategy, or the
    default (placement groups travel as resources, see group_demand)."""
    strategy = options.get("scheduling_strategy")
    if strategy == "SPREAD":
        return STRATEGY_SPREAD, b"", False
    if isinstance(strategy, NodeAffinitySchedulingStrategy):
        node_id = strategy.node_id
        try:
            raw = bytes.fromhex(node_id) if isinstance(node_id, str) else b""
        except ValueError:
            raw = b""
        if len(raw) != 16:
            raise ValueError("NodeAffinitySchedulingStrategy(node_id=...) must be a node id as "
                             f"flare.nodes() gives it (32 hex digits), got {node_id!r}")
        return STRATEGY_NODE_AFFINITY, raw, bool(strategy.soft)
    return STRATEGY_DEFAULT, b"", False

