"""Submitting a task, an actor creation or an actor call: arguments split
into ObjectRef dependencies and pickled values, the resource demand, the
runtime_env and placement group it runs in, and the refs it returns."""

from __future__ import annotations

import hashlib
import inspect
import pickle
from typing import Any, Dict, List, Optional, Tuple

from flare import _core, exceptions
from flare._private import placement, runtime_env, serialization, state
from flare._private.protocol import DYNAMIC, INLINE_THRESHOLD, STREAMING, return_id
from flare.generator import ObjectRefGenerator
from flare.object_ref import ObjectRef


def _retries_timeouts(retry_exceptions: Any) -> bool:
    """Whether a task that times out is run again: only when retry_exceptions
    names TaskTimeoutError (or a base class of it, such as TimeoutError)."""
    if isinstance(retry_exceptions, bool):
        return False
    return any(issubclass(exceptions.TaskTimeoutError, cls) and cls not in (BaseException, Exception)
               for cls in retry_exceptions)

def resource_demand(options: Dict[str, Any]) -> Dict[str, float]:
    demand: Dict[str, float] = {}
    num_cpus = options.get("num_cpus")
    if num_cpus:
        demand["CPU"] = float(num_cpus)
    num_gpus = options.get("num_gpus")
    if num_gpus:
        demand["GPU"] = float(num_gpus)
    if options.get("memory"):
        demand["memory"] = float(options["memory"])
    for name, amount in (options.get("resources") or {}).items():
        if amount:
            demand[name] = float(amount)
    where = placement.placement_of(options)
    if where is not None:
        demand = placement.group_demand(demand, *where)
    return demand

def _capture(options: Dict[str, Any], demand: Dict[str, float], env: Optional[Dict[str, Any]],
             actor_options: Optional[Dict[str, Any]]) -> Tuple[Dict[str, float], Any]:
    """placement_group_capture_child_tasks: a task placed in a capturing
    group passes the group on (in its environment); a task submitted from
    inside it, with no placement of its own, runs in the group too."""
    where = placement.placement_of(options)
    if where is not None:
        env = dict(env or {})
        env.pop(runtime_env.CAPTURED_GROUP, None)
        if placement.captures(options):
            env[runtime_env.CAPTURED_GROUP] = where[0]
        return demand, env or None
    group = (env or {}).get(runtime_env.CAPTURED_GROUP)
    if group is None or "scheduling_strategy" in options or "placement_group" in options:
        return demand, env
    if actor_options is not None:
        actor_options["lifetime_resources"] = placement.group_demand(
            actor_options["lifetime_resources"], group, -1)
    return placement.group_demand(demand, group, -1), env


class _ArgRef:
    """Stands for the i-th top-level ObjectRef argument inside pickled args."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __reduce__(self):
        return (_ArgRef, (self.index,))


def prepare_args(function_name: str, signature: Optional[inspect.Signature],
                 args: Tuple[Any, ...], kwargs: Dict[str, Any]):
    """Splits top-level ObjectRefs out of the arguments and serializes the rest.

    Returns (serialized, dependencies).
    """
    if signature is not None:
        try:
            signature.bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{function_name}.remote(): {error}") from None
    dependencies: List[bytes] = []
    if any(type(a) is ObjectRef for a in args) or any(
            type(v) is ObjectRef for v in kwargs.values()):
        def swap(value: Any) -> Any:
            if type(value) is ObjectRef:
                dependencies.append(value._id)
                return _ArgRef(len(dependencies) - 1)
            return value
        args = tuple(swap(a) for a in args)
        kwargs = {k: swap(v) for k, v in kwargs.items()}
    payload = (args, kwargs) if kwargs else (args,)
    try:
        serialized = serialization.serialize(payload)
    except Exception as error:  # noqa: BLE001 - name the culprit below
        named = [(f"argument {i} ({type(a).__name__})", a) for i, a in enumerate(args)]
        named += [(f"keyword argument {k!r} ({type(v).__name__})", v) for k, v in kwargs.items()]
        culprit = serialization.find_unpicklable(named)
        where = culprit[0] if culprit else "its arguments"
        reason = culprit[1] if culprit else error
        raise TypeError(f"{function_name}.remote(): could not serialize {where}: {reason}") \
            from error
    return serialized, dependencies


def resolve_args(payload: Tuple[Any, ...], values: List[Any]) -> Tuple[tuple, dict]:
    args = payload[0]
    kwargs = payload[1] if len(payload) > 1 else {}
    if values:
        args = tuple(values[a.index] if type(a) is _ArgRef else a for a in args)
        kwargs = {k: values[v.index] if type(v) is _ArgRef else v for k, v in kwargs.items()}
    return args, kwargs


# How long an export waits for the GCS to confirm it has the function.
EXPORT_TIMEOUT_MS = 30000


def export_function(session: state.Session, pickled: bytes, key: str) -> None:
    """Stores the pickled function in the GCS once per session, and waits
    until the GCS has it: a task submitted next may run on another node,
    whose worker fetches it from there (from a node other than the head,
    a put sent without waiting could arrive after that fetch)."""
    if key not in session.exported_functions:
        session.core.kv_put_if_absent(key, pickled, EXPORT_TIMEOUT_MS)
        session.exported_functions.add(key)


def pickle_for_export(target: Any, what: str, prefix: str) -> Tuple[bytes, str]:
    """(pickled, GCS key) of a remote function or actor class; ``what`` names
    it in the error when it cannot be pickled."""
    try:
        pickled = serialization.dumps_function(target)
    except Exception as error:  # noqa: BLE001
        raise TypeError(f"could not serialize {what}: {error}") from error
    return pickled, prefix + hashlib.sha1(pickled).hexdigest()


def submit_task(session: state.Session, function_key: str, function_name: str,
                serialized: serialization.SerializedObject, dependencies: List[bytes],
                options: Dict[str, Any], demand: Dict[str, float], *,
                task_id: Optional[bytes] = None, actor_id: bytes = b"", method_name: str = "",
                actor_options: Optional[Dict[str, Any]] = None, actor_node_id: bytes = b""):
    """Submits one task (or actor creation, or actor call) and returns its
    ObjectRef(s) as Ray does."""
    core = session.core
    if task_id is None:
        task_id = core.new_task_id()
    num_returns = options["num_returns"]
    streaming = num_returns == STREAMING
    dynamic = num_returns == DYNAMIC
    if streaming or dynamic:
        num_returns = 1  # the completion object, or the generator of items
    args_bytes = None
    args_object_id = None
    if serialized.total_size < INLINE_THRESHOLD:
        args_bytes = serialized.to_bytes()
    else:
        args_object_id = core.new_put_id()
        target = core.create(args_object_id, serialized.total_size, 30000)
        try:
            serialized.write_to(target)
        finally:
            target.release()
        core.seal(args_object_id, serialized.contained_refs)
    retry_exceptions = options["retry_exceptions"]
    # Tasks and actor creations run in the caller's runtime_env plus their
    # own; an actor call runs in its actor's.
    env = b""
    if not actor_id or actor_options is not None:
        env_fields = runtime_env.for_submission(session, options.get("runtime_env"),
                                                function_name)
        if env_fields or placement.placement_of(options) is not None:
            demand, env_fields = _capture(options, demand, env_fields, actor_options)
        env = runtime_env.encode(env_fields)
    strategy_kind, strategy_node, strategy_soft = placement.strategy_of(options)
    # The raylet retries crashed workers up to max_retries; the worker decides
    # whether an application error matches retry_exceptions.
    core.submit_task(
        task_id=task_id, job_id=session.context.job_id, function_key=function_key,
        function_name=function_name, args=args_bytes, args_object_id=args_object_id,
        dependencies=dependencies, nested_refs=serialized.contained_refs,
        num_returns=num_returns, resources=demand, max_retries=options["max_retries"],
        parent_task_id=session.context.task_id,
        retry_exceptions=_retry_policy_bytes(retry_exceptions),
        timeout_s=float(options["timeout_s"] or 0),
        retry_on_timeout=_retries_timeouts(retry_exceptions), actor_id=actor_id,
        actor=None if actor_options is None else _core.ActorOptions(**actor_options),
        method_name=method_name, streaming=streaming, runtime_env=env,
        dynamic_returns=dynamic, strategy_kind=strategy_kind, strategy_node_id=strategy_node,
        strategy_soft=strategy_soft, actor_node_id=actor_node_id)
    if args_object_id is not None:
        core.remove_ref(args_object_id)  # the pending task holds it now
    if streaming:
        return ObjectRefGenerator(task_id, ObjectRef(return_id(task_id, 1), _owned=True),
                                  function_name)
    if num_returns == 0:
        return None
    if num_returns == 1:
        return ObjectRef(return_id(task_id, 1), _owned=True)
    return [ObjectRef(return_id(task_id, i), _owned=True) for i in range(1, num_returns + 1)]


_NO_RETRY = b""
_RETRY_ALL = pickle.dumps(True)


def _retry_policy_bytes(policy: Any) -> bytes:
    if policy is False or not policy:
        return _NO_RETRY
    if policy is True:
        return _RETRY_ALL
    return serialization.dumps_function(list(policy))

