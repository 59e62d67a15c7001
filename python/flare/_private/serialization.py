"""Turning Python values into object bytes and back.

Layout of one object (inline or in the shared-memory arena):

    byte 0        format: 0 = a plain pickle follows; 1 = out-of-band layout
    format 1:     u32 number of buffers, u64 pickle length,
                  u64 (offset, length) per buffer, the pickle, then each
                  buffer at a 64-byte aligned offset from the object start

Values are pickled with protocol 5 (cloudpickle, so functions and classes
defined in ``__main__`` travel by value); numpy arrays and other contiguous
buffers go out of band, so reading a large array back is a view over the
arena with no copy.

ObjectRefs met while pickling are recorded, so the caller can tell the
raylet which objects a stored value keeps alive.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import threading
import types
from typing import Any, Callable, List, Optional, Tuple

import cloudpickle

from flare import _core

FORMAT_PLAIN = 0
FORMAT_BUFFERS = 1
ALIGNMENT = 64
_HEADER = struct.Struct("<BIQ")
_SPAN = struct.Struct("<QQ")

_context = threading.local()


def _code_keeping_file(code: types.CodeType) -> Any:
    """cloudpickle's reduction of a code object, but with its real file name
    (cloudpickle 3 writes "<dynamic-code>"): remote tracebacks then show the
    user's file and source lines, as Ray's do."""
    constructor, args = _CLOUDPICKLE_CODE_REDUCE(code)
    return constructor, tuple(code.co_filename if arg == "<dynamic-code>" else arg
                              for arg in args)


_CLOUDPICKLE_CODE_REDUCE = cloudpickle.Pickler.dispatch_table.get(types.CodeType)


class _Pickler(cloudpickle.Pickler):
    """cloudpickle's pickler, with code objects that keep their file."""

    if _CLOUDPICKLE_CODE_REDUCE is not None:
        dispatch_table = collections.ChainMap({types.CodeType: _code_keeping_file},
                                              cloudpickle.Pickler.dispatch_table)


def _cloudpickle_dumps(value: Any, buffer_callback: Optional[Callable] = None) -> bytes:
    with io.BytesIO() as file:
        _Pickler(file, protocol=5, buffer_callback=buffer_callback).dump(value)
        return file.getvalue()


def record_contained_ref(binary: bytes) -> None:
    """Called by ObjectRef.__reduce__ while a value is being pickled."""
    refs = getattr(_context, "refs", None)
    if refs is not None:
        refs.append(binary)


class SerializedObject:
    """A pickled value ready to be written: pickle bytes plus raw buffers."""

    __slots__ = ("pickled", "buffers", "contained_refs", "total_size", "_spans")

    def __init__(self, pickled: bytes, buffers: List[memoryview],
                 contained_refs: List[bytes]) -> None:
        self.pickled = pickled
        self.buffers = buffers
        self.contained_refs = contained_refs
        if not buffers:
            self._spans: List[Tuple[int, int]] = []
            self.total_size = 1 + len(pickled)
            return
        offset = _HEADER.size + _SPAN.size * len(buffers) + len(pickled)
        spans = []
        for buffer in buffers:
            offset = (offset + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
            spans.append((offset, buffer.nbytes))
            offset += buffer.nbytes
        self._spans = spans
        self.total_size = offset

    def to_bytes(self) -> bytes:
        if not self.buffers:
            return b"\x00" + self.pickled
        out = bytearray(self.total_size)
        self.write_to(memoryview(out))
        return bytes(out)

    def write_to(self, target: memoryview) -> None:
        """Writes the object into ``target`` (at least total_size bytes)."""
        if not self.buffers:
            target[0] = FORMAT_PLAIN
            target[1:1 + len(self.pickled)] = self.pickled
            return
        _HEADER.pack_into(target, 0, FORMAT_BUFFERS, len(self.buffers), len(self.pickled))
        position = _HEADER.size
        for span in self._spans:
            _SPAN.pack_into(target, position, *span)
            position += _SPAN.size
        target[position:position + len(self.pickled)] = self.pickled
        for (offset, length), buffer in zip(self._spans, self.buffers):
            if length >= _core.PARALLEL_COPY_MIN_BYTES:
                try:
                    _core.copy_into(target, offset, buffer)
                    continue
                except BufferError:  # not one contiguous block: copy it as Python does
                    pass
            target[offset:offset + length] = buffer


def _plain_types_only(value: Any, depth: int = 0) -> bool:
    kind = type(value)
    if kind in (int, float, bool, str, bytes, type(None)):
        return True
    if depth < 2 and kind in (tuple, list):
        return all(_plain_types_only(item, depth + 1) for item in value)
    if depth < 2 and kind is dict:
        return all(type(key) is str and _plain_types_only(item, depth + 1)
                   for key, item in value.items())
    return False


def serialize(value: Any) -> SerializedObject:
    """Pickles ``value``; raises whatever pickling raises."""
    if _plain_types_only(value):
        # The C pickler is several times faster than cloudpickle's for the
        # small plain values most tasks take and return.
        return SerializedObject(pickle.dumps(value, protocol=5), [], [])
    buffers: List[pickle.PickleBuffer] = []
    previous = getattr(_context, "refs", None)
    _context.refs = []
    try:
        pickled = _cloudpickle_dumps(value, buffer_callback=buffers.append)
        refs = _context.refs
    finally:
        _context.refs = previous
    views = []
    for buffer in buffers:
        try:
            views.append(buffer.raw())
        except BufferError:  # not contiguous: let pickle copy it in band
            return _serialize_in_band(value)
    return SerializedObject(pickled, views, refs)


def _serialize_in_band(value: Any) -> SerializedObject:
    previous = getattr(_context, "refs", None)
    _context.refs = []
    try:
        pickled = _cloudpickle_dumps(value)
        refs = _context.refs
    finally:
        _context.refs = previous
    return SerializedObject(pickled, [], refs)


def deserialize(data: Any) -> Any:
    """Rebuilds a value from object bytes (bytes, memoryview or ObjectBuffer)."""
    view = data if isinstance(data, memoryview) else memoryview(data)
    if view[0] == FORMAT_PLAIN:
        return pickle.loads(view[1:])
    _, count, pickle_length = _HEADER.unpack_from(view, 0)
    position = _HEADER.size
    buffers = []
    for _ in range(count):
        offset, length = _SPAN.unpack_from(view, position)
        position += _SPAN.size
        buffers.append(view[offset:offset + length])
    start = _HEADER.size + _SPAN.size * count
    return pickle.loads(view[start:start + pickle_length], buffers=buffers)


def dumps_function(function: Callable) -> bytes:
    return _cloudpickle_dumps(function)


def find_unpicklable(items: List[Tuple[str, Any]]) -> Optional[Tuple[str, Exception]]:
    """Returns the first (name, error) among named values that cannot be pickled."""
    for name, value in items:
        try:
            cloudpickle.dump(value, io.BytesIO(), protocol=5)
        except Exception as error:  # noqa: BLE001 - any pickling failure counts
            return name, error
    return None
