"""A cluster of real raylets on this machine, for tests and benchmarks:
Ray's ``ray.cluster_utils.Cluster`` with the same API.

Each node is a ``flare-raylet`` process with its own gRPC port, shared-memory
store and session directory; the first is the head (with the GCS) and the
others join it with the head's token, exactly as ``flare start`` would.

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=2, resources={"ssd": 1})
    flare.init(address=cluster.address)
    ...
    cluster.remove_node(worker)
    cluster.shutdown()

Beyond Ray's API, the head can crash and come back: kill it with
``cluster.head_node.kill(allow_graceful=False)`` (SIGKILL: its nodes keep
running and wait for it), then ``cluster.restart_head()`` starts it again on
the same port over the same GCS storage (``gcs_storage`` in
``head_node_args``; default: gcs.sqlite in the head's session dir).
"""

from __future__ import annotations

import atexit
import signal
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from flare._private import node as node_module
from flare._private import runtime

# What add_node() takes, as in Ray; each maps to the raylet's own flag.
_NODE_ARGS = {"num_cpus", "num_gpus", "resources", "object_store_memory", "_memory", "memory",
              "node_ip_address", "port", "node_timeout_ms", "infeasible_grace_ms",
              "gcs_storage", "gcs_reconnect_timeout_s"}
# Ray arguments a one-machine flare cluster has no use for.
_IGNORED_ARGS = {"_system_config", "dashboard_host", "include_dashboard", "redis_port",
                 "enable_object_reconstruction", "min_worker_port", "max_worker_port",
                 "num_heartbeats_timeout", "labels", "env_vars", "ray_client_server_port"}

_DEFAULT_STORE = 128 * 1024 * 1024  # small stores: many nodes share one machine


class ClusterNode:
    """One raylet of a Cluster."""

    def __init__(self, raylet: node_module.RayletProcess, head: bool) -> None:
        self._raylet = raylet
        self.head = head

    @property
    def node_id(self) -> str:
        """The node's id (hex), as ``nodes()`` and the runtime context name it."""
        return self._raylet.node_id

    @property
    def unique_id(self) -> str:
        return self.node_id

    @property
    def address(self) -> str:
        """The head's address (the cluster this node belongs to)."""
        return self._raylet.gcs_address

    @property
    def node_manager_port(self) -> int:
        return self._raylet.port

    @property
    def node_ip_address(self) -> str:
        return self._raylet.gcs_address.rpartition(":")[0] if self.head else "127.0.0.1"

    @property
    def session_dir(self) -> str:
        return self._raylet.session_dir

    @property
    def pid(self) -> int:
        return self._raylet.pid

    def alive(self) -> bool:
        return self._raylet.alive()

    def kill(self, allow_graceful: bool = True) -> None:
        """Stops the raylet: SIGTERM (it ends its workers), or SIGKILL."""
        if allow_graceful:
            self._raylet.stop()
        else:
            if self._raylet.alive():
                self._raylet.process.send_signal(signal.SIGKILL)
            self._raylet.process.wait()

    def __repr__(self) -> str:
        kind = "head" if self.head else "worker"
        return f"ClusterNode({kind}, pid={self.pid}, session_dir={self.session_dir!r})"


class Cluster:
    """Raylets on this machine forming one cluster (see the module docstring)."""

    def __init__(self, initialize_head: bool = False, connect: bool = False,
                 head_node_args: Optional[Dict[str, Any]] = None,
                 shutdown_at_exit: bool = True) -> None:
        self.head_node: Optional[ClusterNode] = None
        self.worker_nodes: List[ClusterNode] = []
        self._token: Optional[str] = None
        self._head_args: Dict[str, Any] = {}
        self._connected = False
        if shutdown_at_exit:
            atexit.register(self.shutdown)
        if initialize_head:
            self.add_node(**(head_node_args or {}))
            if connect:
                self.connect()
        elif connect:
            raise ValueError("Cluster(connect=True) needs initialize_head=True")

    @property
    def address(self) -> str:
        """The head's 'host:port', for ``flare.init(address=...)``."""
        if self.head_node is None:
            raise RuntimeError("the cluster has no head node yet: call add_node() first")
        return self.head_node.address

    @property
    def gcs_address(self) -> str:
        return self.address

    def add_node(self, wait: bool = True, **node_args: Any) -> ClusterNode:
        """Starts a raylet: the head if there is none yet, else a node that
        joins it. Takes ``num_cpus``, ``num_gpus``, ``resources``,
        ``object_store_memory``, ``memory``, ``node_ip_address``, ``port``."""
        unknown = sorted(set(node_args) - _NODE_ARGS - _IGNORED_ARGS)
        if unknown:
            raise TypeError(f"add_node() got unknown option(s): {', '.join(unknown)}")
        head = self.head_node is None
        return self._start_node(head, wait, node_args)

    def _start_node(self, head: bool, wait: bool, node_args: Dict[str, Any],
                    session_dir: Optional[str] = None) -> ClusterNode:
        memory = node_args.get("memory", node_args.get("_memory"))
        raylet = node_module.start_raylet(
            num_cpus=node_args.get("num_cpus", 1), num_gpus=node_args.get("num_gpus"),
            resources=node_args.get("resources"),
            object_store_memory=node_args.get("object_store_memory", _DEFAULT_STORE),
            memory=memory, driver_pid=None, head=head,
            address=None if head else self.address, token=self._token,
            port=node_args.get("port", 0), node_ip_address=node_args.get("node_ip_address"),
            node_timeout_ms=node_args.get("node_timeout_ms"),
            infeasible_grace_ms=node_args.get("infeasible_grace_ms"),
            gcs_storage=node_args.get("gcs_storage"),
            gcs_reconnect_timeout_s=node_args.get("gcs_reconnect_timeout_s"),
            session_dir=session_dir)
        node = ClusterNode(raylet, head)
        if head:
            self.head_node = node
            self._head_args = dict(node_args)
            try:
                raylet.wait_ready()
                self._token = (Path(raylet.session_dir) / "cluster_token").read_text().strip()
            except BaseException:
                self.head_node = None
                raylet.stop()
                raise
        else:
            self.worker_nodes.append(node)
            if wait:
                raylet.wait_ready()
        return node

    def restart_head(self) -> ClusterNode:
        """Starts the head again after it died (``head_node.kill(allow_graceful=
        False)``): on the same port, over the same GCS storage and session
        dir, with the same token, so that the nodes waiting for it register
        again and the named actors, placement groups, jobs and KV it kept are
        still there. Returns the new head node (also ``head_node``)."""
        old = self.head_node
        if old is None:
            raise RuntimeError("the cluster never had a head: call add_node() first")
        if old.alive():
            raise RuntimeError(f"the head (pid {old.pid}) still runs: kill it first "
                               "(head_node.kill(allow_graceful=False))")
        args = dict(self._head_args)
        args["port"] = int(old.address.rpartition(":")[2])
        args.setdefault("node_ip_address", old.address.rpartition(":")[0])
        # The dead head's record would pass for the new one's.
        (Path(old.session_dir) / "raylet.ready").unlink(missing_ok=True)
        return self._start_node(True, True, args, session_dir=old.session_dir)

    def remove_node(self, node: ClusterNode, allow_graceful: bool = True) -> None:
        """Stops a node; removing the head stops the cluster's GCS."""
        node.kill(allow_graceful)
        if node is self.head_node:
            self.head_node = None
        elif node in self.worker_nodes:
            self.worker_nodes.remove(node)

    def list_all_nodes(self) -> List[ClusterNode]:
        return ([self.head_node] if self.head_node else []) + list(self.worker_nodes)

    def wait_for_nodes(self, timeout: float = 30) -> None:
        """Blocks until every node added is up and in the GCS's view."""
        deadline = time.monotonic() + timeout
        for node in self.list_all_nodes():
            node._raylet.wait_ready(max(0.0, deadline - time.monotonic()))

    def connect(self, namespace: Optional[str] = None, **init_args: Any):
        """``flare.init()`` this process as a driver of the cluster."""
        context = runtime.init(address=self.address, namespace=namespace, **init_args)
        self._connected = True
        return context

    def shutdown(self) -> None:
        """Disconnects this driver (if connect() did) and stops every node."""
        if self._connected:
            runtime.shutdown()
            self._connected = False
        for node in reversed(self.list_all_nodes()):
            node.kill(allow_graceful=True)
        self.worker_nodes = []
        self.head_node = None
