"""multiprocessing.Pool on flare (ray.util.multiprocessing.Pool).

Code written for ``multiprocessing.Pool`` runs unchanged with its processes
as flare actors: ``from flare.util.multiprocessing import Pool``. Work is
cut into chunks; each chunk is one actor call, so ordering, errors and
timeouts follow the standard library's rules.
"""

from __future__ import annotations

import itertools
import threading
from multiprocessing import TimeoutError  # the standard library's, as Pool users expect
from typing import Any, Callable, Iterable, Iterator, List, Optional, Tuple

from flare import api
from flare.actor import kill
from flare.api import remote
from flare.object_ref import ObjectRef


class _PoolProcess:
    """One of the pool's processes: runs chunks of calls."""

    def __init__(self, initializer: Optional[Callable], initargs: tuple) -> None:
        if initializer is not None:
            initializer(*initargs)

    def run(self, function: Callable, chunk: List[Any], star: bool) -> List[Any]:
        if star:
            return [function(*args) for args in chunk]
        return [function(arg) for arg in chunk]

    def apply(self, function: Callable, args: tuple, kwds: dict) -> Any:
        return function(*args, **kwds)


class AsyncResult:
    """The pending result of an ``*_async`` call."""

    def __init__(self, refs: List[ObjectRef], combine: Callable[[List[Any]], Any],
                 callback: Optional[Callable] = None,
                 error_callback: Optional[Callable] = None) -> None:
        self._refs = refs
        self._combine = combine
        self._outcome: Optional[Tuple[bool, Any]] = None
        self._lock = threading.Lock()
        if callback is not None or error_callback is not None:
            threading.Thread(target=self._notify, args=(callback, error_callback),
                             name="flare-pool-callback", daemon=True).start()

    def _settle(self, timeout: Optional[float]) -> Optional[Tuple[bool, Any]]:
        with self._lock:
            if self._outcome is not None:
                return self._outcome
        ready, _ = api.wait(self._refs, num_returns=len(self._refs), timeout=timeout)
        if len(ready) < len(self._refs):
            return None
        try:
            outcome: Tuple[bool, Any] = (True, self._combine(api.get(self._refs)))
        except Exception as error:  # noqa: BLE001 - the call's error is its outcome
            outcome = (False, error)
        with self._lock:
            self._outcome = self._outcome or outcome
            return self._outcome

    def _notify(self, callback: Optional[Callable], error_callback: Optional[Callable]) -> None:
        succeeded, value = self._settle(None)
        target = callback if succeeded else error_callback
        if target is not None:
            target(value)

    def get(self, timeout: Optional[float] = None) -> Any:
        outcome = self._settle(timeout)
        if outcome is None:
            raise TimeoutError(f"the result was not ready within {timeout} s")
        succeeded, value = outcome
        if not succeeded:
            raise value
        return value

    def wait(self, timeout: Optional[float] = None) -> None:
        self._settle(timeout)

    def ready(self) -> bool:
        return self._settle(0) is not None

    def successful(self) -> bool:
        outcome = self._settle(0)
        if outcome is None:
            raise ValueError("the result is not ready yet")
        return outcome[0]


class Pool:
    """``Pool(processes=None, initializer=None, initargs=(), maxtasksperchild=None)``:
    ``processes`` actors (by default one per CPU of the cluster), each
    running ``initializer(*initargs)`` first."""

    def __init__(self, processes: Optional[int] = None, initializer: Optional[Callable] = None,
                 initargs: Iterable[Any] = (), maxtasksperchild: Optional[int] = None,
                 context: Any = None, ray_address: Optional[str] = None,
                 ray_remote_args: Optional[dict] = None) -> None:
        if not api.is_initialized():
            api.init(address=ray_address)
        cpus = api.cluster_resources().get("CPU", 1.0)
        if processes is None:
            processes = max(1, int(cpus))
        if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
            raise ValueError(f"Pool(processes=...) must be a positive integer, got {processes!r}")
        if initializer is not None and not callable(initializer):
            raise TypeError("Pool(initializer=...) must be callable")
        # A CPU each, or an equal share when more processes than CPUs are
        # asked for (the standard library starts them all regardless).
        share = min(1.0, round(cpus / processes, 4)) if cpus > 0 else 0
        options = {"num_cpus": share, **(ray_remote_args or {})}
        process_class = remote(_PoolProcess).options(**options)
        self._processes = [process_class.remote(initializer, tuple(initargs))
                           for _ in range(processes)]
        self._next = itertools.cycle(range(processes))
        self._closed = False
        self._pending: List[ObjectRef] = []

    # -- submitting ---------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("Pool not running")

    def _process(self) -> Any:
        return self._processes[next(self._next)]

    def _chunks(self, function: Callable, iterable: Iterable[Any], chunksize: Optional[int],
                star: bool) -> List[ObjectRef]:
        self._check_open()
        items = list(iterable)
        if chunksize is None:
            chunksize = max(1, -(-len(items) // (len(self._processes) * 4)))
        if isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
            raise ValueError(f"chunksize must be a positive integer, got {chunksize!r}")
        refs = [self._process().run.remote(function, items[start:start + chunksize], star)
                for start in range(0, len(items), chunksize)]
        self._track(refs)
        return refs

    def _track(self, refs: List[ObjectRef]) -> None:
        # What join() waits for; finished work is let go now and then, so a
        # long-lived pool does not keep every result alive.
        if len(self._pending) > 1000:
            _, self._pending = api.wait(self._pending, num_returns=len(self._pending), timeout=0)
        self._pending.extend(refs)

    def apply(self, func: Callable, args: tuple = (), kwds: Optional[dict] = None) -> Any:
        return self.apply_async(func, args, kwds).get()

    def apply_async(self, func: Callable, args: tuple = (), kwds: Optional[dict] = None,
                    callback: Optional[Callable] = None,
                    error_callback: Optional[Callable] = None) -> AsyncResult:
        self._check_open()
        ref = self._process().apply.remote(func, tuple(args), dict(kwds or {}))
        self._track([ref])
        return AsyncResult([ref], lambda values: values[0], callback, error_callback)

    def map(self, func: Callable, iterable: Iterable[Any], chunksize: Optional[int] = None) -> list:
        return self.map_async(func, iterable, chunksize).get()

    def map_async(self, func: Callable, iterable: Iterable[Any], chunksize: Optional[int] = None,
                  callback: Optional[Callable] = None,
                  error_callback: Optional[Callable] = None) -> AsyncResult:
        refs = self._chunks(func, iterable, chunksize, star=False)
        return AsyncResult(refs, _flatten, callback, error_callback)

    def starmap(self, func: Callable, iterable: Iterable[Iterable[Any]],
                chunksize: Optional[int] = None) -> list:
        return self.starmap_async(func, iterable, chunksize).get()

    def starmap_async(self, func: Callable, iterable: Iterable[Iterable[Any]],
                      chunksize: Optional[int] = None, callback: Optional[Callable] = None,
                      error_callback: Optional[Callable] = None) -> AsyncResult:
        refs = self._chunks(func, [tuple(args) for args in iterable], chunksize, star=True)
        return AsyncResult(refs, _flatten, callback, error_callback)

    def imap(self, func: Callable, iterable: Iterable[Any], chunksize: int = 1) -> Iterator[Any]:
        """Results in order, each as soon as it and those before it are done."""
        refs = self._chunks(func, iterable, chunksize, star=False)
        return (value for ref in refs for value in api.get(ref))

    def imap_unordered(self, func: Callable, iterable: Iterable[Any],
                       chunksize: int = 1) -> Iterator[Any]:
        """Results as they are done, in any order."""
        refs = self._chunks(func, iterable, chunksize, star=False)

        def results() -> Iterator[Any]:
            pending = list(refs)
            while pending:
                ready, pending = api.wait(pending, num_returns=1)
                yield from api.get(ready[0])
        return results()

    # -- ending ---------------------------------------------------------------
    def close(self) -> None:
        """No more work is accepted; what was submitted still runs."""
        self._closed = True

    def join(self) -> None:
        """Waits for the submitted work (after close() or terminate())."""
        if not self._closed:
            raise ValueError("join() needs close() or terminate() first")
        if self._pending:
            api.wait(self._pending, num_returns=len(self._pending))
        self._pending = []

    def terminate(self) -> None:
        """Ends the pool's processes at once; unfinished work fails."""
        self._closed = True
        for process in self._processes:
            kill(process)
        self._pending = []

    def __enter__(self) -> "Pool":
        self._check_open()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.terminate()


def _flatten(chunks: List[List[Any]]) -> List[Any]:
    return [value for chunk in chunks for value in chunk]


__all__ = ["AsyncResult", "Pool", "TimeoutError"]
