"""The process's connection to the runtime: one Session while initialized."""

from __future__ import annotations

import contextvars
import threading
from typing import Any, Dict, Optional, Set


class _Field:
    """A TaskContext field held in a context variable: each thread, and each
    asyncio task (an async actor's calls share one thread), sees its own."""

    def __init__(self, default: Any) -> None:
        self.default = default
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, context: Any, owner: Optional[type] = None) -> Any:
        if context is None:
            return self
        return context._vars[self.name].get()

    def __set__(self, context: Any, value: Any) -> None:
        context._vars[self.name].set(value)


class TaskContext:
    """What the current thread or coroutine is running (workers), or nil
    ids (drivers)."""

    task_id = _Field(b"")
    function_name = _Field("")
    job_id = _Field(b"")

    def __init__(self) -> None:
        self._vars: Dict[str, contextvars.ContextVar] = {
            name: contextvars.ContextVar(f"flare_{name}", default=field.default)
            for name, field in vars(TaskContext).items() if isinstance(field, _Field)}


class Session:
    """A connected driver or worker.

    ``core`` is the flare._core.CoreClient; ``generation`` tells ObjectRefs
    made under an earlier session (before shutdown/init) from current ones.
    """

    def __init__(self, core: Any, mode: str, generation: int,
                 node: Optional[Any] = None) -> None:
        self.core = core
        self.mode = mode
        self.generation = generation
        self.node = node  # the raylet this driver started, if any
        self.job_id: bytes = core.job_id
        self.node_id: bytes = core.node_id
        self.exported_functions: Set[str] = set()
        self.context = TaskContext()
        self.log_thread: Optional[threading.Thread] = None
        self.stopping = threading.Event()
        self.namespace = ""  # the driver's: named actors are found in it
        self.socket_path = ""  # the raylet's, for drivers
        # The runtime_env new tasks inherit: the job's (init) in a driver,
        # the running task's in a worker.
        self.runtime_env: Optional[dict] = None


# Worker processes: the namespace of each job whose tasks they ran.
job_namespaces: dict = {}
# Worker processes hosting an actor: (actor_id, class_name).
current_actor: Optional[tuple] = None


session: Optional[Session] = None
_generation = 0
lock = threading.RLock()


def next_generation() -> int:
    global _generation
    _generation += 1
    return _generation


def require_session() -> Session:
    current = session
    if current is None:
        # As in Ray, the first call that needs the runtime starts it (or
        # joins FLARE_ADDRESS / RAY_ADDRESS), unless that is switched off.
        import os
        if os.environ.get("FLARE_AUTO_INIT", os.environ.get("RAY_ENABLE_AUTO_CONNECT", "1")) \
                in ("0", "false", "False"):
            from flare.exceptions import FlareError
            raise FlareError("flare is not initialized: call flare.init() first")
        from flare import api
        api.init(ignore_reinit_error=True)
        current = session
    return current
