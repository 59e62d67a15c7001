"""Helpers on top of the core API, under Ray's names (``ray.util``)."""

from __future__ import annotations

import socket
from typing import Any, Iterable, Iterator, List, Optional, Sequence

from flare import api
from flare.actor import list_named_actors
from flare.object_ref import ObjectRef
from flare.util import accelerators, scheduling_strategies
from flare.util.actor_pool import ActorPool
from flare.util.placement_group import (get_current_placement_group, get_placement_group,
                                        placement_group, placement_group_table,
                                        remove_placement_group)


def as_completed(refs: Sequence[ObjectRef], *, chunk_size: int = 10,
                 yield_obj_refs: bool = False, **wait_options: Any) -> Iterator[Any]:
    """Yields the results of ``refs`` (or, with ``yield_obj_refs``, the refs)
    as they become ready, waiting for up to ``chunk_size`` at a time."""
    _check_chunk_size(chunk_size)
    pending: List[ObjectRef] = list(refs)
    while pending:
        ready, pending = api.wait(pending, num_returns=min(chunk_size, len(pending)),
                                  **wait_options)
        yield from _results(ready, yield_obj_refs)


def map_unordered(fn: Any, items: Iterable[Any], *, backpressure_size: Optional[int] = 100,
                  chunk_size: int = 10, yield_obj_refs: bool = False,
                  **wait_options: Any) -> Iterator[Any]:
    """Runs the remote function ``fn`` on each item, at most
    ``backpressure_size`` at a time, yielding results as they complete."""
    if not hasattr(fn, "remote"):
        raise TypeError(f"map_unordered() needs a remote function, got {type(fn).__name__}")
    _check_chunk_size(chunk_size)
    if backpressure_size is not None and backpressure_size < 1:
        raise ValueError(f"backpressure_size must be at least 1 or None, got {backpressure_size}")
    pending: List[ObjectRef] = []
    for item in items:
        if backpressure_size is not None and len(pending) >= backpressure_size:
            ready, pending = api.wait(pending, num_returns=min(chunk_size, len(pending)),
                                      **wait_options)
            yield from _results(ready, yield_obj_refs)
        pending.append(fn.remote(item))
    yield from as_completed(pending, chunk_size=chunk_size, yield_obj_refs=yield_obj_refs,
                            **wait_options)


def get_node_ip_address() -> str:
    """This machine's address as other nodes would reach it."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))  # no packet is sent
            return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"


def _check_chunk_size(chunk_size: int) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")


def _results(ready: List[ObjectRef], yield_obj_refs: bool) -> Iterable[Any]:
    return ready if yield_obj_refs else api.get(ready)


__all__ = ["ActorPool", "accelerators", "as_completed", "get_current_placement_group",
           "get_node_ip_address", "get_placement_group", "list_named_actors", "map_unordered",
           "placement_group",
           "placement_group_table", "remove_placement_group"]
