"""@flare.remote on functions: RemoteFunction and its options."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, Optional

from flare._private import runtime, state
from flare._private.options import TASK_DEFAULTS, TASK_OPTIONS, validate_options
from flare._private.protocol import STREAMING
from flare._private.submission import (export_function, pickle_for_export, prepare_args,
                                       resource_demand, submit_task)
from flare.dag import FunctionNode


class RemoteFunction:
    """A function decorated with @flare.remote. Call ``.remote()`` to run it."""

    def __init__(self, function: Callable, options: Dict[str, Any]) -> None:
        validate_options(options, TASK_OPTIONS, f"@remote on {function.__qualname__}")
        self._function = function
        self._name = function.__qualname__
        defaults = TASK_DEFAULTS
        if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
            defaults = {**TASK_DEFAULTS, "num_returns": STREAMING}
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
        session = runtime.session()
        key = self._export(session)
        serialized, dependencies = prepare_args(self._name, self._signature, args, kwargs)
        return submit_task(session, key, options.get("name") or self._name, serialized,
                           dependencies, options, demand)

    def options(self, **overrides: Any) -> "_BoundOptions":
        validate_options(overrides, TASK_OPTIONS, f"{self._name}.options()")
        merged = {**self._options, **overrides}
        return _BoundOptions(self, merged, resource_demand(merged))

    def bind(self, *args: Any, **kwargs: Any) -> "FunctionNode":
        """A FunctionNode: this call in a task graph, run by ``execute()``."""
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
        return FunctionNode(self._function, args, kwargs, self._options, self._demand)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._function(*args, **kwargs)
