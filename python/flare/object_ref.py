"""ObjectRef: a future for a value in the object store."""

from __future__ import annotations

from typing import Any, Optional

from flare._private import futures, serialization, state
from flare._private.protocol import OwnerAddress, task_id_of


class ObjectRef:
    """A reference to an object that exists, or will, in the object store.

    Hashable and picklable: a ref passed to a task, returned from one or
    stored inside another object keeps the object alive for as long as it
    is referenced anywhere, and keeps naming the object's owner.
    """

    # _owner: the OwnerAddress of the object's owner (None for a ref made
    # outside a session); the session's own one for objects made here.
    # _actor_call (unset for most refs): the ref of an actor method call, as
    # its caller got it; cancel(force=True) refuses those, as Ray does.
    __slots__ = ("_id", "_generation", "_owner", "_actor_call", "__weakref__")

    def __init__(self, binary: bytes, _owned: bool = False,
                 _owner: Optional[OwnerAddress] = None) -> None:
        self._id = binary
        session = state.session
        if session is None:
            self._generation = -1
            self._owner = _owner
            return
        self._generation = session.generation
        local = session.owner_address
        if _owner is None or _owner is local:
            self._owner = local
            if not _owned:
                session.core.add_ref(binary)
        else:
            self._owner = _owner
            if not _owned:
                session.core.add_borrowed_ref(binary, _owner.node_id, _owner.address)

    def __del__(self) -> None:
        try:
            session = state.session
            if session is not None and session.generation == self._generation:
                session.core.remove_ref(self._id)
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def binary(self) -> bytes:
        return self._id

    def hex(self) -> str:
        return self._id.hex()

    def task_id(self) -> bytes:
        return task_id_of(self._id)

    def owner_address(self) -> Optional[OwnerAddress]:
        """The address of the object's owner: the node id and raylet address
        of the node where it was put or its task submitted. None for a ref
        made outside a session."""
        return self._owner

    def __hash__(self) -> int:
        return hash(self._id)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, ObjectRef) and other._id == self._id

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)

    def __repr__(self) -> str:
        return f"ObjectRef({self._id.hex()})"

    def future(self):
        """A concurrent.futures.Future that completes with the object's value
        (or the task's exception) once it is ready."""
        return futures.resolver_of(state.current()).future(self)

    def __await__(self):
        import asyncio  # only for awaiting: it is slow to import
        return asyncio.wrap_future(self.future()).__await__()

    def __reduce__(self):
        serialization.record_contained_ref(self._id)
        owner = self._owner
        if owner is None:
            return (_rebuild_ref, (self._id,))
        return (_rebuild_ref, (self._id, owner.node_id, owner.address))


def _rebuild_ref(binary: bytes, owner_node_id: Optional[bytes] = None,
                 owner_address: str = "") -> ObjectRef:
    if owner_node_id is None:
        return ObjectRef(binary)
    session = state.session
    local = session.owner_address if session is not None else None
    if local is not None and local.node_id == owner_node_id and local.address == owner_address:
        return ObjectRef(binary, _owner=local)
    return ObjectRef(binary, _owner=OwnerAddress(owner_node_id, owner_address))
