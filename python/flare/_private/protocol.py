"""What flare's Python layers share with the C++ core, each defined once in
C++ (proto/flare.proto, cpp/common) and read here through flare._core: error
codes, the object-id layout and placement-group resource names, plus the
constants of the task protocol itself.
"""

from __future__ import annotations

from typing import NamedTuple

from flare import _core

# Why an object holds an error instead of a value (proto ErrorCode).
ErrorCode = _core.ErrorCode

# Objects below this size travel inline in messages instead of the arena.
INLINE_THRESHOLD = 100 * 1024

# num_returns of a generator whose items are streamed as they are yielded.
STREAMING = "streaming"
# num_returns of a generator whose one return, once it has finished, holds a
# DynamicObjectRefGenerator of its items (Ray's older dynamic returns).
DYNAMIC = "dynamic"

# Object ids: return i (1-based) of a task, item k (0-based) of a streaming
# generator task, and the task an object derives from.
return_id = _core.return_id
generator_item_id = _core.generator_item_id
task_id_of = _core.task_id_of


class OwnerAddress(NamedTuple):
    """Who owns an object: the raylet of the node where it was put or where
    the task returning it was submitted (ownership is per node).

    ``node_id`` is the node's binary id; ``address`` is where other nodes
    reach its raylet ("host:port"), empty on a single-node runtime.
    """

    node_id: bytes
    address: str

    def __repr__(self) -> str:
        return f"OwnerAddress(node_id={self.node_id.hex()}, address={self.address!r})"


# Placement-group resource names ("CPU_group_<i>_<hex>", "CPU_group_<hex>").
group_resource_name = _core.group_resource_name
group_of_resource = _core.group_of_resource

__all__ = ["DYNAMIC", "INLINE_THRESHOLD", "STREAMING", "ErrorCode", "OwnerAddress",
           "generator_item_id", "group_of_resource", "group_resource_name", "return_id",
           "task_id_of"]
