"""flare: Ray's task programming model with a C++ core.

    import flare as ray

    @ray.remote
    def square(x):
        return x * x

    ray.init()
    print(ray.get([square.remote(i) for i in range(4)]))
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from flare import exceptions
from flare.api import (available_resources, cancel, cluster_resources, get, get_gpu_ids,
                       get_runtime_context, init, is_initialized, nodes, object_store_stats, put,
                       shutdown, wait)
from flare.actor import ActorClass, ActorHandle, get_actor, kill, method
from flare.generator import DynamicObjectRefGenerator, ObjectRefGenerator
from flare.object_ref import ObjectRef
from flare.remote_function import RemoteFunction
# Ray's module paths, as aliases.
from flare import _raylet, cloudpickle, dag

__version__ = "0.1.0"


def remote(*args: Any, **options: Any) -> Any:
    """Makes a function a remote task: ``@remote`` or ``@remote(num_cpus=2, ...)``."""
    if len(args) == 1 and not options and callable(args[0]):
        return _make_remote(args[0], {})
    if args:
        raise TypeError("@remote takes either a function or only keyword options, "
                        "e.g. @remote(num_cpus=2)")

    def decorator(target: Callable) -> Any:
        return _make_remote(target, options)
    return decorator


def _make_remote(target: Any, options: dict) -> Any:
    if inspect.isclass(target):
        return ActorClass(target, options)
    if not callable(target):
        raise TypeError(f"@remote must decorate a function, got {type(target).__name__}")
    return RemoteFunction(target, options)


__all__ = ["ActorClass", "ActorHandle", "DynamicObjectRefGenerator", "ObjectRef",
           "ObjectRefGenerator", "RemoteFunction", "available_resources",
           "cancel", "cluster_resources", "dag", "exceptions", "get", "get_actor", "get_gpu_ids",
           "get_runtime_context", "init", "is_initialized", "kill", "method", "nodes",
           "object_store_stats", "put", "remote", "shutdown", "wait"]
