"""ObjectRefs as futures: ``ref.future()`` and ``await ref``.

One resolver thread per session waits (with the GIL released) on every ref
someone holds a future for, and completes those futures as their objects
become ready, so a thousand pending awaits cost one thread, not a thousand.
"""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any, Dict, List, Tuple

from flare.exceptions import FlareError
from flare._private import objects, state

# How long one wait of the resolver lasts before it picks up refs added
# meanwhile (those that are already ready are completed at once instead).
_POLL_MS = 20


class Resolver:
    def __init__(self, session: Any) -> None:
        self._session = session
        self._lock = threading.Lock()
        self._pending: Dict[bytes, Tuple[Any, List[concurrent.futures.Future]]] = {}
        self._added = threading.Event()
        self._thread: Any = None

    def future(self, ref: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        core = self._session.core
        try:
            ready = core.wait([ref._id], 1, 0, False)[0]
        except BaseException as error:  # noqa: BLE001 - e.g. the raylet is gone
            _complete(future, ref, error)
            return future
        if ready:
            _complete(future, ref)
            return future
        with self._lock:
            self._pending.setdefault(ref._id, (ref, []))[1].append(future)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="flare-futures",
                                                daemon=True)
                self._thread.start()
        self._added.set()
        return future

    def stop(self) -> None:
        """Wakes the resolver thread to see that the session is stopping."""
        self._added.set()

    def _run(self) -> None:
        core = self._session.core
        stopping = self._session.stopping
        while not stopping.is_set():
            with self._lock:
                ids = list(self._pending)
            if not ids:
                self._added.wait()  # a new future, or stop()
                self._added.clear()
                continue
            try:
                flags = core.wait(ids, 1, _POLL_MS, False)
            except BaseException as error:  # noqa: BLE001 - fail every waiter, then stop
                self._fail_all(error)
                return
            self._complete_ready(ids, flags)
        self._fail_all(FlareError("flare was shut down while this future was pending"))

    def _complete_ready(self, ids: List[bytes], flags: List[bool]) -> None:
        # A function of its own so that no ref outlives it in the loop's
        # locals: the resolver must not keep an object alive.
        with self._lock:
            done = [self._pending.pop(object_id) for object_id, ready in zip(ids, flags) if ready]
        for ref, futures in done:
            for future in futures:
                _complete(future, ref)

    def _fail_all(self, error: BaseException) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for ref, futures in pending.values():
            for future in futures:
                _complete(future, ref, error)


def _complete(future: concurrent.futures.Future, ref: Any, error: Any = None) -> None:
    if not future.set_running_or_notify_cancel():
        return  # the caller cancelled its future
    if error is None:
        try:
            future.set_result(objects.get_values(state.current().core, [ref._id], -1)[0])
            return
        except BaseException as raised:  # noqa: BLE001 - the task's error goes to the future
            error = raised
    future.set_exception(error)


def resolver_of(session: state.Session) -> Resolver:
    resolver = session.resolver
    if resolver is None:
        with state.lock:
            resolver = session.resolver
            if resolver is None:
                resolver = session.resolver = Resolver(session)
    return resolver
