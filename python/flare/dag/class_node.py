"""ClassNode and ClassMethodNode: an actor and calls on it in a task graph.

``Cls.bind(...)`` is a ClassNode: each execute() creates one actor for it,
shared by all its method nodes in that execution (and a fresh one in the
next, as in Ray). ``node.method.bind(...)`` is a ClassMethodNode; it runs
after the calls bound before it on the same ClassNode, so that calls whose
results nobody reads (``counter.incr.bind()``) still run, in bind order.
``handle.method.bind(...)`` calls an actor that already exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple, Union

from flare._private.options import check_method_options
from flare.dag.dag_node import DAGNode, _Execution, check_call

if TYPE_CHECKING:
    from flare.actor import ActorClass, ActorHandle


class ClassNode(DAGNode):
    """Creates the actor with the options the class had when bound; its
    result is the ActorHandle."""

    def __init__(self, actor_class: "ActorClass", args: Tuple[Any, ...], kwargs: Dict[str, Any],
                 options: Dict[str, Any]) -> None:
        check_call(actor_class._signature, f"{actor_class._name}.bind()", (None, *args), kwargs)
        super().__init__(args, kwargs, options)
        self._actor_class = actor_class
        self._last_call: Optional[ClassMethodNode] = None

    def __getattr__(self, name: str) -> "_UnboundMethod":
        actor_class = self.__dict__.get("_actor_class")
        if actor_class is None or name.startswith("__"):
            raise AttributeError(name)
        if name not in actor_class._methods:
            raise AttributeError(f"actor class {actor_class._name} has no method {name!r}")
        return _UnboundMethod(self, name, {"num_returns": actor_class._methods[name]})

    def _execute(self, execution: _Execution) -> "ActorHandle":
        return self._actor_class._remote(execution.resolve(self._args),
                                         execution.resolve(self._kwargs), self._options)

    def __repr__(self) -> str:
        return f"ClassNode({self._actor_class._name})"


class _UnboundMethod:
    """``class_node.method``: bind it (or set its options first)."""

    def __init__(self, node: ClassNode, name: str, options: Dict[str, Any]) -> None:
        self._node = node
        self._name = name
        self._options = options

    def options(self, **overrides: Any) -> "_UnboundMethod":
        check_method_options(overrides, f"{self._name}.options()")
        return _UnboundMethod(self._node, self._name, {**self._options, **overrides})

    def bind(self, *args: Any, **kwargs: Any) -> "ClassMethodNode":
        node = ClassMethodNode(self._node, self._name, args, kwargs, self._options,
                               previous=self._node._last_call)
        self._node._last_call = node
        return node

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        raise AttributeError(f".remote() cannot be used on a method of a ClassNode; use "
                             f".{self._name}.bind() and run the graph with .execute()")


class ClassMethodNode(DAGNode):
    """Calls ``method`` on the actor of a ClassNode (or on a live actor);
    its result is the call's ObjectRef(s)."""

    def __init__(self, actor: Union[ClassNode, "ActorHandle"], method_name: str,
                 args: Tuple[Any, ...], kwargs: Dict[str, Any], options: Dict[str, Any],
                 previous: Optional["ClassMethodNode"] = None) -> None:
        # An ActorHandle (the actor layer sits above this one): anything
        # that submits calls.
        if not isinstance(actor, ClassNode) and not callable(getattr(actor, "_submit", None)):
            raise TypeError(f"ClassMethodNode needs a ClassNode or an ActorHandle, got "
                            f"{type(actor).__name__}")
        upstream = (actor,) if isinstance(actor, ClassNode) else ()
        super().__init__(args, kwargs, options,
                         upstream=upstream + ((previous,) if previous is not None else ()))
        self._actor = actor
        self._method_name = method_name

    def _execute(self, execution: _Execution) -> Any:
        handle = (execution.result_of(self._actor) if isinstance(self._actor, ClassNode)
                  else self._actor)
        return handle._submit(self._method_name, execution.resolve(self._args),
                              execution.resolve(self._kwargs), self._options["num_returns"])

    def __repr__(self) -> str:
        return f"ClassMethodNode({self._actor!r}.{self._method_name})"
