"""The core API: init, shutdown, get, put, wait, cancel and cluster queries."""

from __future__ import annotations

import atexit
import os
import pickle
import sys
import threading
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from flare import context, exceptions
from flare._private import node as node_module
from flare._private import runtime_env as runtime_env_module
from flare._private import serialization, state
from flare.object_ref import ObjectRef

# Objects below this size travel inline in messages instead of the arena.
INLINE_THRESHOLD = 100 * 1024

# flare._core error codes (proto ErrorCode).
TASK_ERROR = 1
WORKER_CRASHED = 2
TASK_CANCELLED = 3
INFEASIBLE = 4
OBJECT_STORE_FULL = 5
OBJECT_LOST = 6
TASK_TIMEOUT = 8
ACTOR_DIED = 9


def _core_module():
    from flare import _core
    return _core


# ---- init / shutdown ---------------------------------------------------------

def is_initialized() -> bool:
    return state.session is not None


def init(address: Optional[str] = None, *, num_cpus: Optional[float] = None,
         num_gpus: Optional[float] = None, resources: Optional[Dict[str, float]] = None,
         object_store_memory: Optional[int] = None, log_to_driver: bool = True,
         ignore_reinit_error: bool = False, namespace: Optional[str] = None,
         _memory: Optional[int] = None, **unsupported: Any) -> context.FlareContext:
    """Connects this process to flare, starting a local node unless joining one.

    With no ``address`` a head raylet is started for this driver and stopped
    at shutdown() or when the driver exits. ``address="auto"`` joins the node
    started by ``flare start --head``; a path joins the raylet listening on
    that Unix socket. ``_memory`` sets the node's ``memory`` resource in
    bytes (default: available memory less the object store, as in Ray).
    """
    with state.lock:
        if state.session is not None:
            if ignore_reinit_error:
                return _context(state.session)
            raise RuntimeError("flare.init() was already called in this process; "
                               "call flare.shutdown() first or pass ignore_reinit_error=True")
        job_env = runtime_env_module.validate(unsupported.pop("runtime_env", None), "init()",
                                              job_level=True)
        # The setup hook runs once per worker (from the job's config); the
        # rest is what every task of the job inherits.
        setup_hook = (job_env or {}).get(runtime_env_module.SETUP_HOOK)
        if setup_hook is not None:
            job_env = {k: v for k, v in job_env.items() if k != runtime_env_module.SETUP_HOOK}
            job_env = runtime_env_module.validate(job_env or None, "init()")
            if callable(setup_hook):
                setup_hook = serialization.dumps_function(setup_hook)
        _check_init_options(num_cpus, num_gpus, resources, object_store_memory, _memory,
                            unsupported)
        address = address or os.environ.get("FLARE_ADDRESS") or os.environ.get("RAY_ADDRESS")
        raylet = None
        if address is None or address == "local":
            raylet = node_module.start_raylet(
                num_cpus=num_cpus if num_cpus is not None else float(os.cpu_count() or 1),
                num_gpus=num_gpus, resources=resources, memory=_memory,
                object_store_memory=object_store_memory, driver_pid=os.getpid())
            socket_path = raylet.socket_path
        else:
            if any(v is not None
                   for v in (num_cpus, num_gpus, resources, object_store_memory, _memory)):
                raise ValueError("num_cpus, num_gpus, resources, object_store_memory and _memory "
                                 "describe a "
                                 "new node; they cannot be given when joining an existing one "
                                 f"(address={address!r})")
            socket_path = _resolve_address(address)
        if namespace is not None and (not isinstance(namespace, str) or not namespace):
            raise ValueError(f"init(namespace=...) must be a non-empty string, got {namespace!r}")
        # Without a namespace each job gets an anonymous one, as in Ray: its
        # named actors are not visible to other jobs.
        namespace = namespace or "anonymous-" + os.urandom(8).hex()
        job_config = pickle.dumps({"sys_path": [p for p in sys.path if p], "cwd": os.getcwd(),
                                   "namespace": namespace, "setup_hook": setup_hook})
        try:
            core = _connect(socket_path, raylet, log_to_driver, job_config, namespace)
        except BaseException:
            if raylet is not None:
                raylet.stop()
            raise
        session = state.Session(core, "driver", state.next_generation(), raylet)
        session.context.job_id = core.job_id
        session.socket_path = socket_path
        session.namespace = namespace
        session.runtime_env = job_env
        state.session = session
        if log_to_driver:
            session.log_thread = threading.Thread(target=_print_worker_logs, args=(session,),
                                                  name="flare-logs", daemon=True)
            session.log_thread.start()
        return _context(session)


def _context(session: state.Session) -> context.FlareContext:
    info = context.address_info(session.node_id.hex(), session.core.session_dir,
                                session.socket_path)
    return context.FlareContext(info)


# Resources every node has, set by their own init() arguments (as in Ray).
_BUILTIN_RESOURCES = {"CPU": "num_cpus", "GPU": "num_gpus", "memory": "_memory",
                      "object_store_memory": "object_store_memory"}


def _check_init_options(num_cpus, num_gpus, resources, object_store_memory, memory,
                        unsupported) -> None:
    ignored = {"include_dashboard", "dashboard_host", "dashboard_port", "configure_logging",
               "logging_level", "log_to_driver", "_temp_dir", "local_mode",
               "_system_config", "object_spilling_directory", "_node_ip_address"}
    unknown = sorted(set(unsupported) - ignored)
    if unknown:
        raise TypeError(f"init() got unknown option(s): {', '.join(unknown)}")
    for name, value in (("num_cpus", num_cpus), ("num_gpus", num_gpus)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or value < 0):
            raise ValueError(f"init({name}=...) must be a non-negative number, got {value!r}")
    if resources is not None:
        if not isinstance(resources, dict):
            raise TypeError(f"init(resources=...) must be a dict, got {type(resources).__name__}")
        for key, value in resources.items():
            if key in _BUILTIN_RESOURCES:
                raise ValueError(f"{key!r} is not a custom resource: use "
                                 f"init({_BUILTIN_RESOURCES[key]}=...) instead of resources")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"resource {key!r} must be a non-negative number, got {value!r}")
    for name, value in (("object_store_memory", object_store_memory), ("_memory", memory)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value <= 0):
            raise ValueError(f"init({name}=...) must be a positive number of bytes, "
                             f"got {value!r}")


def _resolve_address(address: str) -> str:
    if address == "auto":
        info = node_module.read_cluster_file()
        if info is None or not os.path.exists(info.get("socket", "")):
            raise ConnectionError("no running flare node found for address='auto': "
                                  "start one with 'flare start --head'")
        return info["socket"]
    if os.path.exists(address):
        return address
    raise ConnectionError(f"cannot reach a flare node at {address!r}: give 'auto' or the "
                          "path of a raylet socket (joining remote nodes over TCP is not "
                          "supported yet)")


def _connect(socket_path: str, raylet, log_to_driver: bool, job_config: bytes, namespace: str):
    core_module = _core_module()
    deadline = time.monotonic() + 15
    while True:
        try:
            return core_module.CoreClient.connect(socket_path, "driver", "", log_to_driver,
                                                  job_config, 500, namespace)
        except ConnectionError as error:
            if raylet is not None and not raylet.alive():
                raise exceptions.RayletDiedError(
                    f"flare-raylet exited during start-up (code {raylet.process.returncode}):\n"
                    f"{raylet.log_tail()}") from None
            if time.monotonic() > deadline:
                raise exceptions.RayletDiedError(f"cannot connect to the raylet: {error}") from None


def _print_worker_logs(session: state.Session) -> None:
    core = session.core
    while not session.stopping.is_set():
        try:
            batches = core.next_logs(200)
        except Exception:  # noqa: BLE001 - the raylet went away
            return
        for prefix, is_stderr, lines in batches:
            stream = sys.stderr if is_stderr else sys.stdout
            try:
                stream.write("".join(f"{prefix} {line}\n" for line in lines))
                stream.flush()
            except (ValueError, OSError):  # closed stream at exit
                return


def shutdown() -> None:
    """Disconnects; stops the node if this driver started it."""
    with state.lock:
        session = state.session
        if session is None:
            return
        state.session = None
        session.stopping.set()
        if session.log_thread is not None:
            # Let output that is already on its way reach the terminal.
            try:
                for prefix, is_stderr, lines in session.core.next_logs(50):
                    stream = sys.stderr if is_stderr else sys.stdout
                    stream.write("".join(f"{prefix} {line}\n" for line in lines))
            except Exception:  # noqa: BLE001
                pass
            session.log_thread.join(timeout=2)
        session.core = None
        if session.node is not None:
            session.node.stop()


atexit.register(shutdown)


# ---- objects -----------------------------------------------------------------

def _session() -> state.Session:
    return state.require_session()


def store_value(core, object_id: bytes, value: Any, *, is_put: bool) -> Tuple[str, Any, List[bytes]]:
    """Serializes ``value`` as object ``object_id``: inline, or into the arena.

    Returns ("inline", bytes, refs) or ("store", size, refs). Puts are sent
    (and their first reference held) here; task returns are reported by the
    caller in TaskDone.
    """
    serialized = serialization.serialize(value)
    refs = serialized.contained_refs
    if serialized.total_size < INLINE_THRESHOLD:
        data = serialized.to_bytes()
        if is_put:
            core.put_inline(object_id, data, refs)
        return "inline", data, refs
    try:
        target = core.create(object_id, serialized.total_size, 30000)
    except MemoryError as error:
        raise exceptions.ObjectStoreFullError(str(error)) from None
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


def put(value: Any, *, _owner: Any = None) -> ObjectRef:
    """Stores ``value`` in the object store and returns a ref to it."""
    if isinstance(value, ObjectRef):
        raise TypeError("put() of an ObjectRef is not allowed: pass the ObjectRef itself")
    session = _session()
    core = session.core
    object_id = core.new_put_id()
    try:
        store_value(core, object_id, value, is_put=True)
    except ConnectionError as error:
        raise _raylet_died(error) from None
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        raise TypeError(f"put() could not serialize {type(value).__name__}: {error}") from error
    return ObjectRef(object_id, _owned=True)


def _raylet_died(error: BaseException) -> exceptions.RayletDiedError:
    return exceptions.RayletDiedError(
        f"lost the connection to the flare raylet ({error}); the node is down, so this call "
        "cannot be served. Call flare.shutdown() and flare.init() to start a new one.")


def _timeout_ms(timeout: Optional[float], name: str) -> int:
    if timeout is None:
        return -1
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"{name}(timeout=...) must be a number of seconds or None, "
                        f"got {type(timeout).__name__}")
    if timeout < 0:
        raise ValueError(f"{name}(timeout=...) must not be negative, got {timeout}")
    return int(timeout * 1000)


def value_or_raise(code: int, message: str, buffer: Any) -> Any:
    """Turns one fetched object into its value, raising the error it holds."""
    if code == 0:
        return serialization.deserialize(buffer)
    if code == TASK_ERROR:
        error = serialization.deserialize(buffer)
        if isinstance(error, exceptions.TaskError):
            raise error.as_instanceof_cause()
        raise error
    raise _system_error(code, message)


def _system_error(code: int, message: str) -> BaseException:
    if code == WORKER_CRASHED:
        return exceptions.WorkerCrashedError(message)
    if code == TASK_CANCELLED:
        return exceptions.TaskCancelledError(message)
    if code == TASK_TIMEOUT:
        return exceptions.TaskTimeoutError(message)
    if code == INFEASIBLE:
        return exceptions.TaskUnschedulableError(message)
    if code == OBJECT_STORE_FULL:
        return exceptions.ObjectStoreFullError(message)
    if code == OBJECT_LOST:
        return exceptions.ObjectLostError(message)
    if code == ACTOR_DIED:
        return exceptions.ActorDiedError(message)
    return exceptions.FlareError(message or f"error code {code}")


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
    timeout_ms = _timeout_ms(timeout, "get")
    try:
        fetched = session.core.get([ref._id for ref in refs], timeout_ms)
    except TimeoutError:
        raise exceptions.GetTimeoutError(
            f"get() timed out after {timeout} s waiting for {len(refs)} object(s)") from None
    except ConnectionError as error:
        raise _raylet_died(error) from None
    values = [value_or_raise(code, message, buffer) for code, message, buffer in fetched]
    return values[0] if single else values


def wait(object_refs: Sequence[ObjectRef], *, num_returns: int = 1,
         timeout: Optional[float] = None, fetch_local: bool = True
         ) -> Tuple[List[ObjectRef], List[ObjectRef]]:
    """Returns (ready, not_ready) once ``num_returns`` refs are ready or at the timeout.

    Both lists keep the input order; ``ready`` holds at most ``num_returns``.
    """
    from flare.generator import ObjectRefGenerator
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
    timeout_ms = _timeout_ms(timeout, "wait")
    try:
        if any(isinstance(ref, ObjectRefGenerator) for ref in refs):
            flags = _wait_with_generators(session.core, refs, num_returns, timeout_ms)
        else:
            flags = session.core.wait([ref._id for ref in refs], num_returns, timeout_ms)
    except ConnectionError as error:
        raise _raylet_died(error) from None
    ready: List[ObjectRef] = []
    not_ready: List[ObjectRef] = []
    for ref, is_ready in zip(refs, flags):
        if is_ready and len(ready) < num_returns:
            ready.append(ref)
        else:
            not_ready.append(ref)
    return ready, not_ready


def _wait_with_generators(core, refs: list, num_returns: int, timeout_ms: int) -> List[bool]:
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
        seen = core.wait(ids, 1, 0)
        flags = [any(seen[a:b]) for a, b in spans]
        if sum(flags) >= num_returns or remaining == 0:
            return flags
        # Sleep until something more is ready, then count again.
        core.wait(ids, min(len(ids), sum(seen) + 1), remaining)


def cancel(object_ref: ObjectRef, *, force: bool = False, recursive: bool = True) -> None:
    """Cancels the task that produces ``object_ref``; its refs then raise
    TaskCancelledError. Finished tasks are left alone."""
    from flare.generator import ObjectRefGenerator
    if isinstance(object_ref, ObjectRefGenerator):
        object_ref = object_ref.completed()
    if not isinstance(object_ref, ObjectRef):
        raise TypeError(f"cancel() takes an ObjectRef, got {type(object_ref).__name__}")
    if force and getattr(object_ref, "_actor_call", False):
        raise ValueError("cancel(force=True) is for tasks, not actor calls: forcing kills the "
                         "process running the call, which is the actor itself. Cancel without "
                         "force, or end the actor with flare.kill(handle)")
    try:
        _session().core.cancel(object_ref.task_id(), force, recursive)
    except ConnectionError as error:
        raise _raylet_died(error) from None


# ---- cluster queries ---------------------------------------------------------

def _nodes_raw() -> List[dict]:
    try:
        return _session().core.cluster_info(10000)
    except ConnectionError as error:
        raise _raylet_died(error) from None


def nodes() -> List[dict]:
    """One entry per node, with Ray's keys."""
    out = []
    for node in _nodes_raw():
        out.append({
            "NodeID": node["node_id"].hex(),
            "Alive": node["alive"],
            "NodeManagerAddress": "127.0.0.1",
            "RayletSocketName": node["address"],
            "ObjectStoreSocketName": node["address"],
            "SessionDir": node["session_dir"],
            "Resources": dict(node["total"]),
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
            if amount != 0 or "_group_" not in name}


def cluster_resources() -> Dict[str, float]:
    return _sum_resources("total")


def available_resources() -> Dict[str, float]:
    return _sum_resources("available")


def object_store_stats() -> Dict[str, int]:
    """The local arena: capacity, bytes in use, object and task counts."""
    try:
        return _session().core.store_stats(10000)
    except ConnectionError as error:
        raise _raylet_died(error) from None


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
        from flare.actor import current_namespace
        return current_namespace(self._session)

    def get_assigned_resources(self) -> Dict[str, float]:
        return dict(getattr(self._session, "assigned_resources", None) or {})


def set_current_actor(actor_id: bytes, class_name: str) -> None:
    """Worker side: this process now hosts the actor ``actor_id``."""
    state.current_actor = (actor_id, class_name)


def get_gpu_ids() -> List[Any]:
    """The GPUs the running task or actor was given (what its
    CUDA_VISIBLE_DEVICES names); empty in a driver or without GPUs."""
    ids = getattr(_session(), "gpu_ids", None) or []
    return [int(gpu) if gpu.isdigit() else gpu for gpu in ids]


def get_runtime_context() -> RuntimeContext:
    return RuntimeContext(_session())
