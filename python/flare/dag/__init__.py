"""Ray's DAG API: build a graph of tasks and actor calls with ``.bind()``,
run it with ``execute()``.

    with InputNode() as inp:
        dag = add.bind(double.bind(inp[0]), inp[1])
    flare.get(dag.execute(3, 4))   # 10

A plain interpreter: each execute() submits ordinary tasks, actor creations
and actor calls (compiled graphs are not supported).
"""

from flare.dag.class_node import ClassMethodNode, ClassNode
from flare.dag.dag_node import DAGNode
from flare.dag.function_node import FunctionNode
from flare.dag.input_node import DAGInputData, InputAttributeNode, InputNode
from flare.dag.output_node import MultiOutputNode

__all__ = ["ClassMethodNode", "ClassNode", "DAGInputData", "DAGNode", "FunctionNode",
           "InputAttributeNode", "InputNode", "MultiOutputNode"]
