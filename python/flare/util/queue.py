"""A first-in first-out queue shared by tasks and actors (ray.util.queue).

The items live in an async actor, so ``put`` and ``get`` from any process on
the cluster see the same queue, and a blocked ``get`` waits inside the actor
without holding up other callers. The Queue object itself is a small handle:
pass it to tasks and actors like any argument.
"""

from __future__ import annotations

import asyncio
import queue as std_queue
from typing import Any, Dict, List, Optional

from flare import api
from flare.actor import kill
from flare.api import remote


class Empty(std_queue.Empty):
    """get(block=False) or a get that timed out found no item."""


class Full(std_queue.Full):
    """put(block=False) or a put that timed out found the queue full."""


class _QueueActor:
    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.queue: asyncio.Queue = asyncio.Queue(maxsize)

    async def qsize(self) -> int:
        return self.queue.qsize()

    async def empty(self) -> bool:
        return self.queue.empty()

    async def full(self) -> bool:
        return self.queue.full()

    async def put(self, item: Any, timeout: Optional[float] = None) -> None:
        try:
            await asyncio.wait_for(self.queue.put(item), timeout)
        except asyncio.TimeoutError:
            raise Full from None

    async def get(self, timeout: Optional[float] = None) -> Any:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            raise Empty from None

    async def put_nowait(self, item: Any) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            raise Full from None

    async def put_nowait_batch(self, items: List[Any]) -> None:
        if self.maxsize > 0 and len(items) + self.queue.qsize() > self.maxsize:
            raise Full(f"cannot add {len(items)} items to a queue of maxsize {self.maxsize} "
                       f"holding {self.queue.qsize()}")
        for item in items:
            self.queue.put_nowait(item)

    async def get_nowait(self) -> Any:
        try:
            return self.queue.get_nowait()
        except asyncio.QueueEmpty:
            raise Empty from None

    async def get_nowait_batch(self, num_items: int) -> List[Any]:
        if num_items > self.queue.qsize():
            raise Empty(f"cannot get {num_items} items from a queue holding "
                        f"{self.queue.qsize()}")
        return [self.queue.get_nowait() for _ in range(num_items)]


class Queue:
    """``Queue(maxsize=0, actor_options=None)``: maxsize <= 0 means unbounded;
    actor_options go to the backing actor (e.g. ``{"num_cpus": 0}``)."""

    def __init__(self, maxsize: int = 0, actor_options: Optional[Dict[str, Any]] = None) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int):
            raise TypeError(f"Queue(maxsize=...) must be an int, got {maxsize!r}")
        self.maxsize = maxsize
        options = {"num_cpus": 0, **(actor_options or {})}
        self.actor = remote(_QueueActor).options(**options).remote(maxsize)

    def __len__(self) -> int:
        return self.size()

    def size(self) -> int:
        return api.get(self.actor.qsize.remote())

    def qsize(self) -> int:
        return self.size()

    def empty(self) -> bool:
        return api.get(self.actor.empty.remote())

    def full(self) -> bool:
        return api.get(self.actor.full.remote())

    def put(self, item: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        """Adds an item; blocking (up to ``timeout``) while the queue is full."""
        if not block:
            return self._call(self.actor.put_nowait.remote(item))
        _check_timeout(timeout)
        return self._call(self.actor.put.remote(item, timeout))

    async def put_async(self, item: Any, block: bool = True,
                        timeout: Optional[float] = None) -> None:
        if not block:
            return await self._call_async(self.actor.put_nowait.remote(item))
        _check_timeout(timeout)
        return await self._call_async(self.actor.put.remote(item, timeout))

    def get(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        """Takes the oldest item; blocking (up to ``timeout``) while empty."""
        if not block:
            return self._call(self.actor.get_nowait.remote())
        _check_timeout(timeout)
        return self._call(self.actor.get.remote(timeout))

    async def get_async(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        if not block:
            return await self._call_async(self.actor.get_nowait.remote())
        _check_timeout(timeout)
        return await self._call_async(self.actor.get.remote(timeout))

    def put_nowait(self, item: Any) -> None:
        return self.put(item, block=False)

    def put_nowait_batch(self, items: List[Any]) -> None:
        """Adds all the items, or none of them (Full) if they do not fit."""
        if not isinstance(items, (list, tuple)):
            raise TypeError(f"put_nowait_batch() takes a list, got {type(items).__name__}")
        return self._call(self.actor.put_nowait_batch.remote(list(items)))

    def get_nowait(self) -> Any:
        return self.get(block=False)

    def get_nowait_batch(self, num_items: int) -> List[Any]:
        """Takes ``num_items`` items, or none (Empty) if there are fewer."""
        if isinstance(num_items, bool) or not isinstance(num_items, int) or num_items < 0:
            raise ValueError(f"num_items must be a non-negative integer, got {num_items!r}")
        return self._call(self.actor.get_nowait_batch.remote(num_items))

    def shutdown(self, force: bool = False, grace_period_s: int = 5) -> None:
        """Ends the backing actor; the queue cannot be used afterwards."""
        if self.actor is None:
            return
        if force:
            kill(self.actor)
        else:
            self.actor.__ray_terminate__.remote()
        self.actor = None

    @staticmethod
    def _call(ref: Any) -> Any:
        try:
            return api.get(ref)
        except (Empty, Full) as error:
            raise _plain(error) from None

    @staticmethod
    async def _call_async(ref: Any) -> Any:
        try:
            return await ref
        except (Empty, Full) as error:
            raise _plain(error) from None


def _plain(error: BaseException) -> BaseException:
    """Empty or Full as raised in the actor, without the remote task-error
    wrapping: running out of room or items is the queue's normal answer."""
    return (Empty if isinstance(error, Empty) else Full)(*error.args)


def _check_timeout(timeout: Optional[float]) -> None:
    if timeout is not None and timeout < 0:
        raise ValueError("timeout must be a non-negative number")


__all__ = ["Empty", "Full", "Queue"]
