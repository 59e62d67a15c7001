"""Exceptions raised by flare, with the names Ray users know as aliases.

A task's exception is re-raised at ``get`` as an instance of both
:class:`TaskError` (alias ``RayTaskError``) and the original exception class,
so ``except ValueError`` keeps working around ``flare.get``.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type


class FlareError(Exception):
    """Base class of every error flare raises."""


class TaskError(FlareError):
    """A remote task raised. Carries the remote traceback and the cause."""

    def __init__(self, function_name: str, traceback_str: str,
                 cause: Optional[BaseException] = None, pid: int = 0,
                 cause_repr: str = "") -> None:
        self.function_name = function_name
        self.traceback_str = traceback_str
        self.cause = cause
        self.pid = pid
        self.cause_repr = cause_repr or repr(cause)
        super().__init__(self._message())

    def _message(self) -> str:
        header = f"{self.function_name}() (pid={self.pid})"
        return f"{header}\n{self.traceback_str.rstrip()}"

    def __str__(self) -> str:
        return self._message()

    def __reduce_ex__(self, protocol: int):
        # The cause goes pickled on its own: a process that cannot unpickle
        # its class (a module only the worker had) still gets this error
        # with the remote traceback, just without the cause object.
        return (_rebuild_task_error, (self.function_name, self.traceback_str,
                                      _pickle_cause(self.cause, protocol), self.pid,
                                      self.cause_repr))

    def __reduce__(self):
        return self.__reduce_ex__(2)

    def as_instanceof_cause(self) -> "TaskError":
        """Returns this error as an instance of TaskError and the cause's class."""
        cause_class = type(self.cause) if self.cause is not None else None
        if cause_class is None or issubclass(cause_class, TaskError) or \
                not issubclass(cause_class, Exception):
            return self
        dual = _dual_class(cause_class)
        if dual is None:
            return self
        error = dual.__new__(dual)
        error.__dict__.update(self.__dict__)
        error.args = self.cause.args if self.cause is not None else ()
        return error


# A pickled cause at least this large travels out of band where the pickle
# protocol allows (5): written once, straight into the object store, and
# read back from there without a copy.
_OUT_OF_BAND_CAUSE_BYTES = 64 * 1024


def _pickle_cause(cause: Optional[BaseException], protocol: int = 2) -> Any:
    if cause is None:
        return None
    import pickle
    try:
        # The C pickler first (twice as fast on a large message); cloudpickle
        # for what only it can pickle (classes defined in a driver's __main__,
        # lambdas in the arguments).
        pickled = pickle.dumps(cause, protocol=5)
    except Exception:  # noqa: BLE001
        import cloudpickle
        try:
            pickled = cloudpickle.dumps(cause, protocol=5)
        except Exception:  # noqa: BLE001 - the traceback text still says what it was
            return None
    if protocol >= 5 and len(pickled) >= _OUT_OF_BAND_CAUSE_BYTES:
        return pickle.PickleBuffer(pickled)
    return pickled


def _rebuild_task_error(function_name: str, traceback_str: str, cause: Any,
                        pid: int, cause_repr: str) -> "TaskError":
    import pickle
    loaded: Optional[BaseException] = None
    if cause is not None:
        try:
            loaded = pickle.loads(cause)
        except Exception as failure:  # noqa: BLE001
            cause_repr = (f"{cause_repr} (its class could not be loaded here: "
                          f"{type(failure).__name__}: {failure})")
    return TaskError(function_name, traceback_str, loaded, pid, cause_repr)


def _rebuild_shrunk_task_error(function_name: str, traceback_str: str,
                               cause_class: Optional[bytes], message: str, pid: int,
                               cause_repr: str) -> "TaskError":
    """The TaskError of an error too large to send whole: its cause is an
    instance of the original class holding the start of the original
    message, made without calling the class's ``__init__`` (whose signature
    is the user's)."""
    import pickle
    cause: Optional[BaseException] = None
    if cause_class is not None:
        try:
            cls = pickle.loads(cause_class)
            cause = cls.__new__(cls)
            cause.args = (message,)
        except Exception as failure:  # noqa: BLE001
            cause = None
            cause_repr = (f"{cause_repr} (its class could not be loaded here: "
                          f"{type(failure).__name__}: {failure})")
    return TaskError(function_name, traceback_str, cause, pid, cause_repr)


_DUAL_CLASSES: Dict[type, Optional[type]] = {}


def _dual_class(cause_class: Type[BaseException]) -> Optional[type]:
    if cause_class in _DUAL_CLASSES:
        return _DUAL_CLASSES[cause_class]
    try:
        dual: Optional[type] = type(
            f"TaskError({cause_class.__name__})", (cause_class, TaskError),
            {"__str__": TaskError.__str__, "__reduce__": TaskError.__reduce__,
             "__reduce_ex__": TaskError.__reduce_ex__,
             "__init__": TaskError.__init__,
             "__module__": __name__})
    except TypeError:  # e.g. a cause class with an incompatible layout
        dual = None
    _DUAL_CLASSES[cause_class] = dual
    return dual


class GetTimeoutError(TimeoutError, FlareError):
    """``get`` did not finish before its timeout."""


class TaskCancelledError(FlareError):
    """The task was cancelled before it produced its result."""

    def __init__(self, message: str = "the task was cancelled") -> None:
        super().__init__(message)


class WorkerCrashedError(FlareError):
    """The worker process running the task died, and no retries were left."""


class ObjectStoreFullError(MemoryError, FlareError):
    """The object does not fit in the node's shared-memory object store."""


class ObjectLostError(FlareError):
    """The object's last copy is gone and it cannot be rebuilt."""


class OwnerDiedError(ObjectLostError):
    """The process that owned the object is gone, and the object with it."""


class ObjectReconstructionFailedError(ObjectLostError):
    """The object was lost and re-running its task did not bring it back."""


class ObjectReconstructionFailedMaxAttemptsExceededError(ObjectReconstructionFailedError):
    """The object was lost and its task has no retries left to make it again."""


class ObjectReconstructionFailedLineageEvictedError(ObjectReconstructionFailedError):
    """The object was lost and what making it again takes was released."""


class ObjectFetchTimedOutError(ObjectLostError):
    """The object could not be fetched from the node that holds it in time."""


class TaskUnschedulableError(FlareError):
    """No node of the cluster can ever satisfy the task's resource request."""


class ActorUnschedulableError(TaskUnschedulableError):
    """No node of the cluster can ever satisfy the actor's resource request."""


class FlareConnectionError(ConnectionError, FlareError):
    """No flare node could be reached at the address given."""


class NodeDiedError(FlareError):
    """A node of the cluster died (or cannot be reached) and took the task
    running there with it, which has no retries left."""


class RayletDiedError(FlareConnectionError, NodeDiedError):
    """The node's raylet is gone: the runtime cannot serve this call."""


class FlareSystemError(RuntimeError, FlareError):
    """flare's core failed in a way no other class describes."""


class ActorDiedError(FlareError):
    """The actor's process died, or its constructor failed."""


class ActorUnavailableError(ActorDiedError):
    """The actor is temporarily unreachable."""


class ActorExit(BaseException):
    """Raised by ``flare.actor.exit_actor()`` inside an actor to end it.

    A BaseException, like SystemExit, so that ``except Exception`` in the
    actor's code does not swallow it."""


class RuntimeEnvSetupError(FlareError):
    """The task's runtime environment could not be set up."""


class PendingCallsLimitExceeded(FlareError):
    """Too many calls are queued on the actor."""


class TaskTimeoutError(TimeoutError, TaskCancelledError):
    """The task ran longer than its ``timeout_s`` and was cancelled."""


# Ray's names.
RayError = FlareError
RayTaskError = TaskError
RayActorError = ActorDiedError
RaySystemError = FlareError
OutOfMemoryError = ObjectStoreFullError
AsyncioActorExit = ActorExit

__all__ = [name for name, value in list(globals().items())
           if isinstance(value, type) and issubclass(value, BaseException)]

