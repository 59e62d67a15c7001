"""The runtime as a whole: start-up, logs, shutdown, the CLI and dead raylets."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

import flare
from flare import exceptions

from conftest import NEVER, any_alive, children_of, raylet_pids, run_script, start_driver, wait_for


def test_worker_output_reaches_the_driver_with_a_prefix():
    result = run_script("""
        import flare
        flare.init(num_cpus=1)
        @flare.remote
        def shout(x):
            print("hello", x)
            return x
        flare.get(shout.remote(7))
        flare.shutdown()
    """)
    assert result.returncode == 0, result.stderr
    assert "(shout pid=" in result.stdout
    assert "hello 7" in result.stdout


def test_log_to_driver_false_mutes_worker_output():
    result = run_script("""
        import flare
        flare.init(num_cpus=1, log_to_driver=False)
        @flare.remote
        def shout():
            print("should not appear")
        flare.get(shout.remote())
        flare.shutdown()
    """)
    assert result.returncode == 0, result.stderr
    assert "should not appear" not in result.stdout


def test_shutdown_stops_the_raylet_and_its_workers(fresh_flare):
    before = raylet_pids()
    info = fresh_flare()
    session_dir = info["session_dir"]
    started = raylet_pids() - before
    assert len(started) == 1
    flare.shutdown()
    assert not (raylet_pids() & started)
    assert not os.path.exists(os.path.join(session_dir, "raylet.sock"))


def test_init_then_shutdown_then_init_again_works(fresh_flare):
    fresh_flare()
    ref = flare.put(1)
    flare.shutdown()
    del ref  # a ref from the previous session is harmless
    fresh_flare()
    assert flare.get(flare.put(2)) == 2


def test_init_returns_a_context_with_rays_fields(fresh_flare):
    ctx = fresh_flare()
    assert ctx.ray_version == flare.__version__
    assert ctx.python_version == "{}.{}.{}".format(*sys.version_info[:3])
    assert ctx.dashboard_url is None  # flare has no dashboard
    info = ctx.address_info
    assert {"node_ip_address", "raylet_ip_address", "redis_address", "gcs_address",
            "object_store_address", "raylet_socket_name", "webui_url", "session_dir",
            "metrics_export_port", "node_id"} <= set(info)
    assert info["node_id"] == ctx.node_id == flare.get_runtime_context().get_node_id()
    assert ctx["session_dir"] == ctx.session_dir and os.path.isdir(ctx.session_dir)
    assert dict(ctx) == info
    assert flare.init(ignore_reinit_error=True).address_info == info
    joined = run_script(f"""
        import flare
        flare.init(address={info["gcs_address"]!r})
        print(flare.get(flare.put("joined")))
    """)
    assert joined.stdout.strip() == "joined", joined.stderr


def test_init_as_a_context_manager_shuts_down_at_the_end_of_the_block(fresh_flare):
    with fresh_flare() as ctx:
        assert flare.is_initialized()
        assert flare.get(flare.put(ctx.node_id)) == ctx.node_id
    assert not flare.is_initialized()
    with pytest.raises(ZeroDivisionError):
        with fresh_flare():
            1 / 0
    assert not flare.is_initialized()
    fresh_flare().disconnect()
    assert not flare.is_initialized()


def test_killed_driver_takes_its_raylet_and_workers_down():
    before = raylet_pids()
    process = start_driver("""
        import time, flare
        flare.init(num_cpus=2)
        print(flare.nodes()[0]["RayletSocketName"], flush=True)
        time.sleep(60)
    """, stderr=None)
    shm_before = set(os.listdir("/dev/shm"))
    try:
        socket_path = process.stdout.readline().strip()
        assert os.path.exists(socket_path)
        started = raylet_pids() - before
        assert started
        workers = set().union(*(children_of(pid) for pid in started))
        process.send_signal(signal.SIGKILL)
        process.wait()
        wait_for(lambda: not (raylet_pids() & started or any_alive(workers)))
        assert not raylet_pids() & started, "the raylet outlived its driver"
        assert not any_alive(workers), "workers outlived their raylet"
        assert not os.path.exists(socket_path), "the raylet's socket file was left behind"
        assert set(os.listdir("/dev/shm")) <= shm_before, "a shared-memory segment was left"
    finally:
        if process.poll() is None:
            process.kill()


def _kill_the_raylet_under_a_running_task():
    """SIGKILLs this driver's raylet while a task runs; a get of it must raise
    RayletDiedError, not GetTimeoutError: it does not wait for a result that
    cannot come."""
    from flare._private import state

    @flare.remote
    def slow():
        time.sleep(600)

    ref = slow.remote()
    os.kill(state.session.node.pid, signal.SIGKILL)
    with pytest.raises(exceptions.RayletDiedError):
        flare.get(ref, timeout=60)


def test_raylet_killed_under_a_driver_gives_a_clear_error_not_a_hang(fresh_flare):
    fresh_flare()
    _kill_the_raylet_under_a_running_task()
    with pytest.raises(exceptions.RayletDiedError):
        flare.put(1)


def test_cli_start_status_stop_and_join_with_auto(tmp_path):
    env = dict(os.environ)
    flare_cli = [sys.executable, "-m", "flare.scripts"]
    start = subprocess.run(flare_cli + ["start", "--head", "--num-cpus", "2"], capture_output=True,
                           text=True, timeout=30, env=env)
    assert start.returncode == 0, start.stderr
    try:
        status = subprocess.run(flare_cli + ["status"], capture_output=True, text=True,
                                timeout=30, env=env)
        assert status.returncode == 0, status.stderr
        assert "CPU: 2 / 2" in status.stdout
        # Two drivers on the same head; the first leaving does not disturb the second.
        first = run_script("""
            import flare
            flare.init(address="auto")
            @flare.remote
            def f(x):
                return x + 1
            assert flare.get(f.remote(1)) == 2
            flare.shutdown()
            print("first ok")
        """)
        assert first.returncode == 0, first.stderr
        second = run_script("""
            import flare
            flare.init(address="auto")
            @flare.remote
            def f(x):
                return x * 3
            assert flare.get([f.remote(i) for i in range(10)]) == [i * 3 for i in range(10)]
            print(flare.cluster_resources()["CPU"])
        """)
        assert second.returncode == 0, second.stderr
        assert "2.0" in second.stdout
    finally:
        stop = subprocess.run(flare_cli + ["stop"], capture_output=True, text=True, timeout=30,
                              env=env)
    assert stop.returncode == 0, stop.stderr
    assert "stopped" in stop.stdout


def test_init_address_auto_without_a_node_is_a_clear_error(tmp_path):
    from flare._private import node
    if node.read_cluster_file():
        pytest.skip("a flare node is running")
    result = run_script("""
        import flare
        try:
            flare.init(address="auto")
        except ConnectionError as error:
            print("error:", error)
    """)
    assert "flare start --head" in result.stdout


def test_raylet_help_documents_every_flag():
    from flare._private.node import raylet_binary
    result = subprocess.run([raylet_binary(), "--help"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 0
    for flag in ("--head", "--num-cpus", "--num-gpus", "--resources", "--object-store-memory",
                 "--session-dir"):
        assert flag in result.stdout
    bad = subprocess.run([raylet_binary(), "--bogus"], capture_output=True, text=True, timeout=10)
    assert bad.returncode != 0 and "--bogus" in bad.stderr


def test_raylet_that_is_neither_head_nor_joining_refuses_to_start(tmp_path):
    from flare._private.node import raylet_binary
    result = subprocess.run([raylet_binary(), "--session-dir", str(tmp_path), "--num-cpus", "1"],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode != 0
    assert "--head" in result.stderr and "--address" in result.stderr, result.stderr
    assert not (tmp_path / "raylet.ready").exists()


def test_first_use_starts_flare_as_in_ray_unless_switched_off():
    program = """
        import flare

        @flare.remote
        def double(x):
            return 2 * x

        print(flare.get(double.remote(21)), flare.is_initialized())
    """
    started = run_script(program)
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["42", "True"]
    switched_off = run_script(program, env=dict(os.environ, FLARE_AUTO_INIT="0"))
    assert switched_off.returncode != 0
    assert "call flare.init() first" in switched_off.stderr


def _descriptors():
    """What this process holds open (fds that close while listed are skipped)."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            held.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass
    return held


def test_a_worker_holds_only_its_own_connections_however_many_came_before(fresh_flare):
    fresh_flare()

    @flare.remote(num_cpus=0)
    class Probe:
        def sockets(self):
            return sum(1 for target in _descriptors() if target.startswith("socket:"))

    first = Probe.remote()
    baseline = flare.get(first.sockets.remote(), timeout=60)
    others = [Probe.remote() for _ in range(12)]
    counts = flare.get([probe.sockets.remote() for probe in others], timeout=60)
    # Each worker started after more clients connected; none inherited them.
    assert counts == [baseline] * len(others)


def test_a_dead_raylet_is_noticed_while_a_task_s_forked_child_lives_on(fresh_flare):
    fresh_flare()

    @flare.remote
    def fork_a_child():
        child = os.fork()
        if child == 0:  # outlives its worker, holding whatever it inherited
            time.sleep(120)
            os._exit(0)
        return child

    child = flare.get(fork_a_child.remote(), timeout=60)
    try:
        _kill_the_raylet_under_a_running_task()
    finally:
        os.kill(child, signal.SIGKILL)


def test_a_stale_cluster_file_fails_auto_at_once_and_stop_leaves_a_reused_pid_alone(tmp_path):
    # The node recorded for address='auto' ended without cleaning up: its
    # socket file is still there, its pid is gone (or now someone else's).
    env = dict(os.environ, TMPDIR=str(tmp_path))
    root = tmp_path / f"flare-{os.getuid()}"
    root.mkdir(mode=0o700)
    socket_file = root / "raylet.sock"
    socket_file.write_text("")
    dead = subprocess.Popen(["true"])
    dead.wait()
    bystander = subprocess.Popen(["sleep", "60"])  # a live pid that is no raylet
    try:
        for pid in (dead.pid, bystander.pid):
            record = {"socket": str(socket_file), "pid": pid, "session_dir": str(tmp_path),
                      "gcs_address": "127.0.0.1:1", "head": "1"}
            (root / "flare_current_cluster").write_text(json.dumps(record))
            joined = subprocess.run([sys.executable, "-c", "import flare; flare.init(address='auto')"],
                                    capture_output=True, text=True, env=env, timeout=60)
            assert joined.returncode != 0
            assert "has exited" in joined.stderr, joined.stderr
        stop = subprocess.run([sys.executable, "-m", "flare.scripts", "stop"], capture_output=True,
                              text=True, env=env, timeout=60)
        assert "left alone" in stop.stdout, stop.stdout
        assert bystander.poll() is None, "flare stop signalled a process that is not its raylet"
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.parametrize("hostile", ["open to all", "another user's"])
def test_a_flare_directory_others_control_is_refused_naming_it(tmp_path, hostile):
    # Someone else made this user's flare directory first (or left it open):
    # nothing in it may be trusted, so nothing starts.
    root = tmp_path / f"flare-{os.getuid()}"
    root.mkdir()
    if hostile == "open to all":
        os.chmod(root, 0o777)
    else:
        if os.getuid() != 0:
            pytest.skip("needs root to give the directory to another user")
        os.chown(root, 65534, 65534)
        os.chmod(root, 0o700)
    env = dict(os.environ, TMPDIR=str(tmp_path))
    started = subprocess.run([sys.executable, "-c", "import flare; flare.init(num_cpus=1)"],
                             capture_output=True, text=True, env=env, timeout=60)
    assert started.returncode != 0
    assert "is not a private directory of this user" in started.stderr, started.stderr
    assert str(root) in started.stderr
    assert not list(root.iterdir()), "nothing was written into it"


def test_old_sessions_of_exited_nodes_are_pruned_and_live_or_recent_ones_kept(tmp_path):
    from flare._private import node as node_module
    root = tmp_path / "root"
    root.mkdir()
    old = time.time() - 3600

    def session(name, ready_pid=None, mtime=old):
        path = root / f"session_{name}"
        path.mkdir()
        if ready_pid is not None:
            (path / "raylet.ready").write_text(f"pid={ready_pid}\ngcs_address=127.0.0.1:1\n")
        os.utime(path, (mtime, mtime))
        return path

    dead = subprocess.Popen(["true"])
    dead.wait()
    exited = [session(f"exited{i}", dead.pid, old - i) for i in range(5)]
    kept_newest = [session(f"newest{i}", dead.pid, time.time() - i) for i in range(2)]
    starting = session("starting", None, time.time() - 5 - 2)  # no ready record yet
    never_ready = session("never_ready", None, old - 100)
    bystander = subprocess.Popen(["sleep", "60"])  # alive, but no raylet
    try:
        reused = session("reused_pid", bystander.pid, old - 50)
        node_module.prune_sessions(root, keep=2)
    finally:
        bystander.kill()
        bystander.wait()
    left = {path.name for path in root.iterdir()}
    assert {path.name for path in kept_newest} <= left, "the newest are kept for their logs"
    assert starting.name in left, "a session without a ready record may be starting"
    assert not any(path.name in left for path in exited)
    assert never_ready.name not in left and reused.name not in left


def test_a_raylet_out_of_descriptors_refuses_new_clients_instead_of_spinning(tmp_path):
    """Past its descriptor limit the raylet closes the connections it cannot
    take (a client sees its connection close, it does not hang), says so once
    in its log, and takes clients again once some have gone."""
    import resource
    import socket

    from flare._private import node as node_module

    worker = tmp_path / "worker.sh"  # workers that never register: no Python
    worker.write_text("#!/bin/sh\nexec sleep 60\n")
    worker.chmod(0o700)
    log = tmp_path / "raylet.err"

    def few_descriptors():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    with open(log, "w") as err:
        raylet = subprocess.Popen(
            [node_module.raylet_binary(), "--head", "--port", "0", "--session-dir", str(tmp_path),
             "--num-cpus", "0", "--python", str(worker)],
            preexec_fn=few_descriptors, stderr=err)
    held = []
    try:
        assert wait_for(lambda: (tmp_path / "raylet.ready").exists(), NEVER)
        for _ in range(100):  # far more than 64 descriptors hold
            client = socket.socket(socket.AF_UNIX)
            client.settimeout(NEVER)
            client.connect(str(tmp_path / "raylet.sock"))
            held.append(client)
        assert held[-1].recv(1) == b"", "the last client is refused, not left hanging"
        assert wait_for(lambda: "refusing new local clients" in log.read_text(), NEVER)
        assert "limit 64" in log.read_text()
        for client in held:
            client.close()
        held.clear()
        assert wait_for(lambda: _connects_and_is_kept(tmp_path / "raylet.sock"), NEVER)
        assert wait_for(lambda: "accepting local clients again" in log.read_text(), NEVER)
        assert raylet.poll() is None
    finally:
        for client in held:
            client.close()
        raylet.terminate()
        raylet.wait(timeout=NEVER)


def _connects_and_is_kept(path) -> bool:
    """A new client is accepted and its connection stays open."""
    import socket

    client = socket.socket(socket.AF_UNIX)
    try:
        client.connect(str(path))
        client.settimeout(0.2)
        try:
            return client.recv(1) != b""
        except socket.timeout:
            return True  # open, and nothing said: kept
    finally:
        client.close()


def _as_nobody():
    """The command prefix that runs as another user (65534), or None."""
    setpriv = shutil.which("setpriv")
    if os.getuid() != 0 or setpriv is None:
        return None
    prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run(prefix + [sys.executable, "-c", "import flare"], capture_output=True,
                           timeout=60)
    return prefix if probe.returncode == 0 else None


def test_another_user_neither_finds_nor_reaches_nor_stops_this_users_node():
    """Two users share a temp directory: each has a private flare directory,
    so the second user's `auto` does not find the first's node, cannot reach
    its socket, starts a node of its own beside it, and its `flare stop`
    leaves the first user's node running."""
    nobody = _as_nobody()
    if nobody is None:
        pytest.skip("needs root, setpriv and a flare that user 65534 can import")
    shared = tempfile.mkdtemp(prefix="flare-two-users-")
    os.chmod(shared, 0o1777)
    env = dict(os.environ, TMPDIR=shared)
    cli = [sys.executable, "-m", "flare.scripts"]

    def run(prefix, args, **kwargs):
        return subprocess.run(prefix + args, capture_output=True, text=True, timeout=60, env=env,
                              cwd=shared, **kwargs)

    started = run([], cli + ["start", "--head", "--num-cpus", "1"])
    assert started.returncode == 0, started.stderr
    try:
        mine = os.path.join(shared, f"flare-{os.getuid()}")
        assert stat.S_IMODE(os.stat(mine).st_mode) == 0o700
        sockets = [os.path.join(root, name) for root, _, names in os.walk(mine)
                   for name in names if name == "raylet.sock"]
        assert sockets, "this user's node has its socket in its own directory"

        found = run(nobody, [sys.executable, "-c", "import flare; flare.init(address='auto')"])
        assert found.returncode != 0
        assert "no running flare node found" in found.stderr, found.stderr
        reach = run(nobody, [sys.executable, "-c", textwrap.dedent(f"""
            import socket
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect({sockets[0]!r})
            except PermissionError:
                print("refused")
        """)])
        assert "refused" in reach.stdout, reach.stdout + reach.stderr

        theirs = run(nobody, cli + ["start", "--head", "--num-cpus", "1"])
        assert theirs.returncode == 0, theirs.stderr
        stopped = run(nobody, cli + ["stop"])
        assert stopped.returncode == 0, stopped.stderr
        assert os.path.isdir(os.path.join(shared, "flare-65534"))

        still = run([], [sys.executable, "-c", textwrap.dedent("""
            import flare
            flare.init(address="auto")
            print(flare.get(flare.remote(lambda: "alive").remote()))
        """)])
        assert "alive" in still.stdout, still.stderr
    finally:
        run([], cli + ["stop"])
        subprocess.run(nobody + cli + ["stop"], capture_output=True, timeout=60, env=env,
                       cwd=shared)
        shutil.rmtree(shared, ignore_errors=True)
