"""flare: Ray's task programming model with a C++ core.

    import flare as ray

    @ray.remote
    def square(x):
        return x * x

    ray.init()
    print(ray.get([square.remote(i) for i in range(4)]))
"""

from __future__ import annotations

from flare import exceptions
from flare._version import __version__
from flare.actor import ActorClass, ActorHandle, get_actor, kill, method
from flare.api import (available_resources, cancel, cluster_resources, get, get_gpu_ids,
                       get_runtime_context, init, is_initialized, nodes, object_store_stats, put,
                       remote, shutdown, wait)
from flare.generator import DynamicObjectRefGenerator, ObjectRefGenerator
from flare.object_ref import ObjectRef
from flare.remote_function import RemoteFunction
# Ray's module paths, as aliases.
from flare import _raylet, cloudpickle, dag



def __getattr__(name: str):
    # As in Ray, `flare.util` (and `flare.cluster_utils`) work after a bare
    # `import flare`; imported on first use, so that `import flare` stays quick.
    if name in ("util", "cluster_utils"):
        import importlib
        return importlib.import_module(f"flare.{name}")
    raise AttributeError(f"module 'flare' has no attribute {name!r}")


__all__ = ["ActorClass", "ActorHandle", "DynamicObjectRefGenerator", "ObjectRef",
           "ObjectRefGenerator", "RemoteFunction", "available_resources",
           "cancel", "cluster_resources", "dag", "exceptions", "get", "get_actor", "get_gpu_ids",
           "get_runtime_context", "init", "is_initialized", "kill", "method", "nodes",
           "object_store_stats", "put", "remote", "shutdown", "wait"]
