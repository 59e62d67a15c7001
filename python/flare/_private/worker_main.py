"""The worker process: runs tasks the raylet sends it, one at a time.

Started by the raylet's worker pool as ``python -m flare._private.worker_main``
with FLARE_RAYLET_SOCKET and FLARE_WORKER_ID in the environment.
"""

from __future__ import annotations

import inspect
import os
import pickle
import signal
import sys
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

import cloudpickle

from flare import _core
from flare._private import (objects, runtime_env, serialization, state, task_errors,
                            working_dir_cache)
from flare._private.protocol import generator_item_id, return_id
from flare._private.submission import resolve_args
from flare.actor import CONCURRENCY_GROUPS_KWARG, exit_actor, is_async_class, method_groups
from flare.exceptions import ActorExit, RayletDiedError, TaskCancelledError
from flare.generator import DynamicObjectRefGenerator
from flare.object_ref import ObjectRef


class _LogStream:
    """Replaces sys.stdout/stderr: lines go to the worker's log file and, with
    the running task's prefix, to the driver that submitted the task."""

    def __init__(self, original: Any, is_stderr: bool, runner: "TaskRunner") -> None:
        self._original = original
        self._is_stderr = is_stderr
        self._runner = runner
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._original.write(text)
        with self._lock:
            self._partial += text
            if "\n" not in self._partial:
                return len(text)
            *lines, self._partial = self._partial.split("\n")
        self._runner.forward_lines(lines, self._is_stderr)
        return len(text)

    def flush(self) -> None:
        self._original.flush()
        with self._lock:
            pending, self._partial = self._partial, ""
        if pending:
            self._runner.forward_lines([pending], self._is_stderr)

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._original.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._original, "encoding", "utf-8")

    def writable(self) -> bool:
        return True


def state_module() -> Any:
    return state


class StreamCancelled(BaseException):
    """A generator actor call was cancelled: it stops between two items."""


class TaskRunner:
    """Runs ExecuteTask messages on the main thread."""

    def __init__(self, core: Any, session: Any) -> None:
        self.core = core
        self.session = session
        self.functions: Dict[Tuple[str, Optional[str]], Callable] = {}
        self.jobs_seen: set = set()
        self.pid = os.getpid()
        self.interruptible = False  # the task's own code runs: a cancel may interrupt it
        self.instance: Any = None  # the actor this process hosts
        self.actor_label = ""  # its log prefix: the class's __repr__ if it has one, else its name
        self.actor_executor: Any = None  # runs its calls, unless one at a time on this thread
        self.cancelled_streams: set = set()  # running actor calls whose cancel arrived
        self.applied_env: Any = None  # the running task's runtime_env, undone after it
        # This node's copies of working_dir packages, under its session dir.
        self.working_dirs = working_dir_cache.NodeCopies(
            core, os.path.join(core.session_dir, "runtime_resources", "working_dir"))
        # Device k of the raylet's GPUs is the k-th one visible to it.
        self.original_cuda = os.environ.get("CUDA_VISIBLE_DEVICES")
        self.visible_gpus = [d for d in (self.original_cuda or "").split(",") if d.strip()]

    # -- output ------------------------------------------------------------
    def forward_lines(self, lines: List[str], is_stderr: bool) -> None:
        context = self.session.context
        job_id = context.job_id
        if not job_id or not lines:
            return
        prefix = f"({self.actor_label or context.function_name} pid={self.pid})"
        try:
            self.core.send_log_lines(job_id, prefix, is_stderr, lines)
        except Exception:  # noqa: BLE001 - the raylet is going away
            pass

    # -- execution -----------------------------------------------------------
    def function(self, key: str) -> Callable:
        # Per working_dir: a function pickled by reference to a module of the
        # working directory names the module, not its contents, and another
        # job may ship other contents under the same name.
        working_dir = (self.session.runtime_env or {}).get("working_dir")
        function = self.functions.get((key, working_dir))
        if function is None:
            pickled = self.core.kv_get(key, 30000)
            if pickled is None:
                raise RuntimeError(f"function {key} was not exported to the GCS")
            function = cloudpickle.loads(pickled)
            self.functions[(key, working_dir)] = function
        return function

    def enter_job(self, job_id: bytes) -> None:
        if job_id in self.jobs_seen:
            return
        self.jobs_seen.add(job_id)
        job = self.core.job_info(job_id, 30000)  # its record in the GCS job table
        if job is not None:
            state.job_namespaces[job_id] = job["namespace"]
            info = pickle.loads(job["config"]) if job["config"] else {}
            for path in reversed(info.get("sys_path", [])):
                if path not in sys.path:
                    sys.path.insert(0, path)
            if info.get("setup_hook") is not None:
                try:
                    runtime_env.run_setup_hook(info["setup_hook"])
                except BaseException:
                    self.jobs_seen.discard(job_id)  # the job's next task tries again
                    raise

    def run(self, task: Any) -> None:
        """Runs one task (a _core.ExecutedTask), or hands an actor call to
        the actor's executor."""
        if task.method_name and self.actor_executor is not None:
            self.actor_executor.submit(task)
            return
        self.run_now(task)

    def run_now(self, task: Any) -> None:
        task_id, job_id, function_name = task.task_id, task.job_id, task.function_name
        context = self.session.context
        context.task_id = task_id
        context.job_id = job_id
        context.function_name = function_name
        try:
            function, args, kwargs = self._begin(task)
            result = function(*args, **kwargs)
            del args, kwargs
            if inspect.iscoroutine(result):  # an async def task
                import asyncio
                result = asyncio.run(result)
            if task.streaming:
                result = self.stream(task_id, function_name, result)
            self.interruptible = False
            self._succeed(task, result)
        except StreamCancelled:
            self.cancelled(task)
        except BaseException as error:  # noqa: BLE001 - everything goes back to the caller
            self.interruptible = False
            self._fail(task, error)
        finally:
            self.interruptible = False
            context.function_name = function_name  # keep the prefix for late output
            context.task_id = b""
            self.cancelled_streams.discard(task_id)
            if self.applied_env is not None and self.instance is None:
                self.applied_env.undo()
                self.applied_env = None
                self.session.runtime_env = None

    def _begin(self, task: Any) -> Tuple[Callable, tuple, dict]:
        """What to call, with the task's arguments."""

        self.enter_job(task.job_id)
        resources = task.assigned_resources
        if resources is not None:  # None: an actor call, which uses the actor's
            self.session.assigned_resources = resources
            self.use_gpus(task.gpu_ids)
        if task.runtime_env is not None:  # a task's for its run, an actor's for its life
            env = pickle.loads(task.runtime_env)
            self.applied_env = runtime_env.Applied(env, self.working_dirs)
            self.session.runtime_env = env
        method = task.method_name
        if not task.actor_id:
            function = self.function(task.function_key)
            self.interruptible = True
            if self.core.take_cancel_request():  # cancelled before it started
                raise KeyboardInterrupt
        elif task.is_actor_creation:
            function = self._constructor(self.function(task.function_key), task)
        elif method == "__ray_terminate__" and not hasattr(self.instance, method):
            function = exit_actor
        elif method == "__ray_ready__" and not hasattr(self.instance, method):
            function = _actor_ready
        else:
            function = getattr(self.instance, method)
        payload = serialization.deserialize(task.args)
        values = [objects.value_or_raise(error, message, buffer)
                  for error, message, buffer in task.resolved]
        return (function, *resolve_args(payload, values))

    def _succeed(self, task: Any, result: Any) -> None:

        task_id, function_name, num_returns = task.task_id, task.function_name, task.num_returns
        returns: List[tuple] = []
        try:
            if num_returns == 0:
                outputs: List[Any] = []
            elif task.dynamic_returns:
                outputs = [self._dynamic_items(function_name, result)]
            elif num_returns == 1:
                outputs = [result]
            else:
                try:
                    outputs = list(result)
                except TypeError:
                    raise ValueError(f"{function_name} has num_returns={num_returns} but returned "
                                     f"a {type(result).__name__}, not a sequence") from None
                if len(outputs) != num_returns:
                    raise ValueError(f"{function_name} has num_returns={num_returns} but returned "
                                     f"{len(outputs)} values")
            del result
            for index, value in enumerate(outputs, start=1):
                object_id = return_id(task_id, index)
                kind, payload_out, refs = objects.store_value(self.core, object_id, value,
                                                          is_put=False)
                returns.append((object_id, kind, payload_out, refs))
        except BaseException as error:  # noqa: BLE001
            # Returns already written to the arena are dropped with the rest.
            for object_id, kind, _, _ in returns:
                if kind == "store":
                    self.core.abort(object_id)
            self._fail(task, error)
            return
        self._done(task_id, returns, False, False)

    def _dynamic_items(self, function_name: str, generator: Any) -> Any:
        """num_returns="dynamic": each value the generator yields becomes an
        object of its own; the task's one return holds their refs."""
        if not (inspect.isgenerator(generator) or isinstance(generator, (list, tuple))):
            raise TypeError(f"{function_name} has num_returns='dynamic' but returned a "
                            f"{type(generator).__name__}, not a generator")
        refs = []
        for value in generator:
            object_id = self.core.new_put_id()
            objects.store_value(self.core, object_id, value, is_put=True)
            refs.append(ObjectRef(object_id, _owned=True))
        return DynamicObjectRefGenerator(refs)

    def _fail(self, task: Any, error: BaseException) -> None:
        task_id, function_name, num_returns = task.task_id, task.function_name, task.num_returns
        if isinstance(error, SystemExit):
            self.exit_process(f"{function_name} called sys.exit({error.code!r})", error.code)
        if isinstance(error, ActorExit) and task.actor_id and self.instance is not None:
            self.exit_actor(task.actor_id)
        if task.is_actor_creation:
            # A constructor that raised: the actor is dead, and every call
            # will say why, with this traceback.
            self.instance = None
            self.actor_executor = None
        retryable = not task.actor_id and self._should_retry(error, task.retry_exceptions)
        failed = self._error_returns(task_id, num_returns, function_name, error,
                                     constructor=task.is_actor_creation)
        self._done(task_id, failed.returns, True, retryable)

    def _done(self, task_id: bytes, returns: List[tuple], application_error: bool,
              retryable: bool) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        self.core.task_done(task_id, returns, application_error, retryable)

    def stream(self, task_id: bytes, function_name: str, generator: Any) -> int:
        """Stores each value the generator yields as its next item, reporting
        it at once; an exception becomes the item after the last good one.
        Returns the number of items (the completion object's value)."""
        if inspect.isasyncgen(generator):  # an async generator task or sync-context call
            import asyncio
            return asyncio.run(self.stream_async(task_id, function_name, generator))
        if not inspect.isgenerator(generator):
            raise TypeError(f"{function_name} is a streaming generator task but returned a "
                            f"{type(generator).__name__}, not a generator")
        count = 0
        try:
            for value in generator:
                self._yield_item(task_id, count, value)
                del value
                count += 1
                self._check_stream_cancelled(task_id)
        except BaseException as error:  # noqa: BLE001 - it goes to the caller as an item
            self._yield_error(task_id, count, function_name, error)
            count += 1
        return count

    async def stream_async(self, task_id: bytes, function_name: str, generator: Any) -> int:
        """stream() for an async generator, on the running event loop: other
        coroutines run while it awaits between items."""
        count = 0
        try:
            async for value in generator:
                self._yield_item(task_id, count, value)
                del value
                count += 1
        except BaseException as error:  # noqa: BLE001 - it goes to the caller as an item
            self._yield_error(task_id, count, function_name, error)
            count += 1
        return count

    def _yield_item(self, task_id: bytes, index: int, value: Any) -> None:
        object_id = generator_item_id(task_id, index)
        kind, payload, refs = objects.store_value(self.core, object_id, value, is_put=False)
        self.core.generator_yield(task_id, [(object_id, kind, payload, refs)])

    def _yield_error(self, task_id: bytes, index: int, function_name: str,
                     error: BaseException) -> None:
        """The generator's exception as its last item. Leaving the actor, or
        a cancelled coroutine, is not the generator's error: it goes on up."""
        import asyncio
        if isinstance(error, (ActorExit, SystemExit, asyncio.CancelledError, StreamCancelled)):
            raise error
        failed = self._error_returns(task_id, 1, function_name, error,
                                     object_ids=[generator_item_id(task_id, index)])
        self.core.generator_yield(task_id, failed.returns)

    # -- actors ------------------------------------------------------------------
    def _constructor(self, cls: type, task: Any) -> Callable:
        """Creates the instance; from then on this process is the actor."""
        def construct(*args: Any, **kwargs: Any) -> None:
            groups = kwargs.pop(CONCURRENCY_GROUPS_KWARG, None) or {}
            self.instance = cls(*args, **kwargs)
            state.set_current_actor(task.actor_id, cls.__qualname__)
            self.actor_label = _actor_label(self.instance)
            self.core.become_actor()
            is_async = is_async_class(cls)
            max_concurrency = task.max_concurrency or 1
            lanes = Lanes(max_concurrency, groups, method_groups(cls))
            if is_async:
                self.actor_executor = AsyncExecutor(self, lanes)
            elif max_concurrency > 1 or groups:
                self.actor_executor = ThreadExecutor(self, lanes)
            return None
        return construct

    def use_gpus(self, devices: List[int]) -> None:
        """The GPU devices the task (or actor) was given: CUDA_VISIBLE_DEVICES
        names them while it runs, as in Ray, and get_gpu_ids() returns them."""
        ids = [self.visible_gpus[d] if d < len(self.visible_gpus) else str(d) for d in devices]
        self.session.gpu_ids = ids
        if ids:
            os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(ids)
        elif self.original_cuda is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = self.original_cuda

    def exit_actor(self, actor_id: bytes) -> None:
        """exit_actor() was called: the raylet fails this call and the rest,
        then this process ends the way a Python program does, running its
        atexit handlers (never returns)."""
        self._leave(lambda: self.core.kill_actor(actor_id, True, exiting=True), 0)

    def exit_process(self, reason: str, code: Any) -> None:
        """sys.exit() in a task or actor method ends this worker, as in Ray:
        the raylet treats it as the worker's death (a task is retried under
        max_retries, an actor restarts under max_restarts), naming ``reason``
        in the errors (never returns)."""
        status = code if isinstance(code, int) else (0 if code is None else 1)
        self._leave(lambda: self.core.worker_exiting(reason), status)

    def _leave(self, tell_raylet: Callable[[], None], status: int) -> None:
        import atexit
        try:
            tell_raylet()
            self.core.store_stats(2000)  # a round trip: the raylet has it
        except Exception:  # noqa: BLE001 - the raylet is gone: just leave
            pass
        try:
            atexit._run_exitfuncs()
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001
                    pass
            os._exit(status)

    def cancel_calls(self, task_ids: List[bytes]) -> None:
        # A generator call sees it between items; others are up to the executor.
        self.cancelled_streams.update(task_ids)
        if self.actor_executor is not None:
            self.actor_executor.cancel(task_ids)

    def _check_stream_cancelled(self, task_id: bytes) -> None:
        """Between two items of an actor's generator call: a cancel stops it
        there (a clean point for the actor's state, unlike mid-call)."""
        if self.instance is None:
            return  # a task: cancel interrupts it directly
        if threading.current_thread() is threading.main_thread():
            cancelled = self.core.take_cancelled_calls()  # the main loop is busy with us
            if cancelled:
                self.cancel_calls([bytes(task) for task in cancelled])
        if task_id in self.cancelled_streams:
            raise StreamCancelled

    def cancelled(self, task: Any) -> None:
        """A cancelled actor call: its refs raise TaskCancelledError inside a
        TaskError, as Ray's do, so either class catches it."""

        task_id, function_name, num_returns = task.task_id, task.function_name, task.num_returns
        self.cancelled_streams.discard(task_id)
        error = TaskCancelledError(f"actor call {function_name} was cancelled")
        failed = self._error_returns(task_id, num_returns, function_name, error)
        self._done(task_id, failed.returns, True, False)

    def on_sigint(self, signum: int, frame: Any) -> None:
        """The raylet cancels the running task by signalling this thread: the
        task sees KeyboardInterrupt, as in Ray, so its finally blocks run."""
        if self.interruptible and self.core.take_cancel_request():
            raise KeyboardInterrupt("the task was cancelled")

    @staticmethod
    def _should_retry(error: BaseException, policy: bytes) -> bool:
        if not policy:
            return False
        try:
            allowed = pickle.loads(policy)
        except Exception:  # noqa: BLE001
            return False
        if allowed is True:
            return isinstance(error, Exception)
        return isinstance(error, tuple(allowed))

    def _error_returns(self, task_id: bytes, num_returns: int, function_name: str,
                       error: BaseException, constructor: bool = False,
                       object_ids: Optional[List[bytes]] = None) -> task_errors.ErrorReturns:
        """The task's returns (or ``object_ids``) holding ``error``; the
        caller keeps the result until it has reported them (it holds the
        stored error that they refer to)."""
        # Drop this runner's own frame: the user's code is what matters.
        trace = error.__traceback__
        if trace is not None and trace.tb_frame.f_code in _RUNNER_CODES:
            trace = trace.tb_next
        if object_ids is None:
            object_ids = [return_id(task_id, index) for index in range(1, num_returns + 1)]
        return task_errors.error_returns(self.core, object_ids, function_name, error, trace,
                                         self.pid, constructor=constructor)


class Lanes:
    """An actor's concurrency groups: how many calls of each may run at once
    (the default group, "", takes max_concurrency), and each method's group."""

    def __init__(self, max_concurrency: int, groups: Dict[str, int],
                 method_groups: Dict[str, str]) -> None:
        self.limits = {"": max_concurrency, **groups}
        self._method_groups = method_groups

    def of(self, task: Any) -> str:
        return self._method_groups.get(task.method_name, "")


class ThreadExecutor:
    """A threaded actor: up to max_concurrency calls at once on a pool (and
    a pool of its own for each concurrency group)."""

    def __init__(self, runner: TaskRunner, lanes: Lanes) -> None:
        from concurrent.futures import ThreadPoolExecutor
        self._runner = runner
        self._lanes = lanes
        self._pools = {group: ThreadPoolExecutor(max_workers=limit,
                                                 thread_name_prefix=f"flare-actor{group}")
                       for group, limit in lanes.limits.items()}

    def submit(self, task: Any) -> None:
        self._pools[self._lanes.of(task)].submit(self._runner.run_now, task)

    def cancel(self, task_ids: List[bytes]) -> None:
        """Running calls of a threaded actor finish, as in Ray."""


class AsyncExecutor:
    """An async actor: calls run as coroutines on one event loop (in its own
    thread), up to max_concurrency at once; awaiting lets others run."""

    def __init__(self, runner: TaskRunner, lanes: Lanes) -> None:
        import asyncio
        self._runner = runner
        self._lanes = lanes
        self._loop = asyncio.new_event_loop()
        self._running: Dict[bytes, Any] = {}
        self._cancelled: set = set()  # running calls whose cancel arrived
        self._lock = threading.Lock()
        self._semaphores = {group: asyncio.Semaphore(limit)
                            for group, limit in lanes.limits.items()}
        self._thread = threading.Thread(target=self._loop.run_forever, name="flare-actor-loop",
                                        daemon=True)
        self._thread.start()

    def submit(self, task: Any) -> None:
        import asyncio
        future = asyncio.run_coroutine_threadsafe(self._run(task), self._loop)
        with self._lock:
            self._running[task.task_id] = future
        future.add_done_callback(lambda _: self._forget(task.task_id))

    def _forget(self, task_id: bytes) -> None:
        with self._lock:
            self._running.pop(task_id, None)

    def _was_cancelled(self, task_id: bytes) -> bool:
        """Whether a cancel arrived for the call (asked once, as it ends)."""
        with self._lock:
            if task_id not in self._cancelled:
                return False
            self._cancelled.discard(task_id)
            return True

    def cancel(self, task_ids: List[bytes]) -> None:
        with self._lock:
            futures = [self._running.get(task_id) for task_id in task_ids]
            self._cancelled.update(task_id for task_id in task_ids if task_id in self._running)
        for future in futures:
            if future is not None:
                future.cancel()  # cancels the coroutine's asyncio task

    async def _run(self, task: Any) -> None:
        import asyncio
        runner = self._runner
        context = runner.session.context
        try:
            async with self._semaphores[self._lanes.of(task)]:
                context.task_id = task.task_id
                context.job_id = task.job_id
                context.function_name = task.function_name
                function, args, kwargs = runner._begin(task)
                result = function(*args, **kwargs)
                del args, kwargs
                if inspect.isawaitable(result):
                    result = await result
                if task.streaming and inspect.isasyncgen(result):
                    result = await runner.stream_async(task.task_id, task.function_name, result)
                elif task.streaming:
                    result = runner.stream(task.task_id, task.function_name, result)
        except (asyncio.CancelledError, StreamCancelled):
            self._was_cancelled(task.task_id)
            runner.cancelled(task)
            return
        except BaseException as error:  # noqa: BLE001
            if self._was_cancelled(task.task_id):
                runner.cancelled(task)
            else:
                runner._fail(task, error)
            return
        if self._was_cancelled(task.task_id):  # it caught CancelledError: still cancelled, as in Ray
            runner.cancelled(task)
            return
        runner._succeed(task, result)


def _actor_ready() -> bool:
    """handle.__ray_ready__.remote(): True once the constructor has run."""
    return True


def _actor_label(instance: Any) -> str:
    """How an actor's output is prefixed, as in Ray: its ``__repr__`` when
    its class defines one, else its class name."""
    cls = type(instance)
    if cls.__repr__ is not object.__repr__:
        try:
            return repr(instance)
        except Exception:  # noqa: BLE001 - a broken __repr__ must not break the actor
            pass
    return cls.__name__


# Frames of the runner itself, left out of tracebacks shown to users.
_RUNNER_CODES = (TaskRunner.run_now.__code__, TaskRunner.stream.__code__,
                 TaskRunner.stream_async.__code__,
                 AsyncExecutor._run.__code__)


def main() -> None:

    socket_path = os.environ["FLARE_RAYLET_SOCKET"]
    worker_id = os.environ["FLARE_WORKER_ID"]
    try:
        core = _core.CoreClient.connect(socket_path, "worker", worker_id, False, b"", 10000)
    except Exception as error:  # noqa: BLE001
        print(f"flare worker: cannot connect to the raylet: {error}", file=sys.stderr)
        sys.exit(1)
    session = state.Session(core, "worker", state.next_generation())
    state.session = session
    runner = TaskRunner(core, session)
    sys.stdout = _LogStream(sys.stdout, False, runner)
    sys.stderr = _LogStream(sys.stderr, True, runner)
    signal.signal(signal.SIGINT, runner.on_sigint)
    while True:
        try:
            task = core.next_task(-1)  # no timeout: an idle worker sleeps until woken
        except KeyboardInterrupt:
            continue
        except RayletDiedError:
            break  # the raylet is gone
        if task is not None:
            runner.run(task)
            del task
        if runner.instance is not None:
            cancelled = core.take_cancelled_calls()  # always drained: it wakes next_task
            if cancelled:
                runner.cancel_calls(cancelled)
    # Exit without running interpreter teardown against a dead connection.
    os._exit(0)


if __name__ == "__main__":
    main()
