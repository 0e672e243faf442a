"""numflow/kernels/threads.py: the per-run BLAS thread policy and the contention probe."""
import pytest

from numflow.kernels import threads


class _Lib:
    def __init__(self, n):
        self.n, self.log = n, []

    def get_num_threads(self):
        return self.n

    def set_num_threads(self, n):
        self.log.append(n)
        self.n = n


@pytest.fixture
def lib(monkeypatch):
    fake = _Lib(4)
    monkeypatch.setattr(threads, "_libs", (fake,))
    return fake


@pytest.mark.parametrize("busy", [False, True])
def test_session_small_products_on_one_thread_then_restore(lib, monkeypatch, busy):
    monkeypatch.setattr(threads, "contended", lambda: busy)
    s = threads.Session()
    assert (s.saved, s.full) == (4, 1 if busy else 4)
    s.before(1e3)                        # tiny: OpenBLAS runs it on one thread anyway
    assert lib.log == []
    s.before(1e6)
    s.before(1e6)                        # no second call for the same count
    s.before(threads.SMALL_FLOPS * 10)
    s.close()
    assert lib.log == ([1] if busy else [1, 4]) + ([4] if busy else [])
    assert lib.n == 4


def test_switched_off_or_missing(monkeypatch):
    monkeypatch.setattr(threads, "_libs", None)
    monkeypatch.setenv("NUMFLOW_BLAS_THREADS", "off")
    assert not threads.available() and threads.get() is None
    threads.set(3)                        # a no-op


def test_contention_probe_counts_only_other_processes(monkeypatch):
    samples = iter([(100.0, 10.0), (101.6, 11.5), (103.5, 11.6)])
    clock = iter([0.0, 1.0, 2.0])
    monkeypatch.setattr(threads, "_cpu_sample", lambda: next(samples))
    monkeypatch.setattr(threads.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(threads, "_probe", {"at": None, "busy": 0.0, "own": 0.0,
                                            "contended": False})
    assert threads.contended() is False          # first call: load average 0
    assert threads.contended() is False          # 1.6 busy, 1.5 of it ours: 0.1 foreign
    assert threads.contended() is True           # 1.9 busy, 0.1 ours: 1.8 foreign
