"""Tests for numflow.io.atomic: the temp-file-then-rename writer."""
import os

import pytest

from numflow.io import atomic
from numflow.io.atomic import atomic_write, atomic_write_bytes


def test_writes_bytes_and_text(tmp_path):
    p = tmp_path / "f.bin"
    atomic_write_bytes(p, b"\x00\x01abc")
    assert p.read_bytes() == b"\x00\x01abc"
    with atomic_write(p, "w") as f:
        f.write("héllo\n")
    assert p.read_bytes() == "héllo\n".encode("utf-8")
    assert os.listdir(tmp_path) == ["f.bin"]


def test_exception_keeps_old_file_and_removes_temp(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(p) as f:
            f.write(b"new partial")
            raise RuntimeError("boom")
    assert p.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_failed_replace_removes_temp(tmp_path, monkeypatch):
    p = tmp_path / "f.bin"

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(OSError):
        atomic_write_bytes(p, b"data")
    assert os.listdir(tmp_path) == []


def test_fsync_happens_before_replace(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(atomic.os, "replace",
                        lambda a, b: (calls.append("replace"), real_replace(a, b)))
    atomic_write_bytes(tmp_path / "f", b"x")
    assert calls[0] == "fsync" and "replace" in calls
    assert calls.index("fsync") < calls.index("replace")


def test_rejects_other_modes(tmp_path):
    with pytest.raises(ValueError):
        with atomic_write(tmp_path / "f", "ab"):
            pass
