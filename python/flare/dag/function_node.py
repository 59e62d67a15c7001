"""FunctionNode: a remote function call in a task graph (``f.bind(...)``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Tuple

from flare.dag.dag_node import DAGNode, _Execution, check_call

if TYPE_CHECKING:
    from flare.remote_function import RemoteFunction


class FunctionNode(DAGNode):
    """Runs the function as a task with the options it had when bound;
    its result is the task's ObjectRef (a list of them for num_returns > 1)."""

    def __init__(self, function: "RemoteFunction", args: Tuple[Any, ...], kwargs: Dict[str, Any],
                 options: Dict[str, Any], demand: Dict[str, float]) -> None:
        check_call(function._signature, f"{function._name}.bind()", args, kwargs)
        super().__init__(args, kwargs, options)
        self._function = function
        self._demand = demand

    def _execute(self, execution: _Execution) -> Any:
        return self._function._remote(execution.resolve(self._args),
                                      execution.resolve(self._kwargs),
                                      self._options, self._demand)

    def __repr__(self) -> str:
        return f"FunctionNode({self._function._name})"
