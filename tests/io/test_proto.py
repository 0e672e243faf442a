"""Tests for numflow.io.proto, the hand-written protobuf wire-format codec."""
import struct

import numpy as np
import pytest

from numflow.io import proto


def loop_varints(values):
    return b"".join(proto.encode_varint(int(v)) for v in values)


@pytest.mark.parametrize("value,encoded", [
    (0, b"\x00"), (1, b"\x01"), (127, b"\x7f"), (128, b"\x80\x01"), (300, b"\xac\x02"),
    (-1, b"\xff" * 9 + b"\x01"), ((1 << 64) - 1, b"\xff" * 9 + b"\x01"),
])
def test_varint_known_bytes(value, encoded):
    assert proto.encode_varint(value) == encoded
    decoded, pos = proto.decode_varint(encoded, 0)
    assert pos == len(encoded)
    assert proto.as_int64(decoded) == (value if value < (1 << 63) else value - (1 << 64))


def test_packed_varints_match_scalar_loop():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.integers(-(1 << 62), 1 << 62, 500),
                             [0, 1, 127, 128, 16383, 16384, -1, np.iinfo(np.int64).min,
                              np.iinfo(np.int64).max]]).astype(np.int64)
    data = proto.encode_packed_varints(values)
    assert data == loop_varints(values)
    decoded = proto.decode_packed_varints(data)
    np.testing.assert_array_equal(decoded.view(np.int64), values)
    assert proto.encode_packed_varints(np.array([True, False])) == b"\x01\x00"


def test_fields_accessors():
    sub = proto.varint_field(1, 7) + proto.bytes_field(2, "name")
    msg = (proto.varint_field(1, -5) + proto.bytes_field(2, b"raw")
           + proto.message_field(3, sub) + proto.message_field(3, b"")
           + proto.float_field(4, 1.5) + proto.double_field(5, -2.25)
           + proto.packed_varint_field(6, [1, 300, 2]) + proto.varint_field(6, 9)
           + proto.packed_fixed_field(7, [1.0, 2.0], "<f4")
           + proto.float_field(7, 3.0) + proto.fixed32_field(8, 0xDEADBEEF)
           + proto.fixed64_field(9, 1 << 40))
    f = proto.Fields(msg)
    assert f.int64(1) == -5 and f.int32(1) == -5
    assert f.bytes(2) == b"raw"
    subs = f.messages(3)
    assert len(subs) == 2 and subs[0].varint(1) == 7 and subs[0].string(2) == "name"
    assert not subs[1].has(1)
    assert f.fixed_scalar(4, "<f4") == 1.5 and f.fixed_scalar(5, "<f8") == -2.25
    np.testing.assert_array_equal(f.varints(6), [1, 300, 2, 9])
    np.testing.assert_array_equal(f.fixed(7, "<f4"), [1.0, 2.0, 3.0])
    assert f.fixed_scalar(8, "<u4") == 0xDEADBEEF and f.fixed_scalar(9, "<u8") == 1 << 40
    assert f.varint(99, default=4) == 4 and f.message(99) is None
    assert f.numbers() == [1, 2, 3, 4, 5, 6, 7, 8, 9]


def test_defaults_are_omitted_but_messages_are_not():
    assert proto.varint_field(1, 0) == b"" and proto.bytes_field(1, "") == b""
    assert proto.float_field(1, 0.0) == b"" and proto.double_field(1, 0.0) == b""
    assert proto.float_field(1, -0.0) == b"\x0d" + struct.pack("<f", -0.0)
    assert proto.varint_field(1, 0, always=True) == b"\x08\x00"
    assert proto.message_field(2, b"") == b"\x12\x00"


@pytest.mark.parametrize("bad", [
    b"\x08",                    # varint value missing
    b"\x12\x05ab",              # length past the end
    b"\x0d\x00\x00",            # fixed32 cut short
    b"\x0b",                    # wire type 3 (groups) unsupported
    b"\x00\x01",                # field number 0
    b"\x08" + b"\xff" * 11,     # varint too long
])
def test_malformed_input_raises(bad):
    with pytest.raises(proto.DecodeError):
        proto.Fields(bad)


def test_wire_type_mismatch_and_bad_packed_data():
    f = proto.Fields(proto.varint_field(1, 3))
    with pytest.raises(proto.DecodeError):
        f.bytes(1)
    with pytest.raises(proto.DecodeError):
        proto.decode_packed_varints(b"\x80")
    with pytest.raises(proto.DecodeError):
        proto.Fields(proto.message_field(1, b"abc")).fixed(1, "<f4")
