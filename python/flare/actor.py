"""@flare.remote on classes: ActorClass, ActorHandle, ActorMethod, and the
actor functions of the API (get_actor, kill, method).

An actor is created by a creation task whose id is the actor's id. Its
return object (the "handle object") stands for the actor: every ActorHandle
holds an ObjectRef to it, so the raylet's reference counting tells when no
handle is left anywhere and the actor can end. Names live in the GCS actor
directory, with what a handle needs (class name, method table); the GCS
frees a name when its actor dies.
"""

from __future__ import annotations

import inspect
import pickle
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from flare import exceptions
from flare._private import runtime, state
from flare._private.options import (MAX_COUNT, PLACEMENT_OPTIONS, check_method_options, is_count,
                                    validate_options)
from flare._private.protocol import STREAMING, OwnerAddress, return_id
from flare._private.scheduling_strategies import NodeAffinitySchedulingStrategy
from flare._private.submission import (export_function, pickle_for_export, prepare_args,
                                       resource_demand, submit_task)
from flare.dag import ClassMethodNode, ClassNode
from flare.object_ref import ObjectRef

_ACTOR_OPTIONS = {"num_cpus", "num_gpus", "resources", "memory", "max_concurrency",
                  "max_restarts", "max_task_retries", "name", "namespace", "lifetime",
                  "get_if_exists", "runtime_env", "scheduling_strategy", "concurrency_groups",
                  "accelerator_type", "label_selector", "enable_task_events",
                  "max_pending_calls", "_metadata", "placement_group",
                  "placement_group_bundle_index", "placement_group_capture_child_tasks"}
_DEFAULTS: Dict[str, Any] = {"num_cpus": None, "num_gpus": 0, "resources": None, "memory": None,
                             "max_concurrency": None, "max_restarts": 0, "max_task_retries": 0,
                             "name": None, "namespace": None, "lifetime": None,
                             "get_if_exists": False}
# How an actor call is submitted: the raylet applies the actor's own
# max_task_retries; application errors are not retried.
_CALL_OPTIONS = {"num_returns": 1, "max_retries": 0, "retry_exceptions": False,
                 "timeout_s": None}
_ASYNC_DEFAULT_CONCURRENCY = 1000


def method(*args: Any, **options: Any) -> Callable:
    """``@flare.method(num_returns=N)`` on an actor method."""
    if args:
        raise TypeError("@method takes only keyword options, e.g. @method(num_returns=2)")
    check_method_options(options, "@method")

    def decorator(function: Callable) -> Callable:
        function.__flare_method_options__ = options
        return function
    return decorator


def _check_actor_options(options: Dict[str, Any], where: str) -> Dict[str, Any]:
    validate_options({k: v for k, v in options.items() if k in
                      ("num_cpus", "num_gpus", "resources", "memory", "name", "runtime_env",
                       *PLACEMENT_OPTIONS)},
                     _ACTOR_OPTIONS, where)
    unknown = sorted(set(options) - _ACTOR_OPTIONS)
    if unknown:
        raise ValueError(f"{where}: unknown option(s) {', '.join(map(repr, unknown))}; valid "
                         f"options are {', '.join(sorted(_ACTOR_OPTIONS))}")
    for key, low in (("max_restarts", -1), ("max_task_retries", -1), ("max_concurrency", 1)):
        value = options.get(key)
        if value is not None and not is_count(value, low):
            raise ValueError(f"{where}: {key} must be an integer from {low} to {MAX_COUNT}, "
                             f"got {value!r}")
    lifetime = options.get("lifetime")
    if lifetime not in (None, "detached", "non_detached"):
        raise ValueError(f"{where}: lifetime must be 'detached', 'non_detached' or None, "
                         f"got {lifetime!r}")
    namespace = options.get("namespace")
    if namespace is not None and (not isinstance(namespace, str) or not namespace):
        raise ValueError(f"{where}: namespace must be a non-empty string, got {namespace!r}")
    name = options.get("name")
    if name is not None and not name:
        raise ValueError(f"{where}: name must be a non-empty string")
    return options


def _methods_of(cls: type) -> Dict[str, int]:
    """Public and private methods (not dunders) and their num_returns."""
    methods: Dict[str, int] = {}
    for name in dir(cls):
        if name.startswith("__") and name.endswith("__"):
            continue
        member = inspect.getattr_static(cls, name, None)
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if not (inspect.isfunction(member) or inspect.ismethoddescriptor(member)):
            continue
        options = getattr(member, "__flare_method_options__", {})
        default = STREAMING if (inspect.isgeneratorfunction(member) or
                                inspect.isasyncgenfunction(member)) else 1
        methods[name] = options.get("num_returns", default)
    return methods


CONCURRENCY_GROUPS_KWARG = "__flare_concurrency_groups__"


def _concurrency_groups(cls: type, groups: Any, where: str) -> Dict[str, int]:
    """Checks ``concurrency_groups`` (name -> max concurrency) against the
    groups the class's methods name."""
    if groups is None:
        groups = {}
    if not isinstance(groups, dict) or not all(
            isinstance(name, str) and isinstance(limit, int) and not isinstance(limit, bool)
            and limit >= 1 for name, limit in groups.items()):
        raise ValueError(f"{where}: concurrency_groups must map group names to positive "
                         f"integers, got {groups!r}")
    for name, group in method_groups(cls).items():
        if group not in groups:
            raise ValueError(f"{where}: method {name} is in concurrency group {group!r}, which "
                             f"concurrency_groups does not define ({sorted(groups)})")
    return dict(groups)


def method_groups(cls: type) -> Dict[str, str]:
    """Method name -> its concurrency group, for the methods that have one."""
    groups = {}
    for name in dir(cls):
        group = getattr(getattr(cls, name, None), "__flare_method_options__", {}).get(
            "concurrency_group")
        if group is not None:
            groups[name] = group
    return groups


def is_async_class(cls: type) -> bool:
    """An async actor: one of its methods is a coroutine or async generator."""
    return any(inspect.iscoroutinefunction(getattr(cls, name, None)) or
               inspect.isasyncgenfunction(getattr(cls, name, None))
               for name in dir(cls) if not name.startswith("__"))


current_namespace = state.current_namespace


_GCS_TIMEOUT_MS = 30000


class ActorClass:
    """A class decorated with @flare.remote. ``Cls.remote(...)`` creates an actor."""

    def __init__(self, cls: type, options: Dict[str, Any]) -> None:
        _check_actor_options(options, f"@remote on class {cls.__qualname__}")
        self._cls = cls
        self._name = cls.__qualname__
        self._options = {**_DEFAULTS, **options}
        self._methods = _methods_of(cls)
        self._is_async = is_async_class(cls)
        try:
            self._signature: Optional[inspect.Signature] = inspect.signature(cls.__init__)
        except (TypeError, ValueError):
            self._signature = None
        self._pickled: Optional[bytes] = None
        self._key = ""
        self.__doc__ = cls.__doc__
        self.__name__ = cls.__name__
        self.__qualname__ = self._name
        self.__module__ = cls.__module__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"Actors cannot be instantiated directly. Instead of '{self._name}()', "
                        f"use '{self._name}.remote()'.")

    def __getstate__(self) -> dict:
        state_dict = self.__dict__.copy()
        state_dict["_pickled"] = None
        return state_dict

    def remote(self, *args: Any, **kwargs: Any) -> "ActorHandle":
        return self._remote(args, kwargs, self._options)

    def options(self, **overrides: Any) -> "_ActorClassOptions":
        _check_actor_options(overrides, f"{self._name}.options()")
        return _ActorClassOptions(self, {**self._options, **overrides})

    def bind(self, *args: Any, **kwargs: Any) -> "ClassNode":
        """A ClassNode: this actor in a task graph, created by each ``execute()``."""
        return ClassNode(self, args, kwargs, self._options)

    def _export(self, session: state.Session) -> str:
        if self._pickled is None:
            self._pickled, self._key = pickle_for_export(
                self._cls, f"actor class {self._name}", "cls:")
        export_function(session, self._pickled, self._key)
        return self._key

    def _remote(self, args: Tuple[Any, ...], kwargs: Dict[str, Any],
                options: Dict[str, Any]) -> "ActorHandle":
        session = runtime.session()
        core = session.core
        name = options.get("name")
        namespace = options.get("namespace") or current_namespace(session)
        if options.get("get_if_exists") and name is None:
            raise ValueError(f"{self._name}.options(get_if_exists=True) needs a name")
        signature = self._signature
        if signature is not None:
            try:
                signature.bind(None, *args, **kwargs)
            except TypeError as error:
                raise TypeError(f"{self._name}.remote(): {error}") from None
        key = self._export(session)
        groups = _concurrency_groups(self._cls, options.get("concurrency_groups"),
                                     f"{self._name}.remote()")
        if groups:  # the worker takes them out before calling __init__
            kwargs = {**kwargs, CONCURRENCY_GROUPS_KWARG: groups}
        serialized, dependencies = prepare_args(self._name, None, args, kwargs)
        actor_id = core.new_task_id()
        if name is not None:
            registered, existing = core.register_actor_name(
                actor_id, name, namespace, self._name, pickle.dumps(self._methods),
                _GCS_TIMEOUT_MS)
            if not registered:
                if options.get("get_if_exists") and existing is not None:
                    return _handle_of(existing)
                raise ValueError(f"an actor named {name!r} already exists in namespace "
                                 f"{namespace!r}; use get_actor({name!r}) to reach it, or "
                                 "options(get_if_exists=True)")
        max_concurrency = options.get("max_concurrency") or (
            _ASYNC_DEFAULT_CONCURRENCY if self._is_async else 1)
        # Placement needs 1 CPU unless num_cpus says otherwise; while alive
        # the actor holds only what was asked for explicitly (Ray's rule).
        explicit = {k: options[k] for k in ("num_cpus", "num_gpus", "resources", "memory",
                                            *PLACEMENT_OPTIONS)
                    if options.get(k) is not None}
        placement = resource_demand({"num_cpus": 1, **explicit})
        lifetime = resource_demand(explicit)
        actor_options = {"max_concurrency": max_concurrency,
                         "max_restarts": options["max_restarts"],
                         "max_task_retries": options["max_task_retries"],
                         "detached": options.get("lifetime") == "detached",
                         "lifetime_resources": lifetime,
                         "class_name": self._name,
                         # Only a sync actor running one call at a time keeps
                         # calls in submission order while arguments resolve.
                         "out_of_order": self._is_async or max_concurrency > 1 or
                         bool(groups)}
        creation = {"num_returns": 1, "max_retries": options["max_restarts"],
                    "retry_exceptions": False, "timeout_s": None,
                    "runtime_env": options.get("runtime_env")}
        strategy = options.get("scheduling_strategy")
        if strategy == "SPREAD" or isinstance(strategy, NodeAffinitySchedulingStrategy):
            creation["scheduling_strategy"] = strategy  # which node (groups are resources)
        handle_ref = submit_task(session, key, self._name, serialized, dependencies,
                                 creation, placement, task_id=actor_id, actor_id=actor_id,
                                 actor_options=actor_options)
        return ActorHandle(actor_id, self._name, self._methods, handle_ref)

    def __repr__(self) -> str:
        return f"<flare actor class {self._name}>"


class _ActorClassOptions:
    """``Cls.options(...)``: the class with some options overridden."""

    def __init__(self, actor_class: ActorClass, options: Dict[str, Any]) -> None:
        self._actor_class = actor_class
        self._options = options

    def remote(self, *args: Any, **kwargs: Any) -> "ActorHandle":
        return self._actor_class._remote(args, kwargs, self._options)

    def bind(self, *args: Any, **kwargs: Any) -> "ClassNode":
        return ClassNode(self._actor_class, args, kwargs, self._options)


class ActorHandle:
    """A handle to an actor: ``handle.method.remote(...)`` calls it.

    Picklable: pass it to tasks and other actors, which then call the same
    actor. The actor lives while any handle to it exists.
    """

    def __init__(self, actor_id: bytes, class_name: str, methods: Dict[str, int],
                 handle_ref: ObjectRef) -> None:
        self._actor_id = actor_id
        self._class_name = class_name
        self._methods = methods
        self._handle_ref = handle_ref

    def __getattr__(self, name: str) -> "ActorMethod":
        # Made on each access: a cached method would refer back to the handle
        # (a cycle), keeping the actor alive until the garbage collector ran.
        methods = self.__dict__.get("_methods")
        if name in ("__ray_terminate__", "__ray_ready__") and methods is not None:
            # Ends the actor once the calls queued before it have run; or
            # returns True once it is up.
            return ActorMethod(self, name, 1)
        if methods is None or name not in methods:
            if name.startswith("__") and name.endswith("__"):
                raise AttributeError(name)
            raise AttributeError(f"actor {self._class_name} has no method {name!r}")
        return ActorMethod(self, name, methods[name])

    def __reduce__(self):
        return (_rebuild_handle, (self._actor_id, self._class_name, self._methods,
                                  self._handle_ref))

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, ActorHandle) and other._actor_id == self._actor_id

    def __hash__(self) -> int:
        return hash(self._actor_id)

    def __repr__(self) -> str:
        return f"Actor({self._class_name}, {self._actor_id.hex()})"

    def _submit(self, method_name: str, args: Tuple[Any, ...], kwargs: Dict[str, Any],
                num_returns: int):
        session = runtime.session()
        label = f"{self._class_name}.{method_name}"
        serialized, dependencies = prepare_args(label, None, args, kwargs)
        options = _CALL_OPTIONS if num_returns == 1 else {**_CALL_OPTIONS,
                                                          "num_returns": num_returns}
        # The actor lives on the node that owns its handle object (where it
        # was created); a call from another node goes there.
        owner = self._handle_ref.owner_address() if self._handle_ref is not None else None
        result = submit_task(session, "", label, serialized, dependencies, options, {},
                             actor_id=self._actor_id, method_name=method_name,
                             actor_node_id=owner.node_id if owner is not None else b"")
        _mark_actor_call(result)
        return result


def _mark_actor_call(result: Any) -> None:
    """Tags the refs an actor call returned (see ObjectRef._actor_call)."""
    if isinstance(result, ObjectRef):
        result._actor_call = True
    elif isinstance(result, list):
        for ref in result:
            ref._actor_call = True
    elif result is not None:  # an ObjectRefGenerator: cancel() goes through its completion
        result._completion._actor_call = True


def _rebuild_handle(actor_id: bytes, class_name: str, methods: Dict[str, int],
                    handle_ref: ObjectRef) -> ActorHandle:
    return ActorHandle(actor_id, class_name, methods, handle_ref)


class ActorMethod:
    """``handle.method``: call it with ``.remote(...)``."""

    __slots__ = ("_handle", "_name", "_num_returns")

    def __init__(self, handle: ActorHandle, name: str, num_returns: int) -> None:
        self._handle = handle
        self._name = name
        self._num_returns = num_returns

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"Actor methods cannot be called directly. Instead of running "
                        f"'handle.{self._name}()', try 'handle.{self._name}.remote()'.")

    def remote(self, *args: Any, **kwargs: Any):
        return self._handle._submit(self._name, args, kwargs, self._num_returns)

    def options(self, **overrides: Any) -> "ActorMethod":
        check_method_options(overrides, f"{self._name}.options()")
        return ActorMethod(self._handle, self._name,
                           overrides.get("num_returns", self._num_returns))

    def bind(self, *args: Any, **kwargs: Any) -> "ClassMethodNode":
        """A ClassMethodNode: this call on this actor in a task graph."""
        return ClassMethodNode(self._handle, self._name, args, kwargs,
                               {"num_returns": self._num_returns})

    def __repr__(self) -> str:
        return f"<actor method {self._handle._class_name}.{self._name}>"


def _handle_of(actor: Dict[str, Any]) -> ActorHandle:
    """A handle to an actor of the GCS directory."""
    actor_id = actor["actor_id"]
    # Its handle object is owned where the actor runs: calls go there.
    session = state.session
    here = session.owner_address.node_id if session is not None else b""
    owner = (OwnerAddress(actor["node_id"], "")
             if actor.get("node_id") and actor["node_id"] != here else None)
    return ActorHandle(actor_id, actor["class_name"], pickle.loads(actor["methods"]),
                       ObjectRef(return_id(actor_id, 1), _owner=owner))


def _lookup(session: state.Session, name: str, namespace: str) -> Optional[ActorHandle]:
    actor = session.core.lookup_actor(namespace, name, _GCS_TIMEOUT_MS)
    return None if actor is None else _handle_of(actor)


def list_named_actors(all_namespaces: bool = False) -> List[Union[str, Dict[str, str]]]:
    """The live named actors (detached or not): their names in the job's
    namespace or, with ``all_namespaces``, ``{"namespace": ..., "name": ...}``
    for every namespace (Ray's ``ray.util.list_named_actors``)."""
    session = runtime.session()
    namespace = current_namespace(session)
    actors = session.core.list_named_actors(bool(all_namespaces), namespace, _GCS_TIMEOUT_MS)
    if all_namespaces:
        return [{"namespace": actor["namespace"], "name": actor["name"]} for actor in actors]
    return [actor["name"] for actor in actors]


def get_actor(name: str, namespace: Optional[str] = None) -> ActorHandle:
    """The handle of the live actor registered as ``name`` (in ``namespace``,
    by default the job's)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"get_actor() needs a non-empty actor name, got {name!r}")
    session = runtime.session()
    namespace = namespace or current_namespace(session)
    handle = _lookup(session, name, namespace)
    if handle is None:
        raise ValueError(f"Failed to look up actor with name {name!r} in namespace "
                         f"{namespace!r}: no live actor has that name")
    return handle


def kill(actor: ActorHandle, *, no_restart: bool = True) -> None:
    """Ends the actor at once: pending and later calls raise ActorDiedError.
    With ``no_restart=False`` an actor with restarts left is restarted."""
    if not isinstance(actor, ActorHandle):
        raise TypeError(f"kill() takes an actor handle, got {type(actor).__name__} (to stop "
                        "a task, use cancel())")
    session = runtime.session()
    owner = actor._handle_ref.owner_address() if actor._handle_ref is not None else None
    session.core.kill_actor(actor._actor_id, bool(no_restart),
                            node_id=owner.node_id if owner is not None else b"")


def exit_actor() -> None:
    """Ends the actor this is called in, from one of its methods: the call
    and those queued after it raise ActorDiedError at their callers, the
    actor is not restarted, and its process exits running its atexit
    handlers."""
    if state.current_actor is None:
        raise TypeError("exit_actor() can only be called inside an actor's method; "
                        "to end an actor from outside, use flare.kill(handle)")
    raise exceptions.ActorExit("exit_actor() was called")


__all__ = ["ActorClass", "ActorHandle", "ActorMethod", "exit_actor", "get_actor", "kill",
           "method", "exceptions"]
