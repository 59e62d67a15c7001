"""ActorPool: spread work over a fixed set of actors (Ray's ray.util.ActorPool).

Each piece of work is ``fn(actor, value)``, which must return the ObjectRef
of a call on that actor. An actor takes the next piece once its result has
been collected; work submitted while every actor is busy waits here.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, Optional, Tuple

from flare import api
from flare.object_ref import ObjectRef

Work = Callable[[Any, Any], ObjectRef]


class ActorPool:
    def __init__(self, actors: Iterable[Any]) -> None:
        self._idle: List[Any] = list(actors)
        self._busy: Dict[ObjectRef, Tuple[int, Any]] = {}  # ref -> (index, actor)
        self._by_index: Dict[int, ObjectRef] = {}
        self._waiting: Deque[Tuple[Work, Any]] = deque()
        self._submitted = 0   # index of the next piece of work
        self._returned = 0    # index get_next() returns next

    # -- whole iterables ---------------------------------------------------
    def map(self, fn: Work, values: Iterable[Any]) -> Iterator[Any]:
        """Results of ``fn(actor, value)`` for each value, in order."""
        return self._map(fn, values, self.get_next)

    def map_unordered(self, fn: Work, values: Iterable[Any]) -> Iterator[Any]:
        """Results of ``fn(actor, value)`` for each value, as they complete."""
        return self._map(fn, values, self.get_next_unordered)

    def _map(self, fn: Work, values: Iterable[Any], take: Callable[[], Any]) -> Iterator[Any]:
        # Results of earlier submits nobody collected would otherwise come
        # out of this map's iterator.
        while self.has_next():
            self.get_next_unordered()
        for value in values:
            self.submit(fn, value)
        while self.has_next():
            yield take()

    # -- one piece at a time ----------------------------------------------
    def submit(self, fn: Work, value: Any) -> None:
        """Starts ``fn(actor, value)`` on an idle actor, or queues it."""
        if not self._idle:
            self._waiting.append((fn, value))
            return
        actor = self._idle.pop()
        ref = fn(actor, value)
        if not isinstance(ref, ObjectRef):
            self._idle.append(actor)
            raise TypeError("the function given to ActorPool must return the ObjectRef of an "
                            f"actor call (e.g. lambda a, v: a.method.remote(v)), got "
                            f"{type(ref).__name__}")
        self._busy[ref] = (self._submitted, actor)
        self._by_index[self._submitted] = ref
        self._submitted += 1

    def has_next(self) -> bool:
        """Whether a submitted result is still to be collected."""
        return bool(self._busy)

    def get_next(self, timeout: Optional[float] = None, ignore_if_timedout: bool = False) -> Any:
        """The next result in submission order."""
        if not self.has_next():
            raise StopIteration("No more results to get")
        if self._returned not in self._by_index:
            raise ValueError("get_next() cannot follow get_next_unordered(): results were "
                             "already taken out of order")
        ref = self._by_index[self._returned]
        ready, _ = api.wait([ref], timeout=timeout)
        if not ready:
            if ignore_if_timedout:
                self._forget(ref)
            raise TimeoutError(f"Timed out waiting for result after {timeout} s")
        self._forget(ref)
        return api.get(ref)

    def get_next_unordered(self, timeout: Optional[float] = None,
                           ignore_if_timedout: bool = False) -> Any:
        """Whichever submitted result is ready first."""
        if not self.has_next():
            raise StopIteration("No more results to get")
        ready, _ = api.wait(list(self._busy), num_returns=1, timeout=timeout)
        if not ready:
            if ignore_if_timedout:
                self._forget(next(iter(self._busy)))
            raise TimeoutError(f"Timed out waiting for result after {timeout} s")
        self._forget(ready[0])
        return api.get(ready[0])

    def _forget(self, ref: ObjectRef) -> None:
        index, actor = self._busy.pop(ref)
        del self._by_index[index]
        self._returned = index + 1 if index >= self._returned else self._returned
        self._return_actor(actor)

    def _return_actor(self, actor: Any) -> None:
        self._idle.append(actor)
        if self._waiting:
            self.submit(*self._waiting.popleft())

    # -- the actors ------------------------------------------------------------
    def has_free(self) -> bool:
        """Whether an actor is idle with no work waiting for it."""
        return bool(self._idle) and not self._waiting

    def pop_idle(self) -> Optional[Any]:
        """Takes an idle actor out of the pool (None if there is none)."""
        return self._idle.pop() if self.has_free() else None

    def push(self, actor: Any) -> None:
        """Adds an actor to the pool."""
        if actor in self._idle or any(actor == busy for _, busy in self._busy.values()):
            raise ValueError("the actor is already in the pool")
        self._return_actor(actor)


__all__ = ["ActorPool"]
