"""A minimal protocol-buffer wire-format encoder and decoder (no protobuf dependency).

Encoding: ``*_field`` functions return the bytes of one field (tag + payload); a
message is the concatenation of its fields in field-number order, as protobuf's
own serializer emits them. Scalar encoders follow proto3 and emit nothing for a
default value (0, 0.0, empty string) unless ``always=True``; ``message_field``
always emits, since a present sub-message is meaningful even when empty.

Decoding: :class:`Fields` parses one message level into ``field -> [(wire, value)]``
and offers typed accessors that accept both packed and unpacked repeated scalars.
Malformed input raises :class:`DecodeError`.
"""
import struct

import numpy as np

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5
_MAX_VARINT_BYTES = 10


class DecodeError(ValueError):
    """Raised for bytes that are not a well-formed protocol-buffer message."""


# ---- encoding ------------------------------------------------------------------------

def encode_varint(value):
    """Base-128 varint of ``value``; negative ints use 64-bit two's complement (10 bytes)."""
    value = int(value)
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _tag(field, wire):
    return encode_varint((field << 3) | wire)


def varint_field(field, value, always=False):
    """An int32/int64/uint64/bool/enum field."""
    if not value and not always:
        return b""
    return _tag(field, VARINT) + encode_varint(value)


def bytes_field(field, data, always=False):
    """A ``bytes`` or ``string`` field (str is encoded as UTF-8)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not data and not always:
        return b""
    return _tag(field, LENGTH_DELIMITED) + encode_varint(len(data)) + bytes(data)


def message_field(field, encoded):
    """A sub-message field whose serialized bytes are ``encoded`` (always emitted)."""
    return _tag(field, LENGTH_DELIMITED) + encode_varint(len(encoded)) + encoded


def fixed32_field(field, value, always=False):
    """A ``fixed32`` field."""
    if not value and not always:
        return b""
    return _tag(field, FIXED32) + struct.pack("<I", value & 0xFFFFFFFF)


def fixed64_field(field, value, always=False):
    """A ``fixed64`` field."""
    if not value and not always:
        return b""
    return _tag(field, FIXED64) + struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF)


def float_field(field, value, always=False):
    """A ``float`` (32-bit) field; -0.0 counts as set, as in protobuf."""
    if not always and struct.pack("<f", value) == b"\0\0\0\0":
        return b""
    return _tag(field, FIXED32) + struct.pack("<f", value)


def double_field(field, value, always=False):
    """A ``double`` field; -0.0 counts as set, as in protobuf."""
    if not always and struct.pack("<d", value) == bytes(8):
        return b""
    return _tag(field, FIXED64) + struct.pack("<d", value)


def encode_packed_varints(values):
    """Concatenated varints of an integer array (vectorised; negatives as 10 bytes)."""
    v = np.asarray(values)
    v = v.astype(np.int64).view(np.uint64) if v.dtype.kind in "ib" else v.astype(np.uint64)
    v = v.ravel()
    groups = np.ones(v.shape, dtype=np.int64)
    for k in range(1, _MAX_VARINT_BYTES):
        groups += v >= np.uint64(1 << (7 * k))
    starts = np.cumsum(groups) - groups
    rep = np.repeat(v, groups)
    j = np.arange(rep.size, dtype=np.int64) - np.repeat(starts, groups)
    out = ((rep >> (7 * j).astype(np.uint64)) & np.uint64(0x7F)).astype(np.uint8)
    out |= (j < np.repeat(groups, groups) - 1).astype(np.uint8) << 7
    return out.tobytes()


def packed_varint_field(field, values):
    """A packed repeated varint field (int32/int64/bool); empty lists emit nothing."""
    if len(values) == 0:
        return b""
    return message_field(field, encode_packed_varints(values))


def packed_fixed_field(field, values, dtype):
    """A packed repeated fixed-width field: ``dtype`` is ``"<f4"``, ``"<f8"``, ``"<u4"``..."""
    data = np.asarray(values, dtype=dtype).tobytes()
    return message_field(field, data) if data else b""


# ---- decoding ------------------------------------------------------------------------

def decode_varint(buf, pos):
    """Reads one varint from ``buf`` at ``pos``; returns ``(unsigned value, new pos)``."""
    result = shift = 0
    end = len(buf)
    for i in range(_MAX_VARINT_BYTES):
        if pos >= end:
            raise DecodeError("Truncated varint.")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
    raise DecodeError("Varint longer than 10 bytes.")


def as_int64(value):
    """Reinterprets an unsigned 64-bit varint as a signed int64."""
    return value - (1 << 64) if value >= 1 << 63 else value


def as_int32(value):
    """Reinterprets a varint as a signed int32, as protobuf does for int32 fields."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def decode_packed_varints(data):
    """Decodes concatenated varints (a packed field's payload) into a uint64 array."""
    b = np.frombuffer(data, dtype=np.uint8)
    if b.size == 0:
        return np.zeros(0, dtype=np.uint64)
    ends = b < 0x80
    if not ends[-1]:
        raise DecodeError("Truncated packed varint.")
    end_pos = np.flatnonzero(ends)
    starts = np.concatenate([[0], end_pos[:-1] + 1])
    lengths = end_pos - starts + 1
    if lengths.max() > _MAX_VARINT_BYTES:
        raise DecodeError("Varint longer than 10 bytes.")
    j = np.arange(b.size, dtype=np.int64) - np.repeat(starts, lengths)
    vals = (b & 0x7F).astype(np.uint64) << (7 * j).astype(np.uint64)
    return np.bitwise_or.reduceat(vals, starts)


def iter_fields(buf):
    """Yields ``(field_number, wire_type, value)`` for one message level.

    ``value`` is an int for varints, and bytes for the other wire types (4 or 8
    raw little-endian bytes for fixed32/fixed64, the payload for length-delimited).
    """
    buf = memoryview(buf).cast("B") if not isinstance(buf, (bytes, bytearray)) else buf
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = decode_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise DecodeError("Field number 0 is invalid.")
        if wire == VARINT:
            value, pos = decode_varint(buf, pos)
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            if pos + size > end:
                raise DecodeError("Truncated fixed-width field.")
            value, pos = bytes(buf[pos:pos + size]), pos + size
        elif wire == LENGTH_DELIMITED:
            size, pos = decode_varint(buf, pos)
            if pos + size > end:
                raise DecodeError("Truncated length-delimited field.")
            value, pos = bytes(buf[pos:pos + size]), pos + size
        else:
            raise DecodeError(f"Unsupported wire type {wire}.")
        yield field, wire, value


class Fields:
    """One parsed message level with typed accessors (the last value wins for scalars)."""

    def __init__(self, buf):
        self._f = {}
        for field, wire, value in iter_fields(buf):
            self._f.setdefault(field, []).append((wire, value))

    def has(self, field):
        """True if ``field`` occurs at least once."""
        return field in self._f

    def numbers(self):
        """The field numbers present, in first-seen order."""
        return list(self._f)

    def _items(self, field, wires):
        items = self._f.get(field, [])
        for wire, _ in items:
            if wire not in wires:
                raise DecodeError(f"Field {field} has unexpected wire type {wire}.")
        return [v for _, v in items]

    def varints(self, field):
        """A repeated varint field (packed or not) as a uint64 array."""
        parts = []
        for v in self._items(field, (VARINT, LENGTH_DELIMITED)):
            parts.append(decode_packed_varints(v) if isinstance(v, bytes)
                         else np.array([v], dtype=np.uint64))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)

    def varint(self, field, default=0):
        """A singular varint field (unsigned)."""
        items = self._items(field, (VARINT,))
        return items[-1] if items else default

    def int64(self, field, default=0):
        """A singular int64 field."""
        return as_int64(self.varint(field, default))

    def int32(self, field, default=0):
        """A singular int32 field."""
        return as_int32(self.varint(field, default))

    def bytes_list(self, field):
        """A repeated bytes/string/message field as a list of bytes."""
        return self._items(field, (LENGTH_DELIMITED,))

    def bytes(self, field, default=b""):
        """A singular bytes field."""
        items = self._items(field, (LENGTH_DELIMITED,))
        return items[-1] if items else default

    def string(self, field, default=""):
        """A singular string field, decoded from UTF-8."""
        items = self._items(field, (LENGTH_DELIMITED,))
        if not items:
            return default
        try:
            return items[-1].decode("utf-8")
        except UnicodeDecodeError as e:
            raise DecodeError(f"Field {field} is not valid UTF-8.") from e

    def message(self, field):
        """A singular sub-message as :class:`Fields`, or None when absent.

        Repeated occurrences are merged, as protobuf merges a singular message field.
        """
        items = self._items(field, (LENGTH_DELIMITED,))
        return Fields(b"".join(items)) if items else None

    def messages(self, field):
        """A repeated sub-message field as a list of :class:`Fields`."""
        return [Fields(v) for v in self._items(field, (LENGTH_DELIMITED,))]

    def fixed(self, field, dtype):
        """A repeated fixed-width field (packed or not) as an array of ``dtype`` (``"<f4"``...)."""
        dtype = np.dtype(dtype)
        wire = FIXED32 if dtype.itemsize == 4 else FIXED64
        data = b"".join(self._items(field, (wire, LENGTH_DELIMITED)))
        if len(data) % dtype.itemsize:
            raise DecodeError(f"Field {field}: packed length is not a multiple of "
                              f"{dtype.itemsize}.")
        return np.frombuffer(data, dtype=dtype)

    def fixed_scalar(self, field, dtype, default=0):
        """A singular fixed-width field (float, double, fixed32...) as a Python number."""
        dtype = np.dtype(dtype)
        wire = FIXED32 if dtype.itemsize == 4 else FIXED64
        items = self._items(field, (wire,))
        return np.frombuffer(items[-1], dtype=dtype)[0].item() if items else default
