"""What init() returns: the context of the connection, as Ray's RayContext.

It reads like a dict of its ``address_info`` (``ctx["session_dir"]``), and
as a context manager it shuts flare down when the block ends::

    with flare.init(num_cpus=2) as ctx:
        print(ctx.address_info["node_id"])
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, Iterator, Mapping, Optional

from flare._version import __version__


class FlareContext(Mapping):
    """Addresses and versions of this process's connection to flare.

    Fields flare has no counterpart for (dashboard, metrics, Redis) are None.
    """

    def __init__(self, address_info: Dict[str, Any], shutdown: Callable[[], None]) -> None:
        self.address_info = address_info
        self._shutdown = shutdown
        self.dashboard_url: Optional[str] = None  # flare has no dashboard
        self.python_version = "{}.{}.{}".format(*sys.version_info[:3])
        self.ray_version = __version__
        self.ray_commit: Optional[str] = None

    @property
    def node_id(self) -> str:
        return self.address_info["node_id"]

    @property
    def session_dir(self) -> str:
        return self.address_info["session_dir"]

    def disconnect(self) -> None:
        """Shuts flare down in this process (stopping the node if init started it)."""
        self._shutdown()

    def __enter__(self) -> "FlareContext":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.disconnect()

    def __getitem__(self, key: str) -> Any:
        return self.address_info[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.address_info)

    def __len__(self) -> int:
        return len(self.address_info)

    def __repr__(self) -> str:
        return (f"FlareContext(ray_version={self.ray_version!r}, "
                f"python_version={self.python_version!r}, address_info={self.address_info!r})")


def address_info(node_id: str, session_dir: str, socket_path: str) -> Dict[str, Any]:
    """Ray's address_info keys for a node reached through ``socket_path``.

    The GCS is part of the head raylet, reached through the same socket, so
    its address is the socket's path (which init(address=...) accepts).
    """
    return {"node_ip_address": "127.0.0.1", "raylet_ip_address": "127.0.0.1",
            "redis_address": None, "gcs_address": socket_path, "address": socket_path,
            "object_store_address": socket_path, "raylet_socket_name": socket_path,
            "webui_url": None, "session_dir": session_dir, "metrics_export_port": None,
            "dashboard_agent_listen_port": None, "node_id": node_id}


RayContext = FlareContext

__all__ = ["FlareContext", "RayContext"]
