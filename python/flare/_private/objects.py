"""Objects: storing a value (inline or in the arena), fetching values and
turning a fetched object into its value or the error it holds."""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

from flare import exceptions
from flare._private import serialization, state
from flare._private.protocol import INLINE_THRESHOLD, ErrorCode


def store_value(core: Any, object_id: bytes, value: Any, *,
                is_put: bool) -> Tuple[str, Any, List[bytes]]:
    """Serializes ``value`` as object ``object_id``: inline, or into the arena.

    Returns ("inline", bytes, refs) or ("store", size, refs). Puts are sent
    (and their first reference held) here; task returns are reported by the
    caller in TaskDone.
    """
    return store_serialized(core, object_id, serialization.serialize(value), is_put=is_put)


def store_serialized(core: Any, object_id: bytes, serialized: serialization.SerializedObject,
                     *, is_put: bool) -> Tuple[str, Any, List[bytes]]:
    """store_value() of a value serialized already."""
    refs = serialized.contained_refs
    if serialized.total_size < INLINE_THRESHOLD:
        data = serialized.to_bytes()
        if is_put:
            core.put_inline(object_id, data, refs)
        return "inline", data, refs
    target = core.create(object_id, serialized.total_size, 30000)
    try:
        serialized.write_to(target)
    except BaseException:
        core.abort(object_id)
        raise
    finally:
        target.release()
    if is_put:
        core.seal(object_id, refs)
    return "store", serialized.total_size, refs


def timeout_ms(timeout: Optional[float], name: str) -> int:
    """A user's timeout in seconds (None: none) as the core's milliseconds (-1: none)."""
    if timeout is None:
        return -1
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"{name}(timeout=...) must be a number of seconds or None, "
                        f"got {type(timeout).__name__}")
    if timeout != timeout:  # NaN
        raise ValueError(f"{name}(timeout=...) must be a number of seconds, got nan")
    if timeout < 0:
        raise ValueError(f"{name}(timeout=...) must not be negative, got {timeout}")
    # Past ~292 million years (and inf) is no timeout at all.
    if timeout >= MAX_TIMEOUT_S:
        return -1
    return int(timeout * 1000)


# The longest timeout kept as one; anything longer (inf included) is none.
MAX_TIMEOUT_S = 2**62 / 1000


class StoredError:
    """What a task's error return holds when the error itself is stored once
    as an object of its own (it is large, or the task has many returns):
    the ref to that object, which the return keeps alive."""

    __slots__ = ("ref",)

    def __init__(self, ref: Any) -> None:
        self.ref = ref

    def __reduce__(self):
        return (StoredError, (self.ref,))

    def load(self) -> Any:
        """The stored TaskError (the caller holds the return that keeps it)."""
        return get_values(state.current().core, [self.ref.binary()], -1)[0]


def value_or_raise(error: Optional[ErrorCode], message: str, buffer: Any) -> Any:
    """Turns one fetched object (error None, or the ErrorCode it holds) into
    its value, raising the error it holds."""
    if error is None:
        return serialization.deserialize(buffer)
    if error == ErrorCode.TASK_ERROR:
        raised = serialization.deserialize(buffer)
        if isinstance(raised, StoredError):
            raised = raised.load()
        if isinstance(raised, exceptions.TaskError):
            raise raised.as_instanceof_cause()
        raise raised
    raise _SYSTEM_ERRORS.get(error, exceptions.FlareError)(message or f"error {error.name}")


# What a get raises for an object that holds a system error.
_SYSTEM_ERRORS = {
    ErrorCode.WORKER_CRASHED: exceptions.WorkerCrashedError,
    ErrorCode.TASK_CANCELLED: exceptions.TaskCancelledError,
    ErrorCode.TASK_TIMEOUT: exceptions.TaskTimeoutError,
    ErrorCode.INFEASIBLE: exceptions.TaskUnschedulableError,
    ErrorCode.OBJECT_STORE_FULL: exceptions.ObjectStoreFullError,
    ErrorCode.OBJECT_LOST: exceptions.ObjectLostError,
    ErrorCode.RAYLET_DIED: exceptions.RayletDiedError,
    ErrorCode.ACTOR_DIED: exceptions.ActorDiedError,
    ErrorCode.NODE_DIED: exceptions.NodeDiedError,
    ErrorCode.OWNER_DIED: exceptions.OwnerDiedError,
    ErrorCode.OBJECT_UNRECONSTRUCTABLE: exceptions.ObjectReconstructionFailedError,
}


def get_values(core: Any, object_ids: Sequence[bytes], timeout: int) -> List[Any]:
    """The values of ``object_ids`` once all exist (``timeout`` in ms, -1:
    none), raising the first error one of them holds."""
    return [value_or_raise(error, message, buffer)
            for error, message, buffer in core.get(object_ids, timeout)]
