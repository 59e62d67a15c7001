"""Where a task or actor runs (ray.util.scheduling_strategies); the classes
live in flare._private.scheduling_strategies, below the submission layer
that reads them."""

from flare._private.scheduling_strategies import (NodeAffinitySchedulingStrategy,
                                                  PlacementGroupSchedulingStrategy)

__all__ = ["NodeAffinitySchedulingStrategy", "PlacementGroupSchedulingStrategy"]
