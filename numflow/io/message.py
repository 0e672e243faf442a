"""A small base for protocol-buffer message classes with protobuf's Python API.

Subclasses declare ``FIELDS`` (a tuple of :class:`Field`, in field-number order),
optionally ``ONEOFS`` ({oneof name: field names}) and ``TYPE_NAME``. Instances then
behave like generated protobuf messages: keyword construction (messages may be
given as instances or dicts), attribute access that lazily creates sub-messages,
presence that propagates to the parent on first modification, repeated-field
containers that type-check like protobuf's, ``SerializeToString``, ``FromString``,
``ParseFromString``, ``MergeFrom``, ``CopyFrom``, ``HasField``, ``WhichOneof``,
``ClearField``, ``==`` and text-format ``str()``.

Supported field kinds: repeated ``float``, ``int64`` and ``bytes`` scalars,
singular messages, and ``map<string, message>``. Maps are serialized in sorted key
order, as protobuf-Python's deterministic order (``map_key_order``). Unknown fields
are dropped when parsing.
"""
import numpy as np

from numflow.io import proto
from numflow.io.proto import DecodeError
from numflow.io.repeated import MessageMap, RepeatedScalarContainer


class Field:
    """One field of a message: ``kind`` is "float", "int64", "bytes" (all repeated),
    "message" or "map" (string keys); ``cls`` is the message class for the last two."""

    def __init__(self, name, number, kind, cls=None):
        self.name, self.number, self.kind, self.cls = name, number, kind, cls


def map_key_order(key):
    """Sort key for map entries: protobuf-Python (upb) deterministic order, which is
    bytewise except that a key sorts after every longer key it is a prefix of."""
    return list(key.encode("utf-8")) + [256]


# ---- text format ---------------------------------------------------------------------

_ESCAPES = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x22: '\\"', 0x27: "\\'", 0x5C: "\\\\"}


def _escape(data, utf8):
    out = []
    for b in data:
        if b in _ESCAPES:
            out.append(_ESCAPES[b].encode())
        elif 0x20 <= b < 0x7F or (utf8 and b >= 0x80):
            out.append(bytes([b]))
        else:
            out.append(f"\\{b:03o}".encode())
    return b"".join(out).decode("utf-8", "replace")


def _format_float(v):
    if v != v:
        return "nan"
    if v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    s = "%.6g" % v
    return s if float(np.float32(float(s))) == v else "%.9g" % v


_FORMAT = {"float": _format_float, "int64": str, "bytes": lambda v: f'"{_escape(v, False)}"'}


class Message:
    """Base of the protobuf-style message classes (see the module docstring)."""

    FIELDS = ()
    ONEOFS = {}
    TYPE_NAME = ""

    def __init__(self, **kwargs):
        object.__setattr__(self, "_data", {})
        object.__setattr__(self, "_has", set())
        object.__setattr__(self, "_parent", None)
        specs = self._specs()
        for name, value in kwargs.items():
            spec = specs.get(name)
            if spec is None:
                raise ValueError(f'Protocol message {type(self).__name__} has no "{name}" field.')
            if value is None:
                continue
            if spec.kind == "message":
                self._child(spec).CopyFrom(spec.cls(**value) if isinstance(value, dict) else value)
                self._set_present(name)
            elif spec.kind == "map":
                container = self._container(spec)
                for key, item in value.items():
                    container[key].CopyFrom(spec.cls(**item) if isinstance(item, dict) else item)
            else:
                self._container(spec).extend(value)

    @classmethod
    def _specs(cls):
        if "_SPEC_BY_NAME" not in cls.__dict__:
            cls._SPEC_BY_NAME = {f.name: f for f in cls.FIELDS}
        return cls._SPEC_BY_NAME

    # -- storage and presence --
    def _container(self, spec):
        value = self._data.get(spec.name)
        if value is None:
            value = (MessageMap(self, spec.cls) if spec.kind == "map"
                     else RepeatedScalarContainer(self, spec.kind))
            self._data[spec.name] = value
        return value

    def _child(self, spec):
        value = self._data.get(spec.name)
        if value is None:
            value = self._data[spec.name] = spec.cls()
            value._parent = self, spec.name
        return value

    def _set_present(self, name):
        for members in self.ONEOFS.values():
            if name in members:
                for other in members:
                    if other != name and other in self._has:
                        self._has.discard(other)
                        self._data.pop(other)._parent = None
        self._has.add(name)
        self._modified()

    def _modified(self):
        if self._parent is not None:
            parent, name = self._parent
            if name is None or name in parent._has:
                parent._modified()
            else:
                parent._set_present(name)

    def __getattr__(self, name):
        spec = self._specs().get(name)
        if spec is None:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}")
        return self._child(spec) if spec.kind == "message" else self._container(spec)

    def __setattr__(self, name, value):
        if name == "_parent":
            object.__setattr__(self, name, value)
            return
        spec = self._specs().get(name)
        if spec is None:
            raise AttributeError(f'Assignment not allowed (no field "{name}" in protocol '
                                 "message object).")
        kind = "message" if spec.kind == "message" else "map, or repeated"
        raise AttributeError(f'Assignment not allowed to {kind} field "{name}" in protocol '
                             "message object.")

    # -- protobuf API --
    def HasField(self, name):
        """True if the singular message field ``name`` is set."""
        spec = self._specs().get(name)
        if spec is None or spec.kind != "message":
            raise ValueError(f'Protocol message has no singular "{name}" field.')
        return name in self._has

    def WhichOneof(self, oneof):
        """The name of the member of ``oneof`` that is set, or None."""
        if oneof not in self.ONEOFS:
            raise ValueError(f'Protocol message has no oneof "{oneof}" field.')
        return next((n for n in self.ONEOFS[oneof] if n in self._has), None)

    def ClearField(self, name):
        """Resets field ``name`` to its default."""
        if name not in self._specs():
            raise ValueError(f'Protocol message has no "{name}" field.')
        old = self._data.pop(name, None)
        if isinstance(old, Message):
            old._parent = None
        self._has.discard(name)

    def Clear(self):
        """Resets every field."""
        for name in list(self._data):
            self.ClearField(name)

    def ListFields(self):
        """``(Field, value)`` for every set field, in field-number order."""
        return [(f, self._data[f.name]) for f in self.FIELDS if f.name in self._data and
                (f.name in self._has if f.kind == "message" else len(self._data[f.name]))]

    def IsInitialized(self):
        """Always True (proto3 messages have no required fields)."""
        return True

    def SerializeToString(self, deterministic=None):
        """The wire-format bytes (maps are always in sorted key order)."""
        out = []
        for f in self.FIELDS:
            value = self._data.get(f.name)
            if value is None:
                continue
            if f.kind == "float":
                out.append(proto.packed_fixed_field(f.number, value._items, "<f4"))
            elif f.kind == "int64":
                out.append(proto.packed_varint_field(f.number, value._items))
            elif f.kind == "bytes":
                out.extend(proto.bytes_field(f.number, v, always=True) for v in value._items)
            elif f.kind == "message":
                if f.name in self._has:
                    out.append(proto.message_field(f.number, value.SerializeToString()))
            else:
                for key in sorted(value._items, key=map_key_order):
                    entry = (proto.bytes_field(1, key, always=True)
                             + proto.message_field(2, value._items[key].SerializeToString()))
                    out.append(proto.message_field(f.number, entry))
        return b"".join(out)

    SerializePartialToString = SerializeToString

    def ByteSize(self):
        """The length of the serialized message."""
        return len(self.SerializeToString())

    def MergeFromString(self, serialized):
        """Merges a serialized message into this one; returns the number of bytes read."""
        try:
            self._merge(proto.Fields(serialized))
        except (DecodeError, UnicodeDecodeError) as e:
            name = self.TYPE_NAME or type(self).__name__
            raise DecodeError(f"Error parsing message with type '{name}': {e}") from None
        return len(serialized)

    def _merge(self, fields):
        for f in self.FIELDS:
            if not fields.has(f.number):
                continue
            if f.kind == "float":
                self._container(f).extend(fields.fixed(f.number, "<f4"))
            elif f.kind == "int64":
                self._container(f).extend(fields.varints(f.number).view(np.int64))
            elif f.kind == "bytes":
                self._container(f).extend(fields.bytes_list(f.number))
            elif f.kind == "message":
                child = self._child(f)
                for sub in fields.messages(f.number):
                    child._merge(sub)
                self._set_present(f.name)
            else:
                container = self._container(f)
                for entry in fields.messages(f.number):
                    value = f.cls()
                    value._merge(entry.message(2) or proto.Fields(b""))
                    value._parent = self, None
                    container._items[entry.string(1)] = value
                self._modified()

    def ParseFromString(self, serialized):
        """Replaces this message's contents with the parsed bytes."""
        self.Clear()
        return self.MergeFromString(serialized)

    @classmethod
    def FromString(cls, serialized):
        """A new message parsed from ``serialized``."""
        message = cls()
        message.MergeFromString(serialized)
        return message

    def MergeFrom(self, other):
        """Merges ``other`` (same type) into this message, as protobuf does."""
        if type(other) is not type(self):
            raise TypeError(f"Parameter to MergeFrom() must be instance of same class: "
                            f"expected {type(self).__name__} got {type(other).__name__}.")
        self.MergeFromString(other.SerializeToString())

    def CopyFrom(self, other):
        """Replaces this message's contents with a copy of ``other``."""
        if other is self:
            return
        self.Clear()
        self.MergeFrom(other)

    def __deepcopy__(self, memo=None):
        return type(self).FromString(self.SerializeToString())

    def __eq__(self, other):
        if not isinstance(other, Message):
            return NotImplemented
        return type(self) is type(other) and \
            self.SerializeToString() == other.SerializeToString()

    __hash__ = None

    def _text_lines(self, indent):
        pad, lines = "  " * indent, []
        for f, value in self.ListFields():
            if f.kind in _FORMAT:
                lines.extend(f"{pad}{f.name}: {_FORMAT[f.kind](v)}" for v in value)
            elif f.kind == "message":
                lines += [f"{pad}{f.name} {{"] + value._text_lines(indent + 1) + [f"{pad}}}"]
            else:
                for key in sorted(value._items, key=map_key_order):
                    lines += [f"{pad}{f.name} {{", f'{pad}  key: "{_escape(key.encode(), True)}"',
                              f"{pad}  value {{"] + value._items[key]._text_lines(indent + 2)
                    lines += [f"{pad}  }}", f"{pad}}}"]
        return lines

    def __str__(self):
        lines = self._text_lines(0)
        return "\n".join(lines) + "\n" if lines else ""

    __repr__ = __str__
