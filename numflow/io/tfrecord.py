"""TFRecord files: length-prefixed records with masked CRC-32C checksums.

Each record is framed as::

    uint64 length | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)

(all little-endian). A file may be compressed as a whole with GZIP or ZLIB.
:func:`write_record` is the one framing routine; the TensorBoard event writer uses
it too. Reading checks both checksums and reports a truncated or corrupted record
as a ``DataLossError`` naming the file and the record's (uncompressed) byte offset.
"""
import gzip
import os
import struct
import zlib

from numflow.framework import errors
from numflow.io.atomic import commit_temp_file, remove_quietly, temp_path_for
from numflow.io.crc32c import masked_crc32c

_HEADER = 12
_FOOTER = 4
_READ_CHUNK = 1 << 24  # never trust a stored length with one huge allocation


class TFRecordCompressionType:
    """The compression of a TFRecord file (``tf.compat.v1.io.TFRecordCompressionType``)."""
    NONE = 0
    ZLIB = 1
    GZIP = 2


_NAMES = {None: "", "": "", "NONE": "", "ZLIB": "ZLIB", "GZIP": "GZIP",
          TFRecordCompressionType.NONE: "", TFRecordCompressionType.ZLIB: "ZLIB",
          TFRecordCompressionType.GZIP: "GZIP"}


class TFRecordOptions:
    """Options for TFRecord files (``tf.io.TFRecordOptions``).

    Args:
      compression_type: ``""``/None, ``"ZLIB"``, ``"GZIP"`` or a TFRecordCompressionType.
      compression_level: zlib level 0-9 (default 6, as TF).
      input_buffer_size, output_buffer_size: accepted for TF's signature; buffering
        is left to Python's file objects.
      flush_mode, window_bits, compression_method, mem_level, compression_strategy:
        zlib tuning; setting any of them raises NotImplementedError.
    """

    def __init__(self, compression_type=None, flush_mode=None, input_buffer_size=None,
                 output_buffer_size=None, window_bits=None, compression_level=None,
                 compression_method=None, mem_level=None, compression_strategy=None):
        tuning = dict(flush_mode=flush_mode, window_bits=window_bits,
                      compression_method=compression_method, mem_level=mem_level,
                      compression_strategy=compression_strategy)
        unsupported = [k for k, v in tuning.items() if v is not None]
        if unsupported:
            raise NotImplementedError(f"TFRecordOptions zlib tuning: {', '.join(unsupported)}.")
        self.compression_type = compression_type
        self.compression_level = compression_level
        self.input_buffer_size = input_buffer_size
        self.output_buffer_size = output_buffer_size

    @classmethod
    def get_compression_type_string(cls, options):
        """``""``, ``"ZLIB"`` or ``"GZIP"`` for options, a compression type, or None."""
        return compression_type_string(options)


def compression_type_string(options):
    """Normalises None, a string, a TFRecordCompressionType or an options object."""
    value = getattr(options, "compression_type", options)
    key = value.upper() if isinstance(value, str) else value
    if key not in _NAMES:
        raise ValueError(f"Unsupported TFRecord compression type: {value!r}.")
    return _NAMES[key]


def _level(options):
    level = getattr(options, "compression_level", None)
    return 6 if level is None or level < 0 else level


def encode_record(data):
    """The framed bytes of one record."""
    header = struct.pack("<Q", len(data))
    return (header + struct.pack("<I", masked_crc32c(header)) + bytes(data)
            + struct.pack("<I", masked_crc32c(data)))


def write_record(stream, data):
    """Appends one framed record to the binary ``stream``."""
    stream.write(encode_record(data))


class _ZlibWriter:
    def __init__(self, raw, level):
        self._raw, self._z = raw, zlib.compressobj(level)

    def write(self, data):
        self._raw.write(self._z.compress(data))

    def flush(self):
        self._raw.write(self._z.flush(zlib.Z_SYNC_FLUSH))
        self._raw.flush()

    def close(self):
        self._raw.write(self._z.flush())


class TFRecordWriter:
    """Writes records to a TFRecord file (``tf.io.TFRecordWriter``).

    Args:
      path: the file to create.
      options: None, ``""``, ``"GZIP"``, ``"ZLIB"``, or a TFRecordOptions.

    Records go to a temporary file next to ``path`` that is renamed into place by
    :meth:`close` (or at the end of a ``with`` block); if the ``with`` body raises,
    the temporary file is deleted and ``path`` is left untouched.
    """

    def __init__(self, path, options=None):
        self._path = os.fspath(path)
        kind = compression_type_string(options)
        self._temp = temp_path_for(self._path)
        self._raw = open(self._temp, "xb")
        if kind == "GZIP":
            self._out = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw,
                                      compresslevel=_level(options), mtime=0)
        elif kind == "ZLIB":
            self._out = _ZlibWriter(self._raw, _level(options))
        else:
            self._out = self._raw
        self._closed = False

    def write(self, record):
        """Writes one record (bytes; str is encoded as UTF-8)."""
        if self._closed:
            raise ValueError(f"Writer for {self._path} is closed.")
        if isinstance(record, str):
            record = record.encode("utf-8")
        write_record(self._out, record)

    def flush(self):
        """Pushes buffered records to the (still temporary) file."""
        if not self._closed:
            self._out.flush()

    def close(self):
        """Finishes the file and renames it into place; further calls do nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._out is not self._raw:
                self._out.close()
            self._raw.flush()
            os.fsync(self._raw.fileno())
            self._raw.close()
            commit_temp_file(self._temp, self._path)
        except BaseException:
            self._abort()
            raise

    def _abort(self):
        self._closed = True
        self._raw.close()
        remove_quietly(self._temp)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self._abort()

    def __del__(self):
        if not getattr(self, "_closed", True):
            self.close()


# ---- reading -------------------------------------------------------------------------

class _ZlibReader:
    def __init__(self, raw):
        self._raw, self._z, self._buf = raw, zlib.decompressobj(), b""

    def read(self, n):
        while len(self._buf) < n and not self._z.eof:
            chunk = self._z.unconsumed_tail or self._raw.read(1 << 16)
            if not chunk:
                raise EOFError("ZLIB stream ended before its end marker")
            self._buf += self._z.decompress(chunk, n - len(self._buf))
        out, self._buf = self._buf[:n], self._buf[n:]
        return out


def _read_exact(stream, n):
    parts, need = [], n
    while need:
        part = stream.read(min(need, _READ_CHUNK))
        if not part:
            break
        parts.append(part)
        need -= len(part)
    return b"".join(parts)


def read_records(stream, filename):
    """Yields the records of an open, already decompressed binary ``stream``."""
    offset = 0
    while True:
        header = _read_exact(stream, _HEADER)
        if not header:
            return
        if len(header) < _HEADER:
            raise errors.DataLossError(None, None, f"{filename}: truncated record at {offset}")
        length, length_crc = struct.unpack("<QI", header)
        if masked_crc32c(header[:8]) != length_crc:
            raise errors.DataLossError(None, None, f"{filename}: corrupted record at {offset} "
                                       "(length checksum mismatch)")
        body = _read_exact(stream, length + _FOOTER)
        if len(body) < length + _FOOTER:
            raise errors.DataLossError(None, None, f"{filename}: truncated record at {offset}")
        data = body[:length]
        if masked_crc32c(data) != struct.unpack("<I", body[length:])[0]:
            raise errors.DataLossError(None, None, f"{filename}: corrupted record at {offset} "
                                       "(data checksum mismatch)")
        yield data
        offset += _HEADER + length + _FOOTER


def tf_record_iterator(path, options=None, compression_type=None):
    """Yields the records of a TFRecord file (``tf.compat.v1.io.tf_record_iterator``).

    Args:
      path: the file to read.
      options: TF's argument: None, a compression string, or a TFRecordOptions.
      compression_type: the same as a keyword, as ``TFRecordDataset`` passes it.

    Raises:
      NotFoundError: if ``path`` does not exist.
      DataLossError: naming the file and offset of a truncated or corrupted record,
        or a damaged compressed stream.
    """
    path = os.fspath(path)
    kind = compression_type_string(compression_type if compression_type is not None
                                   else options)
    try:
        raw = open(path, "rb")
    except FileNotFoundError:
        raise errors.NotFoundError(None, None, f"{path}; No such file or directory") from None
    with raw:
        if kind == "GZIP":
            stream = gzip.GzipFile(fileobj=raw, mode="rb")
        elif kind == "ZLIB":
            stream = _ZlibReader(raw)
        else:
            stream = raw
        try:
            yield from read_records(stream, path)
        except (OSError, EOFError, zlib.error) as e:
            raise errors.DataLossError(None, None, f"{path}: damaged {kind} stream ({e})") \
                from None
