"""TensorFlow's V2 checkpoint ("tensor bundle") format, read and written byte-compatibly.

A checkpoint ``prefix`` is two files:

* ``prefix.data-00000-of-00001``: the tensors' bytes back to back. Numeric tensors
  are raw little-endian arrays. A string tensor is ``varint len_0 .. len_n-1 |
  masked crc32c of the lengths (fixed32) | bytes_0 .. bytes_n-1``.
* ``prefix.index``: an SSTable (:mod:`numflow.io.sstable`). The empty key holds a
  ``BundleHeaderProto`` (num_shards, endianness, version); every other key is a
  tensor name holding a ``BundleEntryProto`` (dtype, shape, shard_id, offset,
  size, masked crc32c of the tensor's bytes).

For a string tensor the entry's checksum covers each length as a 4-byte
little-endian integer (8 bytes if it exceeds 2**32-1), then the stored length
checksum, then the string bytes.
"""
import os
import struct
import sys

import numpy as np

from numflow.framework import dtypes, errors
from numflow.io import proto, sstable
from numflow.io.atomic import atomic_write, atomic_write_bytes
from numflow.io.crc32c import crc32c, mask_crc32c, unmask_crc32c

_TENSOR_BUNDLE_VERSION = 1
_HEADER_KEY = b""
_UINT32_MAX = 0xFFFFFFFF
_HOST_BIG_ENDIAN = int(sys.byteorder == "big")  # BundleHeaderProto.Endianness


def data_filename(prefix, shard=0, num_shards=1):
    """The name of data shard ``shard`` of checkpoint ``prefix``."""
    return f"{os.fspath(prefix)}.data-{shard:05d}-of-{num_shards:05d}"


def index_filename(prefix):
    """The name of the index file of checkpoint ``prefix``."""
    return f"{os.fspath(prefix)}.index"


# ---- protos --------------------------------------------------------------------------

def _shape_proto(shape):
    return b"".join(proto.message_field(2, proto.varint_field(1, d)) for d in shape)


def _entry_proto(dtype_enum, shape, offset, size, crc):
    return (proto.varint_field(1, dtype_enum) + proto.message_field(2, _shape_proto(shape))
            + proto.varint_field(4, offset) + proto.varint_field(5, size)
            + proto.fixed32_field(6, crc))


def _header_proto():
    version = proto.varint_field(1, _TENSOR_BUNDLE_VERSION)
    return (proto.varint_field(1, 1) + proto.varint_field(2, _HOST_BIG_ENDIAN)
            + proto.message_field(3, version))


# ---- string tensors ------------------------------------------------------------------

def _length_checksum_bytes(lengths):
    if lengths.size and lengths.max() > _UINT32_MAX:
        return b"".join(struct.pack("<I" if n <= _UINT32_MAX else "<Q", n) for n in lengths)
    return lengths.astype("<u4").tobytes()


def _encode_strings(flat):
    """The on-disk bytes and entry checksum of a flat sequence of bytes objects."""
    lengths = np.array([len(s) for s in flat], dtype=np.uint64)
    length_crc = crc32c(_length_checksum_bytes(lengths))
    checksum = struct.pack("<I", mask_crc32c(length_crc))
    body = b"".join(flat)
    crc = crc32c(body, crc32c(checksum, length_crc))
    return proto.encode_packed_varints(lengths) + checksum + body, crc


def _decode_strings(buf, count, where):
    """Inverse of :func:`_encode_strings` for ``count`` elements; checks both checksums."""
    ends = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) < 0x80)
    if ends.size < count:
        raise errors.DataLossError(None, None, f"{where}: truncated string lengths.")
    varint_end = int(ends[count - 1]) + 1 if count else 0
    try:
        lengths = proto.decode_packed_varints(buf[:varint_end])
    except proto.DecodeError as e:
        raise errors.DataLossError(None, None, f"{where}: bad string lengths ({e}).") from None
    body_start = varint_end + 4
    if body_start > len(buf) or body_start + int(lengths.sum(dtype=np.uint64)) != len(buf):
        raise errors.DataLossError(None, None, f"{where}: string sizes do not match the entry.")
    length_crc = crc32c(_length_checksum_bytes(lengths))
    checksum = buf[varint_end:body_start]
    if struct.unpack("<I", checksum)[0] != mask_crc32c(length_crc):
        raise errors.DataLossError(None, None, f"{where}: string length checksum mismatch.")
    crc = crc32c(buf[body_start:], crc32c(checksum, length_crc))
    bounds = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]) + body_start
    out = np.empty(count, dtype=object)
    out[:] = [bytes(buf[a:b]) for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())]
    return out, crc


# ---- writing -------------------------------------------------------------------------

def _as_array(name, value):
    """(DType, array) for a tensor value; strings become object arrays of bytes."""
    if isinstance(value, (bytes, str)):
        value = np.array(value, dtype=object)
    arr = np.asarray(value)
    if arr.dtype.kind in "US" and not isinstance(value, np.ndarray):
        arr = np.array(value, dtype=object)  # keeps trailing NUL bytes that "S" would drop
    if arr.dtype.kind in "USO":
        if arr.dtype.kind != "O":
            arr = arr.astype(object)
        flat = [s.encode("utf-8") if isinstance(s, str) else s for s in arr.ravel().tolist()]
        if not all(isinstance(s, bytes) for s in flat):
            raise TypeError(f"Tensor {name!r}: an object array must hold only bytes or str.")
        out = np.empty(arr.shape, dtype=object)
        out.reshape(-1)[:] = flat
        return dtypes.string, out
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return dtypes.as_dtype(arr.dtype), arr


def write_checkpoint(prefix, tensors):
    """Writes ``tensors`` (dict name -> array) as a TF V2 checkpoint at ``prefix``.

    Creates ``prefix.data-00000-of-00001`` and then ``prefix.index``, each written
    atomically, so ``tf.train.load_checkpoint(prefix)`` can read the result. Values
    may be numeric or bool NumPy arrays, or bytes/str scalars and arrays (string
    tensors). Tensors are stored in sorted name order.
    """
    prefix = os.fspath(prefix)
    directory = os.path.dirname(prefix)
    if directory:
        os.makedirs(directory, exist_ok=True)
    names = sorted(tensors, key=lambda n: n.encode("utf-8") if isinstance(n, str) else n)
    entries = []
    with atomic_write(data_filename(prefix), "wb") as f:
        offset = 0
        for name in names:
            key = name.encode("utf-8") if isinstance(name, str) else bytes(name)
            if key == _HEADER_KEY:
                raise ValueError("The empty tensor name is reserved for the checkpoint header.")
            dtype, arr = _as_array(name, tensors[name])
            if dtype == dtypes.string:
                data, crc = _encode_strings(arr.ravel().tolist())
            else:
                data = memoryview(np.ascontiguousarray(arr).reshape(-1)).cast("B")
                crc = crc32c(data)
            f.write(data)
            entries.append((key, _entry_proto(dtype.as_datatype_enum, arr.shape, offset,
                                              len(data), mask_crc32c(crc))))
            offset += len(data)
        # built before the data file is committed, so a bad name fails with nothing replaced
        table = sstable.build_table([(_HEADER_KEY, _header_proto())] + entries)
    atomic_write_bytes(index_filename(prefix), table)


# ---- reading -------------------------------------------------------------------------

class _Entry:
    __slots__ = ("dtype_enum", "shape", "shard", "offset", "size", "crc", "sliced")

    def __init__(self, fields, where):
        self.dtype_enum = fields.varint(1)
        shape_msg = fields.message(2)
        self.shape = [] if shape_msg is None else [d.int64(1) for d in shape_msg.messages(2)]
        self.shard = fields.int32(3)
        self.offset = fields.int64(4)
        self.size = fields.int64(5)
        self.crc = fields.fixed_scalar(6, "<u4")
        self.sliced = fields.has(7)
        if min(self.shape + [self.shard, self.offset, self.size]) < 0:
            raise errors.DataLossError(None, None, f"{where}: negative shape, shard, offset "
                                       "or size.")


def _dtype_for_enum(enum, name):
    try:
        return dtypes.as_dtype(enum)
    except TypeError:
        raise NotImplementedError(f"Checkpoint tensor {name!r} has DataType enum {enum}, "
                                  "which numflow does not support.") from None


class CheckpointReader:
    """Reads a TF V2 checkpoint (``tf.train.load_checkpoint`` / ``tf.train.NewCheckpointReader``).

    Args:
      prefix: the checkpoint prefix (the path without ``.index``).

    Raises:
      NotFoundError: if the index or a data file does not exist.
      DataLossError: naming the file if the index is corrupt or a data file is
        shorter than the index says.
    """

    def __init__(self, prefix):
        self._prefix = os.fspath(prefix)
        index = index_filename(self._prefix)
        try:
            with open(index, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            if os.path.isfile(self._prefix):
                raise NotImplementedError("Reading V1 (TensorSlice) checkpoints.") from None
            raise errors.NotFoundError(
                None, None, "Unsuccessful TensorSliceReader constructor: Failed to find any "
                f"matching files for {self._prefix}") from None
        items = sstable.read_table(raw, index)
        if not items or items[0][0] != _HEADER_KEY:
            raise errors.DataLossError(None, None, f"{index}: missing bundle header.")
        try:
            self._read_header(proto.Fields(items[0][1]), index)
            self._entries = {}
            for key, value in items[1:]:
                where = f"{index}: entry {key!r}"
                self._entries[key.decode("utf-8")] = _Entry(proto.Fields(value), where)
        except (proto.DecodeError, UnicodeDecodeError) as e:
            raise errors.DataLossError(None, None, f"{index}: bad entry ({e}).") from None
        self._check_data_files()

    def _read_header(self, header, index):
        self._num_shards = header.int32(1)
        self._swap = header.varint(2) != _HOST_BIG_ENDIAN
        version = header.message(3)
        if self._num_shards < 1:
            raise errors.DataLossError(None, None, f"{index}: bad shard count.")
        if version is not None:
            min_consumer = version.int32(2)
            bad = version.varints(3).tolist()
            if min_consumer > _TENSOR_BUNDLE_VERSION or _TENSOR_BUNDLE_VERSION in bad:
                raise errors.InvalidArgumentError(
                    None, None, f"{index}: checkpoint needs reader version >= {min_consumer}; "
                    f"this reader is version {_TENSOR_BUNDLE_VERSION}.")

    def _data_file(self, shard):
        return data_filename(self._prefix, shard, self._num_shards)

    def _check_data_files(self):
        needed = {}
        for name, e in self._entries.items():
            if e.shard >= self._num_shards:
                raise errors.DataLossError(None, None, f"{index_filename(self._prefix)}: "
                                           f"tensor {name!r} names a missing shard {e.shard}.")
            needed[e.shard] = max(needed.get(e.shard, 0), e.offset + e.size)
        for shard, end in needed.items():
            path = self._data_file(shard)
            try:
                size = os.path.getsize(path)
            except FileNotFoundError:
                raise errors.NotFoundError(None, None, f"Data file {path} of checkpoint "
                                           f"{self._prefix} not found.") from None
            if size < end:
                raise errors.DataLossError(None, None, f"{path}: truncated: {size} bytes, "
                                           f"the index needs {end}.")

    def get_variable_to_shape_map(self):
        """A dict from each tensor name to its shape (a list of ints)."""
        return {name: list(e.shape) for name, e in self._entries.items()}

    def get_variable_to_dtype_map(self):
        """A dict from each tensor name to its DType."""
        return {name: _dtype_for_enum(e.dtype_enum, name) for name, e in self._entries.items()}

    def has_tensor(self, name):
        """True if the checkpoint holds a tensor named ``name``."""
        return name in self._entries

    def get_tensor(self, name):
        """Returns tensor ``name`` as a NumPy array (strings: an object array of bytes).

        Raises:
          NotFoundError: if there is no such tensor.
          DataLossError: naming the data file if its bytes fail their checksum.
        """
        e = self._entries.get(name)
        if e is None:
            raise errors.NotFoundError(None, None, f"Key {name} not found in checkpoint")
        if e.sliced:
            raise NotImplementedError("Reading partitioned (sliced) variables from a checkpoint.")
        dtype = _dtype_for_enum(e.dtype_enum, name)
        if dtype.name in ("resource", "variant"):
            raise NotImplementedError(f"Reading DT_{dtype.name.upper()} tensors from a "
                                      "checkpoint.")
        path = self._data_file(e.shard)
        where = f"{path}: tensor {name!r}"
        count = int(np.prod(e.shape, dtype=object))
        if dtype != dtypes.string:
            itemsize = np.dtype(dtype.as_numpy_dtype).itemsize
            if count * itemsize != e.size:
                raise errors.DataLossError(None, None, f"{where}: entry size {e.size} does not "
                                           f"match shape {e.shape} of {dtype.name}.")
        elif count > e.size:
            raise errors.DataLossError(None, None, f"{where}: entry too small for its shape.")
        buf = np.empty(e.size, dtype=np.uint8)
        with open(path, "rb") as f:
            f.seek(e.offset)
            got = f.readinto(memoryview(buf))
        if got != e.size:
            raise errors.DataLossError(None, None, f"{where}: file truncated.")
        if dtype == dtypes.string:
            arr, crc = _decode_strings(buf.tobytes(), count, where)
        else:
            crc = crc32c(buf)
            arr = buf.view(dtype.as_numpy_dtype)
            if self._swap:
                arr = arr.byteswap()
        if crc != unmask_crc32c(e.crc):
            raise errors.DataLossError(None, None, f"{where}: checksum does not match: stored "
                                       f"{unmask_crc32c(e.crc):#010x}, computed {crc:#010x}.")
        return arr.reshape(e.shape)
