"""The runtime of this process: init (starting a local raylet or joining
one), shutdown, and the session that the first call needing one starts
(auto-init, as in Ray)."""

from __future__ import annotations

import atexit
import os
import pickle
import sys
import threading
import time
from typing import Any, Dict, Optional

from flare import _core, context, exceptions
from flare._private import node as node_module
from flare._private import runtime_env as runtime_env_module
from flare._private import serialization, state, working_dir


def is_initialized() -> bool:
    return state.session is not None


def init(address: Optional[str] = None, *, num_cpus: Optional[float] = None,
         num_gpus: Optional[float] = None, resources: Optional[Dict[str, float]] = None,
         object_store_memory: Optional[int] = None, log_to_driver: bool = True,
         ignore_reinit_error: bool = False, namespace: Optional[str] = None,
         _memory: Optional[int] = None, **unsupported: Any) -> context.FlareContext:
    """Connects this process to flare, starting a local node unless joining one.

    With no ``address`` a head raylet is started for this driver and stopped
    at shutdown() or when the driver exits. ``address="auto"`` joins the node
    started by ``flare start --head``; a path joins the raylet listening on
    that Unix socket. ``_memory`` sets the node's ``memory`` resource in
    bytes (default: available memory less the object store, as in Ray).
    """
    with state.lock:
        if state.session is not None:
            if ignore_reinit_error:
                return _context(state.session)
            raise RuntimeError("flare.init() was already called in this process; "
                               "call flare.shutdown() first or pass ignore_reinit_error=True")
        job_env = runtime_env_module.validate(unsupported.pop("runtime_env", None), "init()",
                                              job_level=True)
        # The setup hook runs once per worker (from the job's config); the
        # rest is what every task of the job inherits.
        setup_hook = (job_env or {}).get(runtime_env_module.SETUP_HOOK)
        if setup_hook is not None:
            job_env = {k: v for k, v in job_env.items() if k != runtime_env_module.SETUP_HOOK}
            job_env = runtime_env_module.validate(job_env or None, "init()")
            if callable(setup_hook):
                setup_hook = serialization.dumps_function(setup_hook)
        _check_init_options(num_cpus, num_gpus, resources, object_store_memory, _memory,
                            unsupported)
        # Packed before any process starts, so a directory that is too
        # large fails here; stored in the GCS once connected.
        package = runtime_env_module.pack_working_dir(job_env, "init()")
        try:
            return _start(address, num_cpus, num_gpus, resources, object_store_memory, _memory,
                          log_to_driver, namespace, job_env, setup_hook, package)
        finally:
            if package is not None:
                package.close()


def _start(address, num_cpus, num_gpus, resources, object_store_memory, memory, log_to_driver,
           namespace, job_env, setup_hook, package) -> context.FlareContext:
    """init() past the checks: starts or joins a node and connects."""
    address = address or os.environ.get("FLARE_ADDRESS") or os.environ.get("RAY_ADDRESS")
    raylet = None
    if address is None or address == "local":
        raylet = node_module.start_raylet(
            num_cpus=num_cpus if num_cpus is not None else float(os.cpu_count() or 1),
            num_gpus=num_gpus, resources=resources, memory=memory,
            object_store_memory=object_store_memory, driver_pid=os.getpid())
        socket_path = raylet.socket_path
    else:
        if any(v is not None
               for v in (num_cpus, num_gpus, resources, object_store_memory, memory)):
            raise ValueError("num_cpus, num_gpus, resources, object_store_memory and _memory "
                             "describe a "
                             "new node; they cannot be given when joining an existing one "
                             f"(address={address!r})")
        socket_path = _resolve_address(address)
    if namespace is not None and (not isinstance(namespace, str) or not namespace):
        raise ValueError(f"init(namespace=...) must be a non-empty string, got {namespace!r}")
    # Without a namespace each job gets an anonymous one, as in Ray: its
    # named actors are not visible to other jobs.
    namespace = namespace or "anonymous-" + os.urandom(8).hex()
    # The job's record in the GCS job table carries this config and the
    # namespace; workers read both before running the job's tasks.
    job_config = pickle.dumps({"sys_path": [p for p in sys.path if p], "cwd": os.getcwd(),
                               "setup_hook": setup_hook})
    try:
        core = _connect(socket_path, raylet, log_to_driver, job_config, namespace)
        if package is not None:
            working_dir.upload(core, package)
    except BaseException:
        core = None  # the traceback keeps this frame: let the connection go now
        if raylet is not None:
            raylet.stop()
        raise
    session = state.Session(core, "driver", state.next_generation(), raylet)
    session.context.job_id = core.job_id
    session.socket_path = socket_path
    session.namespace = namespace
    if package is not None:
        session.shipped_working_dirs[(job_env["working_dir"],
                                      tuple(job_env.get("excludes", ())))] = package.uri
        job_env = runtime_env_module.with_uri(job_env, package.uri)
    session.runtime_env = job_env
    state.session = session
    if log_to_driver:
        session.log_thread = threading.Thread(target=_print_worker_logs, args=(session,),
                                              name="flare-logs", daemon=True)
        session.log_thread.start()
    return _context(session)


def _context(session: state.Session) -> context.FlareContext:
    info = context.address_info(session.node_id.hex(), session.core.session_dir,
                                session.socket_path)
    return context.FlareContext(info, shutdown)


# Resources every node has, set by their own init() arguments (as in Ray).
_BUILTIN_RESOURCES = {"CPU": "num_cpus", "GPU": "num_gpus", "memory": "_memory",
                      "object_store_memory": "object_store_memory"}


def _check_init_options(num_cpus, num_gpus, resources, object_store_memory, memory,
                        unsupported) -> None:
    ignored = {"include_dashboard", "dashboard_host", "dashboard_port", "configure_logging",
               "logging_level", "log_to_driver", "_temp_dir", "local_mode",
               "_system_config", "object_spilling_directory", "_node_ip_address"}
    unknown = sorted(set(unsupported) - ignored)
    if unknown:
        raise TypeError(f"init() got unknown option(s): {', '.join(unknown)}")
    for name, value in (("num_cpus", num_cpus), ("num_gpus", num_gpus)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or value < 0):
            raise ValueError(f"init({name}=...) must be a non-negative number, got {value!r}")
    if resources is not None:
        if not isinstance(resources, dict):
            raise TypeError(f"init(resources=...) must be a dict, got {type(resources).__name__}")
        for key, value in resources.items():
            if key in _BUILTIN_RESOURCES:
                raise ValueError(f"{key!r} is not a custom resource: use "
                                 f"init({_BUILTIN_RESOURCES[key]}=...) instead of resources")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"resource {key!r} must be a non-negative number, got {value!r}")
    for name, value in (("object_store_memory", object_store_memory), ("_memory", memory)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value <= 0):
            raise ValueError(f"init({name}=...) must be a positive number of bytes, "
                             f"got {value!r}")


def _resolve_address(address: str) -> str:
    """The local raylet socket for ``address``: 'auto' (the node 'flare start'
    ran here), a socket path, or the head's 'host:port'."""
    if address == "auto":
        info = node_module.read_cluster_file()
        if info is None or not os.path.exists(info.get("socket", "")):
            raise exceptions.FlareConnectionError("no running flare node found for address='auto': "
                                              "start one with 'flare start --head'")
        if not node_module.is_raylet_of(int(info.get("pid", 0)), info.get("session_dir", "")):
            # A node that ended without cleaning up: say so now, not after retries.
            raise exceptions.FlareConnectionError(
                f"no flare node is running for address='auto': the node recorded in "
                f"{node_module.cluster_file()} (pid {info.get('pid')}) has exited; start one with "
                "'flare start --head'")
        return info["socket"]
    if os.path.exists(address):
        return address
    for prefix in ("ray://", "flare://"):
        if address.startswith(prefix):
            address = address[len(prefix):]
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise exceptions.FlareConnectionError(
            f"cannot reach a flare node at {address!r}: give 'auto', the head's 'host:port' "
            "or the path of a raylet socket")
    record = node_module.find_local_node(address)
    if record is None:
        raise exceptions.FlareConnectionError(
            f"no flare node of the cluster at {address} runs on this machine: start one with "
            f"'flare start --address {address} --token TOKEN' (a driver talks to its own "
            "machine's node)")
    return record["socket"]


def _connect(socket_path: str, raylet, log_to_driver: bool, job_config: bytes, namespace: str):
    deadline = time.monotonic() + 15
    while True:
        try:
            return _core.CoreClient.connect(socket_path, "driver", "", log_to_driver,
                                            job_config, 500, namespace)
        except exceptions.RayletDiedError as error:
            if raylet is not None and not raylet.alive():
                raise exceptions.RayletDiedError(
                    f"flare-raylet exited during start-up (code {raylet.process.returncode}):\n"
                    f"{raylet.log_tail()}") from None
            if time.monotonic() > deadline:
                raise exceptions.RayletDiedError(f"cannot connect to the raylet: {error}") from None


def _print_worker_logs(session: state.Session) -> None:
    core = session.core
    while not session.stopping.is_set():
        try:
            batches = core.next_logs(-1)  # until output comes, or stop_logs at shutdown
        except Exception:  # noqa: BLE001 - the raylet went away
            return
        for prefix, is_stderr, lines in batches:
            stream = sys.stderr if is_stderr else sys.stdout
            try:
                stream.write("".join(f"{prefix} {line}\n" for line in lines))
                stream.flush()
            except (ValueError, OSError):  # closed stream at exit
                return


def shutdown() -> None:
    """Disconnects; stops the node if this driver started it."""
    with state.lock:
        session = state.session
        if session is None:
            return
        state.session = None
        session.stopping.set()
        if session.log_thread is not None:
            # Let output that is already on its way reach the terminal.
            try:
                for prefix, is_stderr, lines in session.core.next_logs(50):
                    stream = sys.stderr if is_stderr else sys.stdout
                    stream.write("".join(f"{prefix} {line}\n" for line in lines))
            except Exception:  # noqa: BLE001
                pass
            session.core.stop_logs()
            session.log_thread.join(timeout=2)
        if session.resolver is not None:
            session.resolver.stop()
        session.core = None
        if session.node is not None:
            session.node.stop()


atexit.register(shutdown)


def session() -> state.Session:
    """The session, started as init() would be if there is none yet, unless
    FLARE_AUTO_INIT (or RAY_ENABLE_AUTO_CONNECT) switches that off."""
    current = state.session
    if current is None:
        if os.environ.get("FLARE_AUTO_INIT", os.environ.get("RAY_ENABLE_AUTO_CONNECT", "1")) \
                in ("0", "false", "False"):
            raise exceptions.FlareError("flare is not initialized: call flare.init() first")
        init(ignore_reinit_error=True)
        current = state.current()
    return current
