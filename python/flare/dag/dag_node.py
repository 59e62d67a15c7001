"""DAGNode: the base of a task graph built with ``.bind()``, and the
interpreter that runs one with ``execute()``.

A graph is immutable once bound (except that binding a method on a ClassNode
records it as that actor's latest call). ``execute()`` walks it bottom-up and
submits every node once, as ordinary tasks, actor creations and actor calls;
nothing is kept between two executions, so each execution creates its own
actors, as in Ray.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple


class DAGNode:
    """A node of a task graph: what to run, its bound arguments (values,
    DAGNodes, or DAGNodes inside lists, tuples and dicts) and its options.
    Nothing runs until ``execute()``."""

    def __init__(self, args: Tuple[Any, ...], kwargs: Dict[str, Any], options: Dict[str, Any],
                 upstream: Tuple["DAGNode", ...] = ()) -> None:
        self._args = tuple(args)
        self._kwargs = dict(kwargs)
        self._options = dict(options)
        # Nodes that must run before this one without being its arguments
        # (the actor a method call runs on, the call bound before it).
        self._upstream = upstream

    def get_args(self) -> Tuple[Any, ...]:
        return self._args

    def get_kwargs(self) -> Dict[str, Any]:
        return dict(self._kwargs)

    def get_options(self) -> Dict[str, Any]:
        return dict(self._options)

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        """Runs the graph that ends at this node with ``args`` / ``kwargs`` as
        the InputNode's value; returns this node's ObjectRef(s) or ActorHandle."""
        return _Execution(args, kwargs).run(self)

    # The Ray spellings that do not apply to a node, with the right one named.
    def remote(self, *args: Any, **kwargs: Any) -> Any:
        raise AttributeError(f".remote() cannot be used on a {type(self).__name__}; run the "
                             "graph with .execute()")

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        raise AttributeError(f".bind() cannot be used again on a {type(self).__name__}")

    def __reduce__(self):
        raise TypeError(f"a {type(self).__name__} cannot be pickled or passed to .remote(); "
                        "pass it to .bind() and run the graph with .execute()")

    def _children(self) -> List["DAGNode"]:
        """The nodes this one needs, each once, in the order they were given."""
        seen: Dict[int, DAGNode] = {}
        for node in find_nodes((self._upstream, self._args, self._kwargs)):
            seen.setdefault(id(node), node)
        return list(seen.values())

    def _execute(self, execution: "_Execution") -> Any:
        """Submits this node; the nodes it needs have run already."""
        raise NotImplementedError

    def _as_argument(self, result: Any) -> Any:
        """This node's result as it is passed to the nodes that take it."""
        return result


def find_nodes(value: Any) -> Iterator[DAGNode]:
    """The DAGNodes in ``value`` and in the lists, tuples and dicts inside it."""
    if isinstance(value, DAGNode):
        yield value
    elif type(value) in (list, tuple):
        for item in value:
            yield from find_nodes(item)
    elif type(value) is dict:
        for item in value.values():
            yield from find_nodes(item)


def replace_nodes(value: Any, replace: Callable[[DAGNode], Any]) -> Any:
    """``value`` with every DAGNode in it (as find_nodes sees them) replaced;
    containers without nodes are returned as they are, not copied."""
    if isinstance(value, DAGNode):
        return replace(value)
    if type(value) in (list, tuple):
        items = [replace_nodes(item, replace) for item in value]
        if all(new is old for new, old in zip(items, value)):
            return value
        return type(value)(items)
    if type(value) is dict:
        replaced = {key: replace_nodes(item, replace) for key, item in value.items()}
        if all(replaced[key] is item for key, item in value.items()):
            return value
        return replaced
    return value


def check_call(signature: Optional[inspect.Signature], where: str, args: Tuple[Any, ...],
               kwargs: Dict[str, Any]) -> None:
    """Raises TypeError at bind time when the arguments do not fit the
    signature, instead of at every execute()."""
    if signature is None:
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"{where}: {error}") from None


def _topological_order(root: DAGNode) -> List[DAGNode]:
    """Every node ``root`` depends on, each after the nodes it needs.
    Iterative, so a long chain does not hit the recursion limit."""
    order: List[DAGNode] = []
    seen = set()
    stack: List[Tuple[DAGNode, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        # Reversed, so the first argument is submitted first.
        stack.extend((child, False) for child in reversed(node._children())
                     if id(child) not in seen)
    return order


class _Execution:
    """One run of a graph: the inputs given to execute() and each node's
    result, so a node needed by several others runs once."""

    def __init__(self, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> None:
        self.args = args
        self.kwargs = kwargs
        self._results: Dict[int, Any] = {}
        self._input_node: Optional[DAGNode] = None

    def run(self, root: DAGNode) -> Any:
        for node in _topological_order(root):
            self._results[id(node)] = node._execute(self)
        return self._results[id(root)]

    def result_of(self, node: DAGNode) -> Any:
        return self._results[id(node)]

    def resolve(self, value: Any) -> Any:
        """``value`` with the nodes in it replaced by their results."""
        return replace_nodes(value, lambda node: node._as_argument(self.result_of(node)))

    def claim_input(self, node: DAGNode) -> None:
        """REQUIRES: called by each InputNode as it runs; a graph has one."""
        if self._input_node is not None and self._input_node is not node:
            raise ValueError("a DAG can have only one InputNode; use the same InputNode "
                             "(and inp[i] / inp.name on it) for every input")
        self._input_node = node
