"""How many threads the BLAS library (NumPy's OpenBLAS, or MKL/BLIS) uses for one kernel.

BLAS splits even small products across every core. On a quiet machine that costs a
little (waking the pool); on a busy one it is ruinous: a worker that is not scheduled
stalls the whole product, and the waiting threads spin. Measured on the 2-core bench
machine under load (docs/performance.md): a 100x784 @ 784x10 product 0.09 ms on one
thread vs 0.9 ms on two, 128x784 @ 784x512 1.0 ms vs 91 ms. Large products do gain from
every core on a quiet machine.

So the executor runs each BLAS-heavy kernel with ``threads_for(flops)`` threads: one
below ``SMALL_FLOPS``, the process's setting above. It changes the setting only while a
plan runs and puts it back afterwards, so the user's own NumPy code is unaffected.

``NUMFLOW_BLAS_THREADS=off`` leaves the BLAS setting alone entirely. The library is found
with ``threadpoolctl`` (imported on first use); without it nothing is changed.
"""
import os

SMALL_FLOPS = 3e7
"""Products below this many floating-point operations run on one thread (see
docs/performance.md for the quiet- and loaded-machine measurements behind it)."""

_libs = None          # the BLAS controllers, () when unavailable or switched off


def _controllers():
    global _libs
    if _libs is None:
        _libs = ()
        if os.environ.get("NUMFLOW_BLAS_THREADS", "auto").lower() in ("off", "0", "no"):
            return _libs
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return _libs
        _libs = tuple(c for c in ThreadpoolController().lib_controllers
                      if c.user_api == "blas")
    return _libs


def available():
    """True when numflow can set the BLAS thread count."""
    return bool(_controllers())


def get():
    """The BLAS library's current thread count (None when unknown)."""
    libs = _controllers()
    return libs[0].get_num_threads() if libs else None


def set(n):   # noqa: A001 - the module is used as ``threads.set``
    """Sets every BLAS library to ``n`` threads."""
    for lib in _controllers():
        lib.set_num_threads(n)


class Session:
    """One plan run's view: products below ``SMALL_FLOPS`` on one thread, larger ones on
    the thread count in force when the run began; ``close()`` restores that count."""

    __slots__ = ("full", "current")

    def __init__(self):
        self.full = get()
        self.current = self.full

    def before(self, flops):
        want = 1 if flops < SMALL_FLOPS else self.full
        if want != self.current and want is not None:
            set(want)
            self.current = want

    def close(self):
        if self.current != self.full and self.full is not None:
            set(self.full)
            self.current = self.full
