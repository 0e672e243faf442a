"""CRC-32C (Castagnoli), as used by TFRecord files, event files and TF checkpoints.

``crc32c`` uses the ``google_crc32c`` or ``crc32c`` extension module when one is
installed. Otherwise short inputs run a table loop, and long inputs run a
NumPy-vectorised method: the buffer is cut into many equal chunks whose CRCs are
computed together (slicing-by-4 over every chunk at once), then the chunk CRCs are
merged pairwise with the GF(2) "append n zero bytes" operator, again vectorised.
"""
import numpy as np

_POLY = 0x82F63B78  # reflected Castagnoli polynomial
_MASK_DELTA = 0xA282EAD8
_SMALL = 8192  # below this many bytes the plain table loop is faster


def _make_tables():
    t = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        t = np.where(t & 1, (t >> 1) ^ np.uint32(_POLY), t >> 1).astype(np.uint32)
    tables = [t]
    for _ in range(3):
        prev = tables[-1]
        tables.append(((prev >> 8) ^ t[prev & 0xFF]).astype(np.uint32))
    return tables


_TABLES = _make_tables()
_TABLE_LIST = [int(v) for v in _TABLES[0]]


def _crc_loop(data, crc):
    """Reference byte-at-a-time CRC-32C (pre/post inverted), for short inputs."""
    table = _TABLE_LIST
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


# ---- linear operators on the raw (non-inverted) CRC register -------------------------
# An operator is a uint32 array of 32 entries: the images of the 32 basis bits.

def _byte_tables(op):
    """Four 256-entry tables so that op(x) = T0[b0] ^ T1[b1] ^ T2[b2] ^ T3[b3]."""
    out = np.zeros((4, 256), dtype=np.uint32)
    for b in range(4):
        for k in range(8):
            size = 1 << k
            out[b, size:2 * size] = out[b, :size] ^ op[8 * b + k]
    return out


def _apply(tables, x):
    return (tables[0][x & 0xFF] ^ tables[1][(x >> 8) & 0xFF]
            ^ tables[2][(x >> 16) & 0xFF] ^ tables[3][x >> 24])


def _compose(a, b):
    """The operator x -> a(b(x))."""
    return _apply(_byte_tables(a), b)


_ONE_ZERO_BYTE = (_TABLES[0][(np.uint32(1) << np.arange(32, dtype=np.uint32)) & 0xFF]
                  ^ ((np.uint32(1) << np.arange(32, dtype=np.uint32)) >> 8)).astype(np.uint32)
_IDENTITY = (np.uint32(1) << np.arange(32, dtype=np.uint32)).astype(np.uint32)


def _zeros_operator(n):
    """The operator that advances the raw CRC register over ``n`` zero bytes."""
    result, square = _IDENTITY, _ONE_ZERO_BYTE
    while n:
        if n & 1:
            result = _compose(square, result)
        n >>= 1
        if n:
            square = _compose(square, square)
    return result


def _raw_crc_numpy(buf):
    """Raw CRC (register starting at 0, no final inversion) of a long uint8 array."""
    n = buf.size
    chunk = 1 << max(6, (int(n).bit_length() + 1) // 2 - 3)  # ~sqrt(n)/8, a power of 2
    count = 1 << max(0, int(-(-n // chunk) - 1).bit_length())  # chunks, power of 2
    padded = np.zeros(count * chunk, dtype=np.uint8)
    padded[count * chunk - n:] = buf  # leading zeros leave a zero register unchanged
    words = np.ascontiguousarray(padded.view("<u4").reshape(count, chunk // 4).T)
    t0, t1, t2, t3 = _TABLES
    c = np.zeros(count, dtype=np.uint32)
    for w in words:
        c ^= w
        c = t3[c & 0xFF] ^ t2[(c >> 8) & 0xFF] ^ t1[(c >> 16) & 0xFF] ^ t0[c >> 24]
    op = _zeros_operator(chunk)
    while c.size > 1:
        c = _apply(_byte_tables(op), c[0::2]) ^ c[1::2]
        op = _compose(op, op)
    return int(c[0])


def _crc_numpy(data, crc):
    buf = np.frombuffer(data, dtype=np.uint8)
    raw = _raw_crc_numpy(buf)
    start = np.array([crc ^ 0xFFFFFFFF], dtype=np.uint32)
    shifted = int(_apply(_byte_tables(_zeros_operator(buf.size)), start)[0])
    return (shifted ^ raw) ^ 0xFFFFFFFF


def _as_bytes_like(data):
    if isinstance(data, np.ndarray):
        return memoryview(np.ascontiguousarray(data)).cast("B")
    if isinstance(data, memoryview):
        return data.cast("B") if data.contiguous else memoryview(data.tobytes())
    return data


def _load_extension():
    try:
        import google_crc32c
        return lambda data, crc: google_crc32c.extend(crc, bytes(data))
    except ImportError:
        pass
    try:
        import crc32c as ext
        return lambda data, crc: ext.crc32c(data, crc)
    except ImportError:
        return None


_EXTENSION = _load_extension()


def crc32c(data, crc=0):
    """Returns the CRC-32C of ``data`` (bytes-like or ndarray), continuing from ``crc``.

    ``crc32c(b, crc32c(a)) == crc32c(a + b)``; ``crc32c(b"123456789") == 0xE3069283``.
    """
    data = _as_bytes_like(data)
    crc &= 0xFFFFFFFF
    if _EXTENSION is not None:
        return _EXTENSION(data, crc)
    if len(data) < _SMALL:
        return _crc_loop(data, crc)
    return _crc_numpy(data, crc)


def mask_crc32c(crc):
    """TF's checksum mask: rotate right by 15 bits and add a constant (mod 2**32)."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def masked_crc32c(data):
    """The masked CRC-32C that TFRecord, events and checkpoint files store."""
    return mask_crc32c(crc32c(data))


def unmask_crc32c(masked):
    """Inverse of the mask: recovers the CRC-32C from a stored masked value."""
    rot = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF
