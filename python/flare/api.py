"""The core API: init, shutdown, remote, get, put, wait, cancel and cluster
queries. Thin: each call checks its arguments and hands over to the layers
below."""

from __future__ import annotations

import inspect
import os
import pickle
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from flare import exceptions
from flare._private import objects, state
from flare._private.protocol import group_of_resource
from flare._private.runtime import init, is_initialized, session as _session, shutdown
from flare.actor import ActorClass
from flare.generator import ObjectRefGenerator
from flare.object_ref import ObjectRef
from flare.remote_function import RemoteFunction


def remote(*args: Any, **options: Any) -> Any:
    """Makes a function a remote task: ``@remote`` or ``@remote(num_cpus=2, ...)``."""
    if len(args) == 1 and not options and callable(args[0]):
        return _make_remote(args[0], {})
    if args:
        raise TypeError("@remote takes either a function or only keyword options, "
                        "e.g. @remote(num_cpus=2)")

    def decorator(target: Callable) -> Any:
        return _make_remote(target, options)
    return decorator


def _make_remote(target: Any, options: dict) -> Any:
    if inspect.isclass(target):
        return ActorClass(target, options)
    if not callable(target):
        raise TypeError(f"@remote must decorate a function, got {type(target).__name__}")
    return RemoteFunction(target, options)


# ---- objects -----------------------------------------------------------------

def put(value: Any, *, _owner: Any = None) -> ObjectRef:
    """Stores ``value`` in the object store and returns a ref to it."""
    if isinstance(value, ObjectRef):
        raise TypeError("put() of an ObjectRef is not allowed: pass the ObjectRef itself")
    session = _session()
    core = session.core
    object_id = core.new_put_id()
    try:
        objects.store_value(core, object_id, value, is_put=True)
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        raise TypeError(f"put() could not serialize {type(value).__name__}: {error}") from error
    return ObjectRef(object_id, _owned=True)

def get(object_refs: Union[ObjectRef, Sequence[ObjectRef]], *,
        timeout: Optional[float] = None) -> Any:
    """Waits for and returns the value(s) of one ObjectRef or a list of them."""
    session = _session()
    single = isinstance(object_refs, ObjectRef)
    if single:
        refs = [object_refs]
    elif isinstance(object_refs, (list, tuple)):
        refs = list(object_refs)
        for ref in refs:
            if not isinstance(ref, ObjectRef):
                raise TypeError("get() takes an ObjectRef or a list of ObjectRefs; the list holds "
                                f"a {type(ref).__name__}: {ref!r:.80}")
    else:
        raise TypeError("get() takes an ObjectRef or a list of ObjectRefs, got "
                        f"{type(object_refs).__name__}: {object_refs!r:.80}")
    values = objects.get_values(session.core, [ref._id for ref in refs],
                                objects.timeout_ms(timeout, "get"))
    return values[0] if single else values


def wait(object_refs: Sequence[ObjectRef], *, num_returns: int = 1,
         timeout: Optional[float] = None, fetch_local: bool = True
         ) -> Tuple[List[ObjectRef], List[ObjectRef]]:
    """Returns (ready, not_ready) once ``num_returns`` refs are ready or at the timeout.

    Both lists keep the input order; ``ready`` holds at most ``num_returns``.
    """
    session = _session()
    if isinstance(object_refs, ObjectRef) or not isinstance(object_refs, (list, tuple)):
        raise TypeError("wait() takes a list of ObjectRefs, got "
                        f"{type(object_refs).__name__}")
    refs = list(object_refs)
    for ref in refs:
        if not isinstance(ref, (ObjectRef, ObjectRefGenerator)):
            raise TypeError(f"wait() takes a list of ObjectRefs; the list holds a "
                            f"{type(ref).__name__}")
    if not refs:
        return [], []  # as in Ray: nothing to wait for
    if len(set(refs)) != len(refs):
        raise ValueError("wait() requires a list of unique ObjectRefs")
    if isinstance(num_returns, bool) or not isinstance(num_returns, int) or num_returns < 1:
        raise ValueError(f"wait(num_returns=...) must be a positive integer, got {num_returns!r}")
    if num_returns > len(refs):
        raise ValueError(f"wait(num_returns={num_returns}) is larger than the number of refs "
                         f"given ({len(refs)})")
    timeout_ms = objects.timeout_ms(timeout, "wait")
    if any(isinstance(ref, ObjectRefGenerator) for ref in refs):
        flags = _wait_with_generators(session.core, refs, num_returns, timeout_ms,
                                      bool(fetch_local))
    else:
        flags = session.core.wait([ref._id for ref in refs], num_returns, timeout_ms,
                                  fetch_local=bool(fetch_local))
    ready: List[ObjectRef] = []
    not_ready: List[ObjectRef] = []
    for ref, is_ready in zip(refs, flags):
        if is_ready and len(ready) < num_returns:
            ready.append(ref)
        else:
            not_ready.append(ref)
    return ready, not_ready


def _wait_with_generators(core, refs: list, num_returns: int, timeout_ms: int,
                          fetch_local: bool) -> List[bool]:
    """wait() over refs and generators: a generator is ready when its next
    item is, or when it has finished."""
    ids: List[bytes] = []
    spans: List[Tuple[int, int]] = []
    for ref in refs:
        start = len(ids)
        ids.extend([ref._id] if isinstance(ref, ObjectRef) else ref._next_ids())
        spans.append((start, len(ids)))
    deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000
    while True:
        remaining = -1 if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
        seen = core.wait(ids, 1, 0, fetch_local=fetch_local)
        flags = [any(seen[a:b]) for a, b in spans]
        if sum(flags) >= num_returns or remaining == 0:
            return flags
        # Sleep until something more is ready, then count again.
        core.wait(ids, min(len(ids), sum(seen) + 1), remaining, fetch_local=fetch_local)


def cancel(object_ref: ObjectRef, *, force: bool = False, recursive: bool = True) -> None:
    """Cancels the task that produces ``object_ref``; its refs then raise
    TaskCancelledError. Finished tasks are left alone."""
    if isinstance(object_ref, ObjectRefGenerator):
        object_ref = object_ref.completed()
    if not isinstance(object_ref, ObjectRef):
        raise TypeError(f"cancel() takes an ObjectRef, got {type(object_ref).__name__}")
    if force and getattr(object_ref, "_actor_call", False):
        raise ValueError("cancel(force=True) is for tasks, not actor calls: forcing kills the "
                         "process running the call, which is the actor itself. Cancel without "
                         "force, or end the actor with flare.kill(handle)")
    _session().core.cancel(object_ref.task_id(), force, recursive)

# ---- cluster queries ---------------------------------------------------------

def _nodes_raw() -> List[dict]:
    return _session().core.cluster_info(10000)


def nodes() -> List[dict]:
    """One entry per node, with Ray's keys."""
    out = []
    for node in _nodes_raw():
        out.append({
            "NodeID": node["node_id"].hex(),
            "Alive": node["alive"],
            "NodeManagerAddress": node["ip"],
            "NodeManagerHostname": node["hostname"],
            "NodeManagerPort": node["port"],
            "NodeName": node["ip"],
            "RayletSocketName": node["socket_path"],
            "ObjectStoreSocketName": node["socket_path"],
            "SessionDir": node["session_dir"],
            "Resources": dict(node["total"]) if node["alive"] else {},
            "Labels": dict(node["labels"]),
            "IsHead": node["is_head"],
            "alive": node["alive"],
        })
    return out


def _sum_resources(key: str) -> Dict[str, float]:
    total: Dict[str, float] = {}
    for node in _nodes_raw():
        if not node["alive"]:
            continue
        for name, amount in node[key].items():
            total[name] = total.get(name, 0.0) + amount
    # A removed placement group's resources linger at zero: not worth showing.
    return {name: amount for name, amount in total.items()
            if amount != 0 or group_of_resource(name) is None}


def cluster_resources() -> Dict[str, float]:
    return _sum_resources("total")


def available_resources() -> Dict[str, float]:
    return _sum_resources("available")


def object_store_stats() -> Dict[str, int]:
    """The local arena: capacity, bytes in use, object and task counts."""
    return _session().core.store_stats(10000)


class RuntimeContext:
    """Ids of the current job, task and node (Ray's get_runtime_context())."""

    def __init__(self, session: state.Session) -> None:
        self._session = session

    def get_job_id(self) -> str:
        return (self._session.context.job_id or self._session.job_id).hex()

    def get_task_id(self) -> Optional[str]:
        task_id = self._session.context.task_id
        return task_id.hex() if task_id else None

    def get_node_id(self) -> str:
        return self._session.node_id.hex()

    def get_worker_id(self) -> str:
        return os.environ.get("FLARE_WORKER_ID", "driver")

    @property
    def job_id(self) -> str:
        return self.get_job_id()

    @property
    def task_id(self) -> Optional[str]:
        return self.get_task_id()

    @property
    def node_id(self) -> str:
        return self.get_node_id()

    @property
    def worker_mode(self) -> str:
        return self._session.mode

    def get_actor_id(self) -> Optional[str]:
        actor = state.current_actor
        return actor[0].hex() if actor is not None and self._session.mode == "worker" else None

    @property
    def actor_id(self) -> Optional[str]:
        return self.get_actor_id()

    @property
    def namespace(self) -> str:
        return state.current_namespace(self._session)

    def get_assigned_resources(self) -> Dict[str, float]:
        return dict(getattr(self._session, "assigned_resources", None) or {})


def set_current_actor(actor_id: bytes, class_name: str) -> None:
    """Worker side: this process now hosts the actor ``actor_id``."""
    state.set_current_actor(actor_id, class_name)


def get_gpu_ids() -> List[Any]:
    """The GPUs the running task or actor was given (what its
    CUDA_VISIBLE_DEVICES names); empty in a driver or without GPUs."""
    ids = getattr(_session(), "gpu_ids", None) or []
    return [int(gpu) if gpu.isdigit() else gpu for gpu in ids]


def get_runtime_context() -> RuntimeContext:
    return RuntimeContext(_session())
