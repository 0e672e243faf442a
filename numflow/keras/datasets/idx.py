"""Reading IDX files, the array format MNIST and Fashion-MNIST ship in.

An IDX file starts with a four-byte magic number: two zero bytes, a byte naming the
element type and a byte giving the number of dimensions. Then come the dimensions as
big-endian 32-bit integers, then the elements in C order, big-endian. Files are often
gzip-compressed; the reader recognises gzip by its own magic bytes.
"""
import gzip
import zlib

import numpy as np

_GZIP_MAGIC = b"\x1f\x8b"

# The element type byte of the magic number, and the big-endian NumPy type it names.
_ELEMENT_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(source, magic=None):
    """Reads an IDX file (raw or gzip-compressed) into a NumPy array.

    Args:
      source: a path, or a binary file object open for reading.
      magic: if given, the magic number the file must carry as an integer
        (2051 for MNIST's image files, 2049 for its label files).

    Returns:
      A writable array in native byte order, with the file's shape and element type
      (``uint8`` for MNIST).

    Raises:
      ValueError: if the data is not a well-formed IDX file, has another magic number
        than ``magic``, or its size does not match its header.

    Example:
      >>> labels = read_idx("train-labels-idx1-ubyte.gz", magic=2049)  # doctest: +SKIP
    """
    if hasattr(source, "read"):
        name = getattr(source, "name", repr(source))
        data = source.read()
    else:
        name = str(source)
        with open(source, "rb") as f:
            data = f.read()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{name} is a damaged gzip file: {e}") from e
    return parse_idx(data, name=name, magic=magic)


def parse_idx(data, name="<bytes>", magic=None):
    """Parses the bytes of an uncompressed IDX file into a NumPy array.

    Args:
      data: the file's bytes.
      name: how error messages refer to the data.
      magic: if given, the magic number the data must carry (see ``read_idx``).

    Returns:
      A writable array in native byte order.

    Raises:
      ValueError: if the data is not a well-formed IDX file.
    """
    if len(data) < 4:
        raise ValueError(f"{name} is not an IDX file: it has only {len(data)} bytes.")
    found = int.from_bytes(data[:4], "big")
    if magic is not None and found != magic:
        raise ValueError(f"Invalid magic number {found} in IDX file {name} "
                         f"(expected {magic}).")
    if data[0] or data[1] or data[2] not in _ELEMENT_TYPES:
        raise ValueError(f"{name} is not an IDX file: its magic number is "
                         f"0x{found:08x}, not 0x0000TTNN with a known element type TT.")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{name} is truncated: its header names {ndim} dimensions but "
                         f"the file has only {len(data)} bytes.")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = _ELEMENT_TYPES[data[2]]
    count = int(np.prod(shape, dtype=np.int64))
    expected = header + count * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"{name} has {len(data)} bytes, but its header (shape {shape}, "
                         f"{dtype.name}) needs exactly {expected}; the file is damaged.")
    array = np.frombuffer(data, dtype, count=count, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))
