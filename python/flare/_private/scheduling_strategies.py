"""Where a task or actor runs (ray.util.scheduling_strategies): in a
placement group, or on a given node (hard, or soft: elsewhere when that node
cannot run it). "SPREAD" and "DEFAULT" are plain strings.
"""

from __future__ import annotations

from typing import Any, Optional


class PlacementGroupSchedulingStrategy:
    """Run in ``placement_group`` (in bundle ``placement_group_bundle_index``,
    or any bundle with -1)."""

    def __init__(self, placement_group: Any, placement_group_bundle_index: int = -1,
                 placement_group_capture_child_tasks: Optional[bool] = None) -> None:
        self.placement_group = placement_group
        self.placement_group_bundle_index = placement_group_bundle_index
        self.placement_group_capture_child_tasks = placement_group_capture_child_tasks


class NodeAffinitySchedulingStrategy:
    """Run on node ``node_id`` (hex); with ``soft=True`` anywhere if it is gone."""

    def __init__(self, node_id: str, soft: bool, _spill_on_unavailable: bool = False,
                 _fail_on_unavailable: bool = False) -> None:
        self.node_id = node_id
        self.soft = soft


__all__ = ["NodeAffinitySchedulingStrategy", "PlacementGroupSchedulingStrategy"]
