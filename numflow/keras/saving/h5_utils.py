"""HDF5 access for Keras files through h5py, imported lazily and read defensively.

h5py is an optional dependency (``pip install numflow[h5]``); it is imported only when an
``.h5``/``.keras`` file is read or written, never by ``import numflow``.

Reading never trusts the file: every dataset must be a plain numeric or bool array (object,
variable-length, string, compound and reference dtypes are refused, so nothing can be
unpickled or smuggled in), its declared size must fit in the bytes the file actually has,
and every h5py/HDF5 failure becomes ``OSError`` (cannot open), ``ValueError`` (bad
structure) or ``numflow.errors.DataLossError`` (data that fails to read or its checksum)
naming the file. Datasets that numflow writes carry HDF5's Fletcher-32 checksum, so
corrupted weight bytes are detected on load.
"""
import contextlib
import io
import os
import threading

import numpy as np

from numflow.framework import errors

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
_SIGNATURE_OFFSETS = (0, 512, 1024, 2048, 4096)
_ALLOWED_KINDS = "biuf"
_MAX_ATTR_STRINGS = 1_000_000
HDF5_ATTR_LIMIT = 64512  # HDF5's object header limit for attributes (Keras splits above it)


_GUARD_HEADROOM = 1 << 30
_guard_lock = threading.Lock()


@contextlib.contextmanager
def memory_guard():
    """Caps the process's address space at its current size plus 1 GiB while libhdf5 reads
    file data (POSIX only): a corrupt variable-length length field then makes HDF5's
    allocation fail at once instead of zeroing gigabytes."""
    try:
        import resource
        with open("/proc/self/statm", "rb") as f:
            current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError, AttributeError):
        yield
        return
    with _guard_lock:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = current + _GUARD_HEADROOM
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        if soft != resource.RLIM_INFINITY and soft <= limit:
            yield
            return
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def h5py():
    """The h5py module, or ImportError saying how to install it."""
    try:
        import h5py as module
    except ImportError:
        raise ImportError("`save`/`load` of HDF5 (.h5, .keras, .weights.h5) files requires "
                          "h5py: `pip install h5py` (or `pip install numflow[h5]`).") from None
    return module


def sniff(path):
    """The format of the file at ``path``: ``"h5"``, ``"zip"``, ``"tf"`` (a TF checkpoint
    prefix), or None. Reads only the file's first bytes (HDF5 user blocks included)."""
    path = os.fspath(path)
    if os.path.isfile(path):
        try:
            with open(path, "rb") as f:
                head = f.read(max(_SIGNATURE_OFFSETS) + 8)
        except OSError:
            return None
        if head.startswith(ZIP_SIGNATURE):
            return "zip"
        for off in _SIGNATURE_OFFSETS:
            if head[off:off + 8] == HDF5_SIGNATURE:
                return "h5"
        return None
    if os.path.isfile(path + ".index"):
        return "tf"
    return None


def sniff_bytes(data):
    """Like :func:`sniff` for bytes in memory."""
    if data[:4] == ZIP_SIGNATURE:
        return "zip"
    for off in _SIGNATURE_OFFSETS:
        if data[off:off + 8] == HDF5_SIGNATURE:
            return "h5"
    return None


class H5Reader:
    """A read-only HDF5 file (a path or bytes) with checked accessors."""

    def __init__(self, source, name=None):
        h5 = h5py()
        self.name = name or (source if isinstance(source, str) else "<in-memory HDF5>")
        if isinstance(source, (bytes, bytearray)):
            self._size = len(source)
            source = io.BytesIO(bytes(source))
        else:
            source = os.fspath(source)
            try:
                self._size = os.path.getsize(source)
            except OSError as e:
                raise OSError(f"Unable to open file {self.name}: {e}") from None
        try:
            self.file = h5.File(source, "r")
        except (OSError, ValueError, KeyError, RuntimeError, TypeError) as e:
            raise OSError(f"Unable to open file {self.name} as HDF5 ({e}).") from None

    def close(self):
        try:
            self.file.close()
        except Exception:  # noqa: BLE001 - closing a corrupt file may fail; nothing to keep
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def root(self):
        return self.file

    # ---- structure ----------------------------------------------------------------------
    def is_group(self, obj):
        return isinstance(obj, h5py().Group)

    def get(self, group, key):
        """``group[key]`` or None if absent; ValueError if the file is broken there."""
        try:
            if key not in group:
                return None
            return group[key]
        except (OSError, KeyError, ValueError, RuntimeError, TypeError) as e:
            raise ValueError(f"{self.name}: cannot read '{key}' under "
                             f"'{_path(group)}' ({e}).") from None

    def group(self, group, key, required=True):
        obj = self.get(group, key)
        if obj is None:
            if required:
                raise ValueError(f"{self.name}: missing group '{key}' under '{_path(group)}'.")
            return None
        if not self.is_group(obj):
            raise ValueError(f"{self.name}: '{key}' under '{_path(group)}' is not a group.")
        return obj

    def keys(self, group):
        try:
            return [str(k) for k in group.keys()]
        except (OSError, KeyError, ValueError, RuntimeError, TypeError) as e:
            raise ValueError(f"{self.name}: cannot list '{_path(group)}' ({e}).") from None

    def attrs(self, obj):
        try:
            return list(obj.attrs.keys())
        except (OSError, KeyError, ValueError, RuntimeError, TypeError) as e:
            raise ValueError(f"{self.name}: cannot read attributes of '{_path(obj)}' "
                             f"({e}).") from None

    def attr(self, obj, name, default=None):
        """An attribute's raw value (numpy), ``default`` if absent."""
        try:
            if name not in obj.attrs:
                return default
            with memory_guard():
                return obj.attrs[name]
        except (OSError, KeyError, ValueError, RuntimeError, TypeError, MemoryError) as e:
            raise ValueError(f"{self.name}: cannot read attribute '{name}' of "
                             f"'{_path(obj)}' ({e}).") from None

    def str_attr(self, obj, name, default=None):
        """A string attribute (bytes or str in the file)."""
        value = self.attr(obj, name)
        if value is None:
            return default
        value = _to_str(value, self.name, name)
        if not isinstance(value, str):
            raise ValueError(f"{self.name}: attribute '{name}' is not a string.")
        return value

    def str_list_attr(self, obj, name):
        """A list-of-strings attribute, reassembling Keras's chunked ``name0, name1...``."""
        if name in self.attrs(obj):
            chunks = [self.attr(obj, name)]
        else:
            chunks, i = [], 0
            while f"{name}{i}" in self.attrs(obj):
                chunks.append(self.attr(obj, f"{name}{i}"))
                i += 1
        out = []
        for chunk in chunks:
            arr = np.asarray(chunk)
            if arr.size > _MAX_ATTR_STRINGS:
                raise ValueError(f"{self.name}: attribute '{name}' is too long.")
            if arr.dtype.kind not in "SUO" and arr.size:
                raise ValueError(f"{self.name}: attribute '{name}' is not a list of strings.")
            for item in arr.reshape(-1).tolist():
                item = _to_str(item, self.name, name)
                if not isinstance(item, str):
                    raise ValueError(f"{self.name}: attribute '{name}' holds a non-string.")
                out.append(item)
        return out

    def array(self, dataset, where=None):
        """The dataset's values as a new ndarray; refuses non-numeric dtypes and sizes the
        file cannot hold; read failures (including Fletcher-32 mismatches) raise
        DataLossError."""
        where = where or _path(dataset)
        h5 = h5py()
        if not isinstance(dataset, h5.Dataset):
            raise ValueError(f"{self.name}: '{where}' is not a dataset.")
        try:
            dtype = dataset.dtype
            shape = dataset.shape
        except (OSError, ValueError, RuntimeError, TypeError) as e:
            raise ValueError(f"{self.name}: cannot read '{where}' ({e}).") from None
        if dtype.kind not in _ALLOWED_KINDS or dtype.fields is not None or \
                h5.check_dtype(vlen=dtype) is not None or dtype.hasobject:
            raise ValueError(f"{self.name}: dataset '{where}' has dtype {dtype}; only numeric "
                             "and bool weights can be loaded (object, string and "
                             "variable-length data are refused).")
        if shape is None:
            raise ValueError(f"{self.name}: dataset '{where}' has no shape (empty dataspace).")
        count = 1
        for d in shape:
            if d < 0:
                raise ValueError(f"{self.name}: dataset '{where}' has a negative dimension.")
            count *= int(d)
        nbytes = count * dtype.itemsize
        if nbytes > max(self._size, 1) * 1024 + (1 << 20):
            # compressed data can shrink, but not beyond any plausible ratio
            raise ValueError(f"{self.name}: dataset '{where}' declares {shape} {dtype} "
                             f"({nbytes} bytes), far more than the file holds.")
        try:
            compression = dataset.compression
        except (OSError, ValueError, RuntimeError, TypeError):
            compression = None
        if compression is None and nbytes > self._size:
            raise errors.DataLossError(None, None, f"{self.name}: dataset '{where}' declares "
                                       f"{nbytes} bytes but the file has {self._size}.")
        try:
            with memory_guard():
                value = dataset[()]
        except (OSError, ValueError, RuntimeError, TypeError, KeyError, MemoryError) as e:
            raise errors.DataLossError(None, None, f"{self.name}: cannot read dataset "
                                       f"'{where}' (corrupted data? {e}).") from None
        arr = np.array(value, copy=True)
        if arr.dtype.kind not in _ALLOWED_KINDS:
            raise ValueError(f"{self.name}: dataset '{where}' is not numeric.")
        if arr.dtype == np.bool_ or arr.dtype.isnative:
            return arr
        return arr.astype(arr.dtype.newbyteorder("="))


def _path(obj):
    try:
        return obj.name
    except Exception:  # noqa: BLE001 - only used in messages
        return "?"


def _to_str(value, fname, attr):
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{fname}: attribute '{attr}' is not valid UTF-8.") from None
    if isinstance(value, (str, np.str_)):
        return str(value)
    return value


# ---- writing ---------------------------------------------------------------------------------
def create_dataset(group, name, value):
    """Writes ``value`` as dataset ``name``; non-scalars get a Fletcher-32 checksum."""
    arr = np.asarray(value)
    if arr.dtype.kind not in _ALLOWED_KINDS:
        raise TypeError(f"Cannot save weight '{name}' of dtype {arr.dtype}: only numeric and "
                        "bool arrays are written.")
    if arr.ndim == 0 or arr.size == 0:
        ds = group.create_dataset(name, arr.shape, dtype=arr.dtype)
        if arr.size:
            ds[()] = arr
        return ds
    return group.create_dataset(name, data=arr, fletcher32=True)


def save_str_list_attr(obj, name, values):
    """Stores a list of strings as an attribute (bytes, as Keras does), split into
    ``name0``, ``name1``... chunks when it would exceed HDF5's attribute size limit."""
    data = np.array([v.encode("utf-8") for v in values])
    if not len(values):
        obj.attrs[name] = np.array([], dtype=np.float64)  # what Keras writes for no names
        return
    if data.nbytes <= HDF5_ATTR_LIMIT:
        obj.attrs[name] = data
        return
    num_chunks = 1
    chunks = np.array_split(data, num_chunks)
    while any(c.nbytes > HDF5_ATTR_LIMIT for c in chunks):
        num_chunks += 1
        chunks = np.array_split(data, num_chunks)
    for i, chunk in enumerate(chunks):
        obj.attrs[f"{name}{i}"] = chunk


def _fsync_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class atomic_h5_file:  # noqa: N801 - used like a function: `with atomic_h5_file(path) as f`
    """Context manager yielding a new writable h5py File that replaces ``path`` on success.

    The file is written under a temporary name in the same directory, fsynced and renamed
    over ``path`` (:mod:`numflow.io.atomic`), so a crash leaves the old file intact.
    """

    def __init__(self, path):
        from numflow.io import atomic
        self._atomic = atomic
        self.path = os.fspath(path)
        self.temp = atomic.temp_path_for(self.path)
        self.file = None

    def __enter__(self):
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        self.file = h5py().File(self.temp, "w")
        return self.file

    def __exit__(self, exc_type, exc, tb):
        try:
            self.file.close()
            if exc_type is None:
                _fsync_file(self.temp)
                self._atomic.commit_temp_file(self.temp, self.path)
        except BaseException:
            self._atomic.remove_quietly(self.temp)
            raise
        if exc_type is not None:
            self._atomic.remove_quietly(self.temp)
        return False


def h5_bytes(write):
    """The bytes of an in-memory HDF5 file filled by ``write(h5py_file)``."""
    buf = io.BytesIO()
    with h5py().File(buf, "w") as f:
        write(f)
    return buf.getvalue()


def set_str_attr(obj, name, text):
    """Stores a string attribute as a fixed-length byte string (no global-heap reference to
    corrupt), or as a variable-length one when too long for an attribute header."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    if len(data) < HDF5_ATTR_LIMIT - 1024:
        obj.attrs[name] = np.bytes_(data)
    else:
        obj.attrs[name] = data
