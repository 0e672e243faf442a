"""Write-to-temp-then-rename, so that a crash never leaves a half-written file.

Every numflow writer goes through :func:`atomic_write`: the bytes go to a temporary
file in the destination's directory, are flushed and fsynced, and the file is then
moved over the destination with ``os.replace`` (atomic on POSIX and Windows). The
parent directory is fsynced afterwards where the platform allows, so the rename
itself survives a power loss. On any exception the temporary file is removed and
the destination is left as it was.
"""
import contextlib
import os
import uuid

TEMP_MARKER = ".tmp"


def temp_path_for(path):
    """Returns a fresh temporary name next to ``path`` (``<path>.tmp<hex>``)."""
    return f"{os.fspath(path)}{TEMP_MARKER}{uuid.uuid4().hex}"


def fsync_directory(directory):
    """fsyncs ``directory`` so a rename inside it is durable; a no-op where unsupported."""
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def commit_temp_file(temp_path, path):
    """Moves the finished ``temp_path`` over ``path`` and makes the rename durable."""
    os.replace(temp_path, path)
    fsync_directory(os.path.dirname(os.path.abspath(path)))


def remove_quietly(path):
    """Deletes ``path`` if it exists, ignoring errors (cleanup after a failure)."""
    try:
        os.remove(path)
    except OSError:
        pass


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Context manager that yields a file object whose contents replace ``path`` on success.

    Args:
      path: the destination file name.
      mode: ``"wb"`` (bytes) or ``"w"`` (text, UTF-8).

    The file is written under a temporary name in the same directory, flushed and
    fsynced, then renamed into place with ``os.replace``. If the body raises, the
    temporary file is removed, ``path`` is untouched and the exception propagates.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write supports modes 'wb' and 'w', not {mode!r}.")
    path = os.fspath(path)
    temp = temp_path_for(path)
    kwargs = {"encoding": "utf-8", "newline": ""} if mode == "w" else {}
    f = open(temp, mode.replace("w", "x"), **kwargs)
    try:
        try:
            yield f
            f.flush()
            os.fsync(f.fileno())
        finally:
            f.close()
        commit_temp_file(temp, path)
    except BaseException:
        remove_quietly(temp)
        raise


def atomic_write_bytes(path, data):
    """Atomically replaces the contents of ``path`` with the bytes ``data``."""
    with atomic_write(path, "wb") as f:
        f.write(data)
