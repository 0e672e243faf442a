"""Tests for numflow.io.crc32c against published vectors and a byte-at-a-time reference."""
import numpy as np
import pytest

from numflow.io import crc32c as crcmod
from numflow.io.crc32c import crc32c, mask_crc32c, masked_crc32c, unmask_crc32c

_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _TABLE.append(_c)


def reference_crc(data, crc=0):
    """Bit-level definition, independent of the module's tables."""
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


@pytest.mark.parametrize("data,expected", [
    (b"", 0),
    (b"123456789", 0xE3069283),
    (bytes(32), 0x8A9136AA),                 # RFC 3720 B.4
    (b"\xff" * 32, 0x62A8AB43),
    (bytes(range(32)), 0x46DD794E),
    (bytes(range(31, -1, -1)), 0x113FDB5C),
])
def test_known_vectors(data, expected):
    assert crc32c(data) == expected


@pytest.mark.parametrize("n", [1, 63, 8191, 8192, 8193, 65536, 100003, 1 << 20])
def test_random_data_matches_reference(n):
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    assert crc32c(data) == reference_crc(data)
    assert crc32c(data, 0xDEADBEEF) == reference_crc(data, 0xDEADBEEF)


def test_vectorised_path_directly():
    rng = np.random.default_rng(7)
    for n in (1, 5, 64, 1000, 20001):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert crcmod._crc_numpy(data, 0x1234) == reference_crc(data, 0x1234)


def test_continuation_and_input_types():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, 30000, dtype=np.uint8)
    b = rng.integers(0, 256, 5000, dtype=np.uint8)
    whole = crc32c(a.tobytes() + b.tobytes())
    assert crc32c(b, crc32c(a)) == whole
    assert crc32c(memoryview(a.tobytes() + b.tobytes())) == whole
    floats = rng.standard_normal(1000).astype(np.float32)
    assert crc32c(floats) == reference_crc(floats.tobytes())
    assert crc32c(bytearray(b"123456789")) == 0xE3069283


def test_large_buffer_is_fast():
    import time
    data = np.random.default_rng(0).integers(0, 256, 13_000_000, dtype=np.uint8)
    start = time.perf_counter()
    value = crc32c(data)
    assert time.perf_counter() - start < 2.0
    head = data[:4096].tobytes()
    assert crc32c(data[4096:], crc32c(head)) == value


def test_mask_roundtrip():
    for v in (0, 1, 0xE3069283, 0xFFFFFFFF, 0x80000000):
        assert unmask_crc32c(mask_crc32c(v)) == v
    assert masked_crc32c(b"123456789") == mask_crc32c(0xE3069283)
    # value from TF's crc32c_test.cc: Mask(crc) != crc and Mask(Mask(crc)) != crc
    crc = crc32c(b"foo")
    assert mask_crc32c(crc) != crc and mask_crc32c(mask_crc32c(crc)) != crc
