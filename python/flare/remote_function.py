"""@flare.remote on functions: RemoteFunction, options and task submission."""

from __future__ import annotations

import hashlib
import inspect
import pickle
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from flare import _core, exceptions
from flare._private import runtime_env, serialization, state
from flare.object_ref import ObjectRef

if TYPE_CHECKING:
    from flare.dag import FunctionNode

_TASK_OPTIONS = {"num_cpus", "num_gpus", "resources", "num_returns", "max_retries",
                 "retry_exceptions", "name", "timeout_s", "memory", "scheduling_strategy",
                 "enable_task_events", "runtime_env", "accelerator_type", "max_calls",
                 "label_selector", "placement_group", "placement_group_bundle_index",
                 "placement_group_capture_child_tasks"}
# Where a task runs: a placement group (Ray's current and legacy spellings).
PLACEMENT_OPTIONS = ("scheduling_strategy", "placement_group", "placement_group_bundle_index",
                     "placement_group_capture_child_tasks")
# Accepted for Ray compatibility; they do not change how flare runs a task yet.
_NO_EFFECT_OPTIONS = {"enable_task_events", "accelerator_type", "max_calls",
                      "label_selector"}
_DEFAULTS: Dict[str, Any] = {"num_cpus": 1, "num_gpus": 0, "resources": None, "num_returns": 1,
                             "max_retries": 3, "retry_exceptions": False, "name": None,
                             "memory": None, "timeout_s": None}


# num_returns of a generator whose items are streamed as they are yielded.
STREAMING = "streaming"
# num_returns of a generator whose one return, once it has finished, holds a
# DynamicObjectRefGenerator of its items (Ray's older dynamic returns).
DYNAMIC = "dynamic"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_options(options: Dict[str, Any], allowed: set, where: str) -> Dict[str, Any]:
    """Raises ValueError/TypeError naming the first bad option."""
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown option(s) {', '.join(map(repr, unknown))}; valid "
                         f"options are {', '.join(sorted(allowed))}")
    for key in ("num_cpus", "num_gpus", "memory"):
        if key in options and options[key] is not None:
            value = options[key]
            if not _is_number(value) or value < 0:
                raise ValueError(f"{where}: {key} must be a non-negative number, got {value!r}")
    resources = options.get("resources")
    if resources is not None:
        if not isinstance(resources, dict):
            raise TypeError(f"{where}: resources must be a dict of name to amount, got "
                            f"{type(resources).__name__}")
        for name, amount in resources.items():
            if not isinstance(name, str):
                raise TypeError(f"{where}: resource names must be strings, got {name!r}")
            if name in ("CPU", "GPU"):
                raise ValueError(f"{where}: use num_cpus/num_gpus instead of {name!r} in resources")
            if not _is_number(amount) or amount < 0:
                raise ValueError(f"{where}: resource {name!r} must be a non-negative number, "
                                 f"got {amount!r}")
    if "num_returns" in options:
        value = options["num_returns"]
        if value not in (STREAMING, DYNAMIC) and (isinstance(value, bool)
                                                  or not isinstance(value, int) or value < 0):
            raise ValueError(f"{where}: num_returns must be a non-negative integer, "
                             f"'streaming' or 'dynamic', got {value!r}")
    if "max_retries" in options:
        value = options["max_retries"]
        if isinstance(value, bool) or not isinstance(value, int) or value < -1:
            raise ValueError(f"{where}: max_retries must be an integer >= -1, got {value!r}")
    if "retry_exceptions" in options:
        value = options["retry_exceptions"]
        if not isinstance(value, bool):
            if not isinstance(value, (list, tuple)) or not all(
                    inspect.isclass(item) and issubclass(item, BaseException) for item in value):
                raise TypeError(f"{where}: retry_exceptions must be a bool or a list of "
                                f"exception classes, got {value!r}")
    if options.get("timeout_s") is not None:
        value = options["timeout_s"]
        if not _is_number(value) or not value > 0 or value == float("inf"):
            raise ValueError(f"{where}: timeout_s must be a positive number of seconds, "
                             f"got {value!r}")
    if options.get("runtime_env") is not None:
        # Normalized once here, not at every submission (it checks the disk).
        options["runtime_env"] = runtime_env.validate(options["runtime_env"], where)
    if "name" in options and options["name"] is not None and not isinstance(options["name"], str):
        raise TypeError(f"{where}: name must be a string")
    return options


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
    placement = _placement(options)
    if placement is not None:
        from flare.util.placement_group import group_demand
        demand = group_demand(demand, *placement)
    return demand


def _capture(options: Dict[str, Any], demand: Dict[str, float], env: Optional[Dict[str, Any]],
             actor_options: Optional[Dict[str, Any]]) -> Tuple[Dict[str, float], Any]:
    """placement_group_capture_child_tasks: a task placed in a capturing
    group passes the group on (in its environment); a task submitted from
    inside it, with no placement of its own, runs in the group too."""
    placement = _placement(options)
    if placement is not None:
        env = dict(env or {})
        env.pop(runtime_env.CAPTURED_GROUP, None)
        if _captures(options):
            env[runtime_env.CAPTURED_GROUP] = placement[0]
        return demand, env or None
    group = (env or {}).get(runtime_env.CAPTURED_GROUP)
    if group is None or "scheduling_strategy" in options or "placement_group" in options:
        return demand, env
    from flare.util.placement_group import group_demand
    if actor_options is not None:
        actor_options["lifetime_resources"] = group_demand(actor_options["lifetime_resources"],
                                                           group, -1)
    return group_demand(demand, group, -1), env


def _captures(options: Dict[str, Any]) -> bool:
    strategy = options.get("scheduling_strategy")
    if strategy is not None and not isinstance(strategy, str):
        return bool(getattr(strategy, "placement_group_capture_child_tasks", False))
    return bool(options.get("placement_group_capture_child_tasks"))


def _placement(options: Dict[str, Any]) -> Optional[Tuple[Any, int]]:
    """(placement group, bundle index) the options place a task in, if any."""
    strategy = options.get("scheduling_strategy")
    group = options.get("placement_group")
    index = options.get("placement_group_bundle_index", -1)
    if strategy is not None and not isinstance(strategy, str):
        from flare.util import scheduling_strategies as strategies
        if isinstance(strategy, strategies.PlacementGroupSchedulingStrategy):
            group, index = strategy.placement_group, strategy.placement_group_bundle_index
        elif not isinstance(strategy, strategies.NodeAffinitySchedulingStrategy):
            raise TypeError(f"scheduling_strategy must be 'DEFAULT', 'SPREAD' or a scheduling "
                            f"strategy object, got {type(strategy).__name__}")
    elif strategy not in (None, "DEFAULT", "SPREAD"):
        raise ValueError(f"scheduling_strategy must be 'DEFAULT', 'SPREAD' or a scheduling "
                         f"strategy object, got {strategy!r}")
    if group is None or group == "default":
        return None
    return group, -1 if index is None else index


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


def export_function(session: state.Session, pickled: bytes, key: str) -> None:
    if key not in session.exported_functions:
        session.core.kv_put(key, pickled, False)
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
                actor_options: Optional[Dict[str, Any]] = None):
    """Submits one task (or actor creation, or actor call) and returns its
    ObjectRef(s) as Ray does."""
    from flare import api
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
    if serialized.total_size < api.INLINE_THRESHOLD:
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
        if env_fields or _placement(options) is not None:
            demand, env_fields = _capture(options, demand, env_fields, actor_options)
        env = runtime_env.encode(env_fields)
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
        dynamic_returns=dynamic)
    if args_object_id is not None:
        core.remove_ref(args_object_id)  # the pending task holds it now
    if streaming:
        from flare.generator import ObjectRefGenerator
        return ObjectRefGenerator(task_id, ObjectRef(_core.return_id(task_id, 1), _owned=True),
                                  function_name)
    if num_returns == 0:
        return None
    if num_returns == 1:
        return ObjectRef(_core.return_id(task_id, 1), _owned=True)
    return [ObjectRef(_core.return_id(task_id, i), _owned=True) for i in range(1, num_returns + 1)]


_NO_RETRY = b""
_RETRY_ALL = pickle.dumps(True)


def _retry_policy_bytes(policy: Any) -> bytes:
    if policy is False or not policy:
        return _NO_RETRY
    if policy is True:
        return _RETRY_ALL
    return serialization.dumps_function(list(policy))


class RemoteFunction:
    """A function decorated with @flare.remote. Call ``.remote()`` to run it."""

    def __init__(self, function: Callable, options: Dict[str, Any]) -> None:
        validate_options(options, _TASK_OPTIONS, f"@remote on {function.__qualname__}")
        self._function = function
        self._name = function.__qualname__
        defaults = _DEFAULTS
        if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
            defaults = {**_DEFAULTS, "num_returns": STREAMING}
        self._options = {**defaults, **options}
        self._demand = resource_demand(self._options)
        try:
            self._signature: Optional[inspect.Signature] = inspect.signature(function)
        except (TypeError, ValueError):
            self._signature = None
        self._pickled: Optional[bytes] = None
        self._key = ""
        self.__doc__ = function.__doc__
        self.__name__ = getattr(function, "__name__", self._name)
        self.__qualname__ = self._name
        self.__module__ = getattr(function, "__module__", None)
        self.__wrapped__ = function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"Remote functions cannot be called directly. Instead of running "
                        f"'{self._name}()', try '{self._name}.remote()'.")

    def __getstate__(self) -> dict:
        state_dict = self.__dict__.copy()
        state_dict["_pickled"] = None
        return state_dict

    def _export(self, session: state.Session) -> str:
        if self._pickled is None:
            self._pickled, self._key = pickle_for_export(
                self._function, f"remote function {self._name}", "fn:")
        export_function(session, self._pickled, self._key)
        return self._key

    def remote(self, *args: Any, **kwargs: Any):
        return self._remote(args, kwargs, self._options, self._demand)

    def _remote(self, args, kwargs, options, demand):
        session = state.require_session()
        key = self._export(session)
        serialized, dependencies = prepare_args(self._name, self._signature, args, kwargs)
        return submit_task(session, key, options.get("name") or self._name, serialized,
                           dependencies, options, demand)

    def options(self, **overrides: Any) -> "_BoundOptions":
        validate_options(overrides, _TASK_OPTIONS, f"{self._name}.options()")
        merged = {**self._options, **overrides}
        return _BoundOptions(self, merged, resource_demand(merged))

    def bind(self, *args: Any, **kwargs: Any) -> "FunctionNode":
        """A FunctionNode: this call in a task graph, run by ``execute()``."""
        from flare.dag import FunctionNode
        return FunctionNode(self, args, kwargs, self._options, self._demand)

    def __repr__(self) -> str:
        return f"<flare remote function {self._name}>"


class _BoundOptions:
    """``f.options(...)``: the function with some options overridden."""

    def __init__(self, function: RemoteFunction, options: Dict[str, Any],
                 demand: Dict[str, float]) -> None:
        self._function = function
        self._options = options
        self._demand = demand

    def remote(self, *args: Any, **kwargs: Any):
        return self._function._remote(args, kwargs, self._options, self._demand)

    def options(self, **overrides: Any) -> "_BoundOptions":
        return self._function.options(**{**self._options, **overrides})

    def bind(self, *args: Any, **kwargs: Any) -> "FunctionNode":
        from flare.dag import FunctionNode
        return FunctionNode(self._function, args, kwargs, self._options, self._demand)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._function(*args, **kwargs)
