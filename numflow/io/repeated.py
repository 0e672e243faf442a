"""Repeated-field containers for :mod:`numflow.io.message`, with protobuf's type checks.

``RepeatedScalarContainer`` holds a repeated float/int64/bytes field (floats are
rounded to float32 as protobuf stores them; ints must be integral and fit int64;
bytes must be ``bytes``). ``MessageMap`` is a ``map<string, Message>`` field, where
reading a missing key inserts a default entry, as in protobuf.
"""
import operator

import numpy as np

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


# ---- element conversion (protobuf's type checks) -------------------------------------

def _to_float(v):
    if isinstance(v, (str, bytes, bytearray)) or v is None:
        raise TypeError(f"must be real number, not {type(v).__name__}")
    return float(v)


def _floats(values):
    with np.errstate(over="ignore"):
        if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
            return values.astype(np.float32).ravel().tolist()
        return np.array([_to_float(v) for v in values], np.float64).astype(np.float32).tolist()


def _to_int64(v):
    if isinstance(v, (bool, np.bool_)):
        raise TypeError("Expected an int, got a boolean.")
    v = operator.index(v)
    if not _INT64_MIN <= v <= _INT64_MAX:
        raise ValueError(f"Value out of range: {v}")
    return v


def _int64s(values):
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        if values.dtype.kind == "u" and values.size and values.max() > _INT64_MAX:
            raise ValueError(f"Value out of range: {values.max()}")
        return values.astype(np.int64).ravel().tolist()
    return [_to_int64(v) for v in values]


def _bytes(values):
    out = list(values)
    for v in out:
        if not isinstance(v, bytes):
            raise TypeError(f"expected bytes, {type(v).__name__} found")
    return out


_CONVERT = {"float": _floats, "int64": _int64s, "bytes": _bytes}


class RepeatedScalarContainer:
    """A list-like repeated scalar field that type-checks what is stored in it."""

    def __init__(self, owner, kind):
        self._owner, self._convert, self._items = owner, _CONVERT[kind], []

    def _changed(self):
        self._owner._modified()

    def append(self, value):
        """Appends one element."""
        self._items.extend(self._convert([value]))
        self._changed()

    def extend(self, values):
        """Appends every element of an iterable (NumPy arrays are converted at once)."""
        new = self._convert(values)
        if new:
            self._items.extend(new)
            self._changed()

    def insert(self, index, value):
        """Inserts one element before ``index``."""
        self._items.insert(index, self._convert([value])[0])
        self._changed()

    def remove(self, value):
        """Removes the first element equal to ``value``."""
        self._items.remove(value)

    def pop(self, index=-1):
        """Removes and returns the element at ``index``."""
        return self._items.pop(index)

    def sort(self, **kwargs):
        """Sorts in place (``key``/``reverse`` as for list.sort)."""
        self._items.sort(**kwargs)

    def __getitem__(self, index):
        return self._items[index]

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            self._items[index] = self._convert(value)
        else:
            self._items[index] = self._convert([value])[0]
        self._changed()

    def __delitem__(self, index):
        del self._items[index]

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(self._items)

    def __eq__(self, other):
        if isinstance(other, RepeatedScalarContainer):
            other = other._items
        return self._items == list(other) if isinstance(other, (list, tuple)) else NotImplemented

    __hash__ = None

    def __repr__(self):
        return repr(self._items)


class MessageMap:
    """A ``map<string, Message>`` field: reading a missing key inserts a default entry."""

    def __init__(self, owner, cls):
        self._owner, self._cls, self._items = owner, cls, {}

    @staticmethod
    def _key(key):
        if isinstance(key, bytes):
            key = key.decode("utf-8")
        if not isinstance(key, str):
            raise TypeError(f"map key must be str, not {type(key).__name__}")
        return key

    def __getitem__(self, key):
        key = self._key(key)
        value = self._items.get(key)
        if value is None:
            value = self._items[key] = self._cls()
            value._parent = self._owner, None
            self._owner._modified()
        return value

    def get_or_create(self, key):
        """The entry for ``key``, inserted if missing."""
        return self[key]

    def __setitem__(self, key, value):
        raise ValueError("Message objects may not be assigned")

    def get(self, key, default=None):
        """The entry for ``key`` or ``default``, without inserting."""
        return self._items.get(self._key(key), default)

    def __contains__(self, key):
        return self._key(key) in self._items

    def __delitem__(self, key):
        del self._items[self._key(key)]

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(self._items)

    def keys(self):
        """The keys, in insertion order."""
        return self._items.keys()

    def values(self):
        """The entries, in insertion order."""
        return self._items.values()

    def items(self):
        """``(key, message)`` pairs, in insertion order."""
        return self._items.items()

    def __eq__(self, other):
        if isinstance(other, MessageMap):
            other = other._items
        return self._items == other if isinstance(other, dict) else NotImplemented

    __hash__ = None

    def __repr__(self):
        return repr(self._items)
