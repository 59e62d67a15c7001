"""MultiOutputNode: several results of one graph, run together."""

from __future__ import annotations

from typing import Any, List, Sequence

from flare.dag.dag_node import DAGNode, _Execution


class MultiOutputNode(DAGNode):
    """``MultiOutputNode([a, b])``: execute() returns ``[result of a, result of b]``,
    each node run once even when the outputs share nodes."""

    def __init__(self, outputs: Sequence[DAGNode]) -> None:
        if not isinstance(outputs, (list, tuple)):
            raise TypeError(f"MultiOutputNode takes a list of DAG nodes, got "
                            f"{type(outputs).__name__}")
        for index, node in enumerate(outputs):
            if not isinstance(node, DAGNode):
                raise TypeError(f"MultiOutputNode: output {index} is a {type(node).__name__}, "
                                "not a DAG node (made with .bind() or InputNode)")
        super().__init__(tuple(outputs), {}, {})

    def _execute(self, execution: _Execution) -> List[Any]:
        return list(execution.resolve(self._args))

    def __repr__(self) -> str:
        return f"MultiOutputNode({list(self._args)!r})"
