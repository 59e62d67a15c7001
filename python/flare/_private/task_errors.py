"""A task's exception as the objects its returns hold.

An error travels like a value. It is serialized once; when all of its
copies together stay under the inline threshold, each return carries it
inline, as before. Otherwise it is stored once as an object of its own (in
the arena when large, so it reaches the caller as fast as a return value of
its size), and each return holds only a ``StoredError`` naming that object:
a reference, which keeps the stored error alive as long as any return is.
(When the store has no room for it, copies that together make a moderate
message still go inline, as they always did.)

The exception object carries the message; the text around it is bounded.
Every line of the traceback is kept, but a line past ``MAX_LINE``
characters (a huge message) keeps only its start and end, so a 100 MiB
message is not also copied into the traceback text, the repr and the
message the raylet logs.

An error that cannot be serialized or stored whole (larger than the object
store, an exception that does not pickle) is replaced by a smaller one that
keeps the exception's class, the start of its message and the traceback:
never a crash of the worker, never a retry.
"""

from __future__ import annotations

import traceback
from types import TracebackType
from typing import Any, Callable, List, NamedTuple, Optional, Sequence

import cloudpickle

from flare._private import objects, serialization
from flare._private.protocol import INLINE_THRESHOLD, ErrorCode
from flare.exceptions import TaskError, _rebuild_shrunk_task_error
from flare.object_ref import ObjectRef

# Characters kept of one line of a traceback (and of an exception's repr).
MAX_LINE = 16 * 1024
# Characters kept of a whole traceback text.
MAX_TRACEBACK = 256 * 1024
# Characters of the message the raylet logs for a task's error, and of the
# traceback a failed constructor leaves for every call of its dead actor.
MAX_MESSAGE = 1024
MAX_CONSTRUCTOR_MESSAGE = 64 * 1024
# Characters of its message a replaced (shrunk) error keeps.
SHRUNK_MESSAGE = 64 * 1024
# All the inline copies of an error that the store had no room for may come
# to this many bytes (far below the 512 MiB a message may carry).
MAX_INLINE_FALLBACK = 64 << 20
# The last resort, inline in every return: a few KiB at most.
MINIMAL_MESSAGE = 512
MINIMAL_TRACEBACK = 2048


class ErrorReturns(NamedTuple):
    """What a failed task reports: its returns, and the ref to the stored
    error they refer to (held until the raylet has the returns)."""

    returns: List[tuple]
    stored: Optional[ObjectRef]


def bounded(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters; else its start and
    end around a note of how much was left out."""
    if len(text) <= limit:
        return text
    head = limit * 3 // 4
    tail = limit - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n... [{omitted} characters omitted] ...\n{text[len(text) - tail:]}"


def format_traceback(error: BaseException, trace: Optional[TracebackType],
                     line_limit: int = MAX_LINE, total_limit: int = MAX_TRACEBACK) -> str:
    """The traceback text of ``error`` (chained exceptions included), every
    line bounded to ``line_limit`` and the whole to ``total_limit``."""
    try:
        described = traceback.TracebackException(type(error), error, trace)
        _bound_messages(described, line_limit)
        text = "".join(bounded(chunk, line_limit) for chunk in described.format())
    except Exception:  # noqa: BLE001 - a broken __str__ must not lose the error
        text = f"{type(error).__name__} (its traceback could not be formatted)\n"
    return bounded(text, total_limit)


def _bound_messages(described: traceback.TracebackException, limit: int) -> None:
    """Cuts each message of the exception chain to ``limit`` characters
    before it is formatted (the formatter copies a message several times)."""
    seen = set()
    pending = [described]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        message = getattr(current, "_str", None)  # its message, as CPython 3.8-3.13 keep it
        if isinstance(message, str) and len(message) > limit:
            current._str = bounded(message, limit)
        pending.extend([current.__cause__, current.__context__,
                        *(getattr(current, "exceptions", None) or [])])


def _bounded_repr(error: BaseException) -> str:
    """repr(error), cut to MAX_LINE characters; for the usual repr of an
    exception, without first making the whole of a huge one."""
    if type(error).__repr__ is not BaseException.__repr__:
        return bounded(repr(error), MAX_LINE)
    parts = []
    for arg in error.args:
        if isinstance(arg, str) and len(arg) > MAX_LINE:
            arg = arg[:MAX_LINE]
        parts.append(repr(arg))
    return bounded(f"{type(error).__name__}({', '.join(parts)})", MAX_LINE)


def error_returns(core: Any, object_ids: Sequence[bytes], function_name: str,
                  error: BaseException, trace: Optional[TracebackType], pid: int,
                  constructor: bool = False) -> ErrorReturns:
    """The returns ``object_ids`` all holding ``error`` (raised with
    ``trace``), as task_done and generator_yield take them.

    The first return also carries the message the raylet logs (for a
    failed constructor, what every call of the dead actor shows: the whole
    traceback)."""
    formatted = format_traceback(error, trace)
    # An error that came up from a task this one waited on keeps its
    # original class, however deep it started.
    cause: Optional[BaseException] = error.cause if isinstance(error, TaskError) else error
    cause_repr = _safe(lambda: _bounded_repr(error), type(error).__name__)
    message = (bounded(formatted, MAX_CONSTRUCTOR_MESSAGE) if constructor
               else bounded(cause_repr, MAX_MESSAGE))
    try:
        whole = TaskError(function_name, formatted, cause, pid, cause_repr)
        return _place(core, object_ids, message, serialization.serialize(whole))
    except Exception as failure:  # noqa: BLE001 - too large to store, or it does not pickle
        why = _safe(lambda: f"{type(failure).__name__}: {bounded(str(failure), 300)}",
                    type(failure).__name__)
    note = (f"\n[flare: this error could not be delivered whole ({why}); it keeps its class, "
            f"the start of its message and the traceback]\n")
    try:
        shrunk = ShrunkTaskError(function_name, formatted + note, cause, pid, cause_repr,
                                 SHRUNK_MESSAGE)
        return _place(core, object_ids, message, serialization.serialize(shrunk))
    except Exception:  # noqa: BLE001 - not even that could be stored: the least, inline
        pass
    minimal = ShrunkTaskError(function_name, bounded(formatted, MINIMAL_TRACEBACK) + note, cause,
                              pid, bounded(cause_repr, MINIMAL_MESSAGE), MINIMAL_MESSAGE,
                              keep_class=False)
    data = serialization.serialize(minimal).to_bytes()
    return ErrorReturns(_returns(object_ids, message, data, []), None)


def _place(core: Any, object_ids: Sequence[bytes], message: str,
           serialized: serialization.SerializedObject) -> ErrorReturns:
    """Inline in each return when all the copies are small together; else
    stored once, with each return referring to it. When the store has no
    room, copies that still make a moderate message go inline."""
    inline_bytes = serialized.total_size * len(object_ids)
    if inline_bytes < INLINE_THRESHOLD:
        return ErrorReturns(_returns(object_ids, message, serialized.to_bytes(),
                                     serialized.contained_refs), None)
    stored_id = core.new_put_id()
    try:
        objects.store_serialized(core, stored_id, serialized, is_put=True)
    except Exception:  # noqa: BLE001 - no room in the store (or it is too small)
        if inline_bytes > MAX_INLINE_FALLBACK:
            raise
        return ErrorReturns(_returns(object_ids, message, serialized.to_bytes(),
                                     serialized.contained_refs), None)
    stored = ObjectRef(stored_id, _owned=True)
    reference = serialization.serialize(objects.StoredError(stored))
    return ErrorReturns(_returns(object_ids, message, reference.to_bytes(),
                                 reference.contained_refs), stored)


def _returns(object_ids: Sequence[bytes], message: str, data: bytes,
             contained: List[bytes]) -> List[tuple]:
    return [(object_id, ErrorCode.TASK_ERROR, (message if index == 0 else "", data), contained)
            for index, object_id in enumerate(object_ids)]


def _safe(make: Callable[[], str], fallback: str) -> str:
    try:
        return make()
    except Exception:  # noqa: BLE001 - a broken __repr__ or __str__
        return fallback


class ShrunkTaskError:
    """Pickles as the TaskError of an error too large (or too odd) to send
    whole: it rebuilds, where it is loaded, as a TaskError whose cause is
    an instance of the original class (made without calling its
    ``__init__``) holding the start of the original message."""

    def __init__(self, function_name: str, traceback_str: str, cause: Optional[BaseException],
                 pid: int, cause_repr: str, message_limit: int, keep_class: bool = True) -> None:
        self.function_name = function_name
        self.traceback_str = traceback_str
        self.pid = pid
        self.cause_repr = cause_repr
        self.cause_class: Optional[bytes] = None
        self.message = ""
        if cause is not None:
            self.message = _safe(lambda: bounded(str(cause), message_limit),
                                 type(cause).__name__)
            if keep_class:
                self.cause_class = _safe_dumps(type(cause))

    def __reduce__(self):
        return (_rebuild_shrunk_task_error, (self.function_name, self.traceback_str,
                                             self.cause_class, self.message, self.pid,
                                             self.cause_repr))


def _safe_dumps(value: Any) -> Optional[bytes]:
    try:
        return cloudpickle.dumps(value)
    except Exception:  # noqa: BLE001 - the traceback text still names it
        return None
