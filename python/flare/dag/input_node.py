"""InputNode and InputAttributeNode: the values given to ``execute()``.

As in Ray: with a single positional input, ``inp`` is that value and
``inp[key]`` / ``inp.name`` index into it or read its attribute; otherwise
``inp[i]`` is the i-th positional input and ``inp["name"]`` / ``inp.name``
the keyword input ``name``.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple, Union

from flare.dag.dag_node import DAGNode, _Execution


class DAGInputData:
    """The inputs of an execute() that was not given exactly one positional value."""

    def __init__(self, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> None:
        self.args = args
        self.kwargs = kwargs

    def describe(self) -> str:
        return f"{len(self.args)} positional and {len(self.kwargs)} keyword argument(s)" + (
            f" ({', '.join(sorted(self.kwargs))})" if self.kwargs else "")


class InputNode(DAGNode):
    """Stands for the input of the graph: ``with InputNode() as inp:``."""

    def __init__(self) -> None:
        super().__init__((), {}, {})
        self._attributes: Dict[Tuple[str, Union[int, str]], InputAttributeNode] = {}

    def __enter__(self) -> "InputNode":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        return None

    def __getitem__(self, key: Union[int, str]) -> "InputAttributeNode":
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise TypeError(f"InputNode[{key!r}]: use an int index (positional input) or a "
                            "str key (keyword input)")
        return self._attribute("item", key)

    def __getattr__(self, name: str) -> "InputAttributeNode":
        if name.startswith("__") or "_attributes" not in self.__dict__:
            raise AttributeError(name)
        return self._attribute("attr", name)

    def _attribute(self, how: str, key: Union[int, str]) -> "InputAttributeNode":
        # One node per key, so the same input read twice is one node.
        node = self._attributes.get((how, key))
        if node is None:
            node = self._attributes[(how, key)] = InputAttributeNode(self, key, how)
        return node

    def _execute(self, execution: _Execution) -> Any:
        execution.claim_input(self)
        if len(execution.args) == 1 and not execution.kwargs:
            return execution.args[0]
        return DAGInputData(execution.args, execution.kwargs)

    def _as_argument(self, result: Any) -> Any:
        if isinstance(result, DAGInputData):
            raise ValueError(f"the graph passes its InputNode itself as an argument, which "
                             f"stands for a single positional input, but execute() was given "
                             f"{result.describe()}; read them with inp[i] or inp.name")
        return result

    def __repr__(self) -> str:
        return "InputNode()"


class InputAttributeNode(DAGNode):
    """``inp[key]`` or ``inp.name``: one part of the graph's input."""

    def __init__(self, input_node: InputNode, key: Union[int, str], how: str) -> None:
        if not isinstance(input_node, InputNode):
            raise TypeError(f"InputAttributeNode needs an InputNode, got "
                            f"{type(input_node).__name__}")
        super().__init__((), {}, {}, upstream=(input_node,))
        self._input_node = input_node
        self._key = key
        self._how = how

    def _execute(self, execution: _Execution) -> Any:
        value = execution.result_of(self._input_node)
        try:
            if isinstance(value, DAGInputData):
                if isinstance(self._key, int):
                    return value.args[self._key]
                return value.kwargs[self._key]
            return getattr(value, self._key) if self._how == "attr" else value[self._key]
        except (AttributeError, IndexError, KeyError, TypeError) as error:
            given = (value.describe() if isinstance(value, DAGInputData)
                     else f"a single input of type {type(value).__name__}")
            raise ValueError(f"the graph reads input {self!r}, but execute() was given "
                             f"{given}") from error

    def __repr__(self) -> str:
        return f"inp.{self._key}" if self._how == "attr" else f"inp[{self._key!r}]"
