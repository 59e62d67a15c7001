"""The ``flare`` command: start, stop and inspect long-lived nodes."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import List, Optional

import flare
from flare._private import node as node_module


def _start(args: argparse.Namespace) -> int:
    if args.head == bool(args.address):
        print("flare start: give --head (the cluster's first node) or --address HOST:PORT "
              "(the head to join)", file=sys.stderr)
        return 2
    if args.address and not args.token:
        print("flare start: joining needs --token (the head printed it when it started)",
              file=sys.stderr)
        return 2
    existing = node_module.read_cluster_file()
    if args.head and existing and node_module.is_raylet_of(int(existing.get("pid", 0)),
                                                           existing.get("session_dir", "")):
        print(f"flare start: a flare node is already running here (pid {existing['pid']}); "
              "run 'flare stop' first", file=sys.stderr)
        return 1
    resources = json.loads(args.resources) if args.resources else None
    raylet = node_module.start_raylet(num_cpus=args.num_cpus, num_gpus=args.num_gpus,
                                      resources=resources,
                                      object_store_memory=args.object_store_memory,
                                      memory=args.memory, driver_pid=None, head=args.head,
                                      address=args.address, token=args.token,
                                      port=args.port, node_ip_address=args.node_ip_address,
                                      gcs_storage=args.gcs_storage,
                                      gcs_reconnect_timeout_s=args.gcs_reconnect_timeout_s)
    try:
        ready = raylet.wait_ready(timeout=15)
    except RuntimeError as error:
        print(f"flare start: the node did not start: {error}", file=sys.stderr)
        return 1
    node_module.add_to_cluster_file(raylet.socket_path, raylet.pid, raylet.session_dir,
                                    ready["gcs_address"])
    if args.head:
        token = (Path(raylet.session_dir) / "cluster_token").read_text().strip()
        print(f"flare head node started (pid {raylet.pid}) at {ready['gcs_address']}")
        print(f"  session dir: {raylet.session_dir}")
        storage = args.gcs_storage or os.path.join(raylet.session_dir, "gcs.sqlite")
        print(f"  GCS storage: {storage}")
        print("  after a crash, restart it where it was with:")
        print(f"    flare start --head --port {ready['gcs_address'].rpartition(':')[2]} "
              f"--gcs-storage {storage}")
        print("  join another machine with:")
        print(f"    flare start --address {ready['gcs_address']} --token {token}")
        print("  connect a driver with: flare.init(address='auto')")
    else:
        print(f"flare node started (pid {raylet.pid}) and joined {ready['gcs_address']}")
        print(f"  session dir: {raylet.session_dir}")
    print("  stop with:    flare stop")
    if args.block:
        try:
            raylet.process.wait()
        except KeyboardInterrupt:
            raylet.stop()
    return 0


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop(args: argparse.Namespace) -> int:
    info = node_module.read_cluster_file()
    if info is None:
        print("flare stop: no flare node is running")
        return 0
    for record in reversed(info.get("nodes", [info])):
        pid = int(record.get("pid", 0))
        if not _alive(pid):
            continue
        if not node_module.is_raylet_of(pid, record.get("session_dir", "")):
            print(f"flare stop: pid {pid} is no longer that node's raylet; left alone")
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        print(f"flare stop: stopped the node (pid {pid})")
    try:
        node_module.cluster_file().unlink()
    except OSError:
        pass
    return 0


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _status(args: argparse.Namespace) -> int:
    info = node_module.read_cluster_file()
    if info is None or not _alive(int(info.get("pid", 0))):
        print("flare status: no flare node is running (start one with 'flare start --head')")
        return 1
    flare.init(address="auto", log_to_driver=False)
    try:
        nodes = flare.nodes()
        total = flare.cluster_resources()
        available = flare.available_resources()
        stats = flare.object_store_stats()
    finally:
        flare.shutdown()
    alive = [node for node in nodes if node["Alive"]]
    print(f"nodes: {len(alive)} alive" + (f", {len(nodes) - len(alive)} dead"
                                          if len(nodes) > len(alive) else ""))
    for node in nodes:
        state = "dead" if not node["Alive"] else ("head" if node["IsHead"] else "alive")
        cpus = node["Resources"].get("CPU", 0)
        print(f"  {node['NodeID'][:12]}  {node['NodeManagerAddress']}:{node['NodeManagerPort']}"
              f"  {state:5}  CPU {cpus:g}  session {node['SessionDir']}")
    print("resources (available / total):")
    for name in sorted(total):
        if name == "object_store_memory":
            continue
        if name == "memory":
            print(f"  memory: {available.get(name, 0) / 2**30:.2f} / {total[name] / 2**30:.2f} GiB")
            continue
        print(f"  {name}: {available.get(name, 0):g} / {total[name]:g}")
    store_total = total.get("object_store_memory", 0)
    store_free = available.get("object_store_memory", 0)
    print(f"object stores: {(store_total - store_free) / 2**20:.1f} MiB used of "
          f"{store_total / 2**20:.1f} MiB on {len(alive)} node(s); this node's: "
          f"{stats['num_objects']} objects")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="flare", description="Manage flare nodes.")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start a node that outlives this shell")
    start.add_argument("--head", action="store_true", help="start the head node (with the GCS)")
    start.add_argument("--address", default=None, help="HOST:PORT of the head to join")
    start.add_argument("--token", default=None, help="the cluster token (joining)")
    start.add_argument("--port", type=int, default=0,
                       help="this node's port (default: any free one; the head's serves the GCS)")
    start.add_argument("--node-ip-address", default=None,
                       help="the address this node listens on and announces "
                            "(default 127.0.0.1: reachable from this machine only)")
    start.add_argument("--num-cpus", type=float, default=None)
    start.add_argument("--num-gpus", type=float, default=None)
    start.add_argument("--resources", default=None, help="JSON, e.g. '{\"accel\": 2}'")
    start.add_argument("--object-store-memory", type=int, default=None)
    start.add_argument("--memory", type=int, default=None,
                       help="bytes tasks and actors may reserve with memory= "
                            "(default: available memory less the object store)")
    start.add_argument("--gcs-storage", default=None, metavar="SPEC",
                       help="head: where the GCS keeps its state (nodes, jobs, named actors, "
                            "placement groups, KV, the cluster token), so that a head that "
                            "crashed comes back with it when started again with the same "
                            "--port and --gcs-storage: sqlite:///ABS/FILE, an absolute "
                            "directory (its gcs.sqlite) or file, redis://HOST:PORT[/PREFIX], "
                            "or 'memory' (default: gcs.sqlite in the head's session dir, "
                            "printed at start)")
    start.add_argument("--gcs-reconnect-timeout-s", type=float, default=None, metavar="S",
                       help="joining: when the head is down, the node keeps running its "
                            "tasks and actors and waits for it; a request that needs the "
                            "GCS waits this long before it fails "
                            "(default: $FLARE_GCS_RECONNECT_TIMEOUT_S, else 20)")
    start.add_argument("--block", action="store_true", help="stay in the foreground")
    start.set_defaults(handler=_start)
    stop = commands.add_parser("stop", help="stop the node started by 'flare start'")
    stop.set_defaults(handler=_stop)
    status = commands.add_parser("status", help="show nodes, resources and the object store")
    status.set_defaults(handler=_status)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
