"""ObjectRefGenerator: the refs of a streaming generator task, as it yields.

A remote function (or actor method) that is a generator returns one at
once. Iterating it gives one ObjectRef per yielded value, as soon as that
value exists; the task's end is its completion object (return 1, holding
the number of items, or the task's error). Item k is return k + 2; the
raylet registers each next item for the caller before it exists, so waiting
on it never finds an unknown object.
"""

from __future__ import annotations

from typing import Any, Iterator, List, Optional

from flare import exceptions
from flare._private import objects, state
from flare._private.protocol import ErrorCode, generator_item_id
from flare.object_ref import ObjectRef


class ObjectRefGenerator:
    """Iterate (``for``, ``async for`` or ``next()``) for the refs of the
    values the task yields, in order, each as soon as it is produced."""

    def __init__(self, task_id: bytes, completion: ObjectRef, name: str) -> None:
        self._task_id = task_id
        self._completion = completion
        self._name = name
        self._taken = 0          # items handed out
        self._expected = False   # the next item's local reference is registered
        self._done = False       # StopIteration from now on
        self._generation = state.session.generation if state.session else -1

    # -- iteration ---------------------------------------------------------
    def __iter__(self) -> "ObjectRefGenerator":
        return self

    def __next__(self) -> ObjectRef:
        return self._next(None)

    def _item_id(self, index: int) -> bytes:
        return generator_item_id(self._task_id, index)

    def _next(self, timeout: Optional[float]) -> ObjectRef:
        if self._done:
            raise StopIteration
        core = state.current().core
        item_id = self._item_id(self._taken)
        if not self._expected:
            core.expect_object(item_id)
            self._expected = True
        timeout_ms = objects.timeout_ms(timeout, "next")
        item_ready, finished = core.wait([item_id, self._completion._id], 1, timeout_ms)
        if not item_ready and not finished:
            raise exceptions.GetTimeoutError(f"no item of {self._name} within {timeout} s")
        if finished:
            error, _, buffer = core.get([self._completion._id], 0)[0]
            if error is None:
                count = objects.value_or_raise(error, "", buffer)
                if self._taken >= count:
                    return self._stop(core, item_id)
            elif not item_ready or core.get([item_id], 0)[0][0] == ErrorCode.OBJECT_LOST:
                # Cancelled or crashed: its error comes as the next ref, once.
                self._stop(core, item_id, raise_stop=False)
                return self._completion
        self._taken += 1
        self._expected = False
        return ObjectRef(item_id, _owned=True)

    def _stop(self, core: Any, item_id: bytes, raise_stop: bool = True) -> Any:
        self._done = True
        if self._expected:
            core.forget_object(item_id)
            self._expected = False
        if raise_stop:
            raise StopIteration
        return None

    def __aiter__(self) -> "ObjectRefGenerator":
        return self

    async def __anext__(self) -> ObjectRef:
        import asyncio
        loop = asyncio.get_running_loop()
        ref = await loop.run_in_executor(None, self._next_or_none)
        if ref is None:
            raise StopAsyncIteration
        return ref

    def _next_or_none(self) -> Optional[ObjectRef]:
        # StopIteration cannot cross a Future.
        try:
            return self._next(None)
        except StopIteration:
            return None

    # -- state ---------------------------------------------------------------
    def completed(self) -> ObjectRef:
        """A ref that is ready once the task has finished (its value is the
        number of items; ``get`` raises the task's error)."""
        return self._completion

    def is_finished(self) -> bool:
        return self._done

    def _next_ids(self) -> list:
        """What flare.wait watches: the next item and the completion."""
        core = state.current().core
        item_id = self._item_id(self._taken)
        if not self._expected and not self._done:
            core.expect_object(item_id)
            self._expected = True
        return [item_id, self._completion._id]

    def __reduce__(self):
        raise TypeError("an ObjectRefGenerator cannot be passed to other tasks or pickled; "
                        "pass the ObjectRefs it yields instead")

    def __repr__(self) -> str:
        return f"ObjectRefGenerator({self._name}, {self._task_id.hex()})"

    def __del__(self) -> None:
        try:
            session = state.session
            if session is None or session.generation != self._generation:
                return
            if self._expected:
                session.core.forget_object(self._item_id(self._taken))
            session.core.release_generator(self._task_id, self._taken)
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


# Ray's name for it.
StreamingObjectRefGenerator = ObjectRefGenerator


class DynamicObjectRefGenerator:
    """What the one ref of a ``num_returns="dynamic"`` task holds: the refs of
    the values it yielded, each an object of its own (Ray's older form of
    generator tasks; ObjectRefGenerator streams them instead)."""

    def __init__(self, refs: List[ObjectRef]) -> None:
        self._refs = list(refs)

    def __iter__(self) -> Iterator[ObjectRef]:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)

    def __repr__(self) -> str:
        return f"DynamicObjectRefGenerator({self._refs!r})"
