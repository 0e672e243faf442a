"""File datasets: TFRecordDataset, TextLineDataset, FixedLengthRecordDataset, list_files.

File names may be a string, a list, a string tensor (a TF1 placeholder fed through an
initializable iterator included) or a dataset of strings. With ``num_parallel_reads``
> 1 the files are read in TF's interleave order (``cycle_length=num_parallel_reads``,
``block_length=1``).
"""
import glob
import gzip
import os
import zlib

import numpy as np

from numflow.data import structure
from numflow.data.dataset import UNKNOWN, Dataset, as_count, file_names
from numflow.data.transforms import interleave
from numflow.eager.function import TensorSpec
from numflow.eager.tensor import EagerTensor
from numflow.framework import dtypes, errors
from numflow.graph.tensor import Tensor
from numflow.io import tfrecord

_STRING = TensorSpec([], dtypes.string)


def _scalar(value):
    out = np.empty((), dtype=object)
    out[()] = value
    return out


def _files_dataset(filenames):
    """A dataset of string scalars from any accepted form of ``filenames``."""
    if structure.is_dataset(filenames):
        spec = filenames.element_spec
        if not (isinstance(spec, TensorSpec) and spec.dtype == dtypes.string):
            raise TypeError("`filenames` must be a `tf.data.Dataset` of `tf.string` elements.")
        return filenames
    if isinstance(filenames, Tensor) and not isinstance(filenames, EagerTensor):
        if filenames.dtype.base_dtype != dtypes.string:
            raise TypeError("`filenames` must be a `tf.Tensor` of `tf.string`.")
        if filenames.shape.rank == 0:
            return Dataset.from_tensors(filenames)
        return Dataset.from_tensor_slices(filenames)
    names = file_names(filenames)
    arr = np.empty(len(names), dtype=object)
    arr[:] = [os.fsencode(n) for n in names]
    return Dataset.from_tensor_slices(arr)


def _compression(value):
    if isinstance(value, (EagerTensor, np.ndarray)):
        value = np.asarray(value).reshape(())[()]
    if isinstance(value, bytes):
        value = value.decode()
    return tfrecord.compression_type_string(value)


def _open(path, kind):
    try:
        raw = open(path, "rb")
    except FileNotFoundError:
        raise errors.NotFoundError(None, None, f"{path}; No such file or directory") from None
    except IsADirectoryError:
        raise errors.FailedPreconditionError(None, None, f"{path}; Is a directory") from None
    if kind == "GZIP":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if kind == "ZLIB":
        return _Inflate(raw)
    return raw


class _Inflate:
    """A readable binary stream over a ZLIB-compressed file."""

    def __init__(self, raw):
        self._raw, self._z, self._buf = raw, zlib.decompressobj(), b""

    def read(self, n=-1):
        """Up to ``n`` decompressed bytes (all of them when ``n`` < 0)."""
        while (n < 0 or len(self._buf) < n) and not self._z.eof:
            chunk = self._raw.read(1 << 16)
            if not chunk:
                break
            self._buf += self._z.decompress(chunk)
        if n < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def close(self):
        """Closes the underlying file."""
        self._raw.close()


class _FileDataset(Dataset):
    """Records of each file, files in order or interleaved."""

    def __init__(self, filenames, num_parallel_reads):
        files = _files_dataset(filenames)
        self._cycle = 1 if num_parallel_reads in (None, -1) else \
            max(1, as_count(num_parallel_reads, "num_parallel_reads"))
        super().__init__([files], _STRING)

    def _records(self, path):
        raise NotImplementedError(type(self).__name__)

    def _cardinality(self):
        return 0 if self._inputs[0]._cardinality() == 0 else UNKNOWN

    def _elements(self):
        def open_file(name):
            path = os.fsdecode(name[()] if isinstance(name, np.ndarray) else name)
            return (_scalar(r) for r in self._records(path))
        return interleave(self._inputs[0]._elements(), open_file, self._cycle, 1)


class TFRecordDataset(_FileDataset):
    """The records of TFRecord files (``tf.data.TFRecordDataset``).

    Args:
      filenames: a file name, a list of them, a string tensor or a dataset of strings.
      compression_type: ``""`` (none), ``"ZLIB"`` or ``"GZIP"``.
      buffer_size: accepted (Python's buffered files are used).
      num_parallel_reads: read this many files interleaved.

    Raises (while iterating):
      NotFoundError: a file is missing.
      DataLossError: a record is truncated or corrupted (naming the file and offset).
    """

    def __init__(self, filenames, compression_type=None, buffer_size=None,
                 num_parallel_reads=None, name=None):
        self._kind = _compression(compression_type)
        super().__init__(filenames, num_parallel_reads)

    def _records(self, path):
        return tfrecord.tf_record_iterator(path, compression_type=self._kind)


class TextLineDataset(_FileDataset):
    """The lines of text files, without their line ends (``tf.data.TextLineDataset``).

    ``\\n`` ends a line and a ``\\r`` before it is dropped too; a last line without a
    newline is kept. Arguments as TFRecordDataset.
    """

    def __init__(self, filenames, compression_type=None, buffer_size=None,
                 num_parallel_reads=None, name=None):
        self._kind = _compression(compression_type)
        super().__init__(filenames, num_parallel_reads)

    def _records(self, path):
        f = _open(path, self._kind)
        try:
            data = f.read()
        except (OSError, EOFError, zlib.error) as e:
            raise errors.DataLossError(None, None, f"{path}: damaged {self._kind} stream "
                                                   f"({e})") from None
        finally:
            f.close()
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for line in lines:
            yield line[:-1] if line.endswith(b"\r") else line


class FixedLengthRecordDataset(_FileDataset):
    """Fixed-size records of binary files (``tf.data.FixedLengthRecordDataset``).

    Args:
      filenames: as TFRecordDataset.
      record_bytes: the size of each record.
      header_bytes, footer_bytes: bytes skipped at the start and end of each file.
      compression_type: ``""``, ``"ZLIB"`` or ``"GZIP"``.
    """

    def __init__(self, filenames, record_bytes, header_bytes=None, footer_bytes=None,
                 buffer_size=None, compression_type=None, num_parallel_reads=None, name=None):
        self._record = as_count(record_bytes, "record_bytes")
        if self._record <= 0:
            raise errors.InvalidArgumentError(None, None, "record_bytes must be > 0.")
        self._header = as_count(header_bytes or 0, "header_bytes")
        self._footer = as_count(footer_bytes or 0, "footer_bytes")
        self._kind = _compression(compression_type)
        super().__init__(filenames, num_parallel_reads)

    def _records(self, path):
        f = _open(path, self._kind)
        try:
            data = f.read()
        finally:
            f.close()
        body = data[self._header:len(data) - self._footer]
        n, rest = divmod(len(body), self._record)
        if rest:
            raise errors.DataLossError(
                None, None, f"Excluding the header ({self._header} bytes) and footer "
                            f"({self._footer} bytes), input file \"{path}\" has body length "
                            f"{len(body)} bytes, which is not an exact multiple of the record "
                            f"length ({self._record} bytes).")
        for i in range(n):
            yield body[i * self._record:(i + 1) * self._record]


def list_files(file_pattern, shuffle=None, seed=None):
    """A dataset of the files matching ``file_pattern`` (a glob, or a list of them),
    in sorted order, shuffled unless ``shuffle=False`` (``tf.data.Dataset.list_files``).

    Raises:
      InvalidArgumentError: nothing matches.
    """
    patterns = file_names(file_pattern)
    matches = sorted({m for p in patterns for m in glob.glob(p)})
    if not matches:
        raise errors.InvalidArgumentError(
            None, None, f"Expected 'tf.Tensor(False, shape=(), dtype=bool)' to be true. "
                        f"Summarized data: b'No files matched pattern: "
                        f"{', '.join(patterns)}'")
    arr = np.empty(len(matches), dtype=object)
    arr[:] = [os.fsencode(m) for m in matches]
    ds = Dataset.from_tensor_slices(arr)
    if shuffle is None or shuffle:
        ds = ds.shuffle(len(matches), seed=seed)
    return ds

