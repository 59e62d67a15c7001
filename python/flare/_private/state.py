"""The process's connection to the runtime: one Session while initialized.

State only: nothing here starts the runtime (flare._private.runtime does,
on first use).
"""

from __future__ import annotations

import contextvars
import threading
from typing import Any, Dict, List, Optional, Set

from flare._private.protocol import OwnerAddress
from flare.exceptions import FlareError


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
        self.mode = mode  # "driver" or "worker"
        self.generation = generation
        self.node = node  # the raylet this driver started, if any
        self.job_id: bytes = core.job_id
        self.node_id: bytes = core.node_id
        # The owner of every object this process makes: its node's raylet.
        self.owner_address = OwnerAddress(*core.owner_address)
        self.exported_functions: Set[str] = set()
        self.context = TaskContext()
        self.log_thread: Optional[threading.Thread] = None
        self.stopping = threading.Event()
        self.namespace = ""  # the driver's: named actors are found in it
        self.socket_path = ""  # the raylet's, for drivers
        # The runtime_env new tasks inherit: the job's (init) in a driver,
        # the running task's in a worker.
        self.runtime_env: Optional[dict] = None
        # (directory, excludes) -> the URI of its package, uploaded by this
        # session (runtime_env.ship_working_dir).
        self.shipped_working_dirs: Dict[tuple, str] = {}
        # Workers: what the running task or actor was given.
        self.assigned_resources: Optional[Dict[str, float]] = None
        self.gpu_ids: List[str] = []
        # The futures resolver (flare._private.futures), made on first use.
        self.resolver: Optional[Any] = None


# Worker processes: the namespace of each job whose tasks they ran.
job_namespaces: Dict[bytes, str] = {}
# Worker processes hosting an actor: (actor_id, class_name).
current_actor: Optional[tuple] = None


session: Optional[Session] = None
_generation = 0
lock = threading.RLock()


def next_generation() -> int:
    global _generation
    _generation += 1
    return _generation


def current() -> Session:
    """The session; FlareError when there is none (nothing starts one here)."""
    found = session
    if found is None:
        raise FlareError("flare is not initialized: call flare.init() first")
    return found


def current_namespace(current_session: Session) -> str:
    """The namespace of the running job: the driver's, or the job whose task
    this worker thread runs."""
    if current_session.mode == "driver":
        return current_session.namespace
    return job_namespaces.get(current_session.context.job_id, "")


def set_current_actor(actor_id: bytes, class_name: str) -> None:
    """Worker side: this process now hosts the actor ``actor_id``."""
    global current_actor
    current_actor = (actor_id, class_name)
