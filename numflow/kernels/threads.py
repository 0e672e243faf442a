"""How many threads the BLAS library (NumPy's OpenBLAS, or MKL/BLIS) uses for one kernel.

BLAS splits even small products across every core. On a quiet machine that costs a
little (waking the pool); on a busy one it is ruinous: a worker that is not scheduled
stalls the whole product, and the waiting threads spin. Measured on the 2-core bench
machine under load (docs/performance.md): a 100x784 @ 784x10 product 0.09 ms on one
thread vs 0.9 ms on two, 128x784 @ 784x512 1.0 ms vs 91 ms. Large products do gain from
every core on a quiet machine.

So the executor runs each BLAS-heavy kernel on one thread below ``SMALL_FLOPS`` and on
the process's setting above, unless other processes keep the machine busy (more than
``CONTENDED_CORES`` cores' worth, sampled from /proc/stat at most every
``PROBE_SECONDS``): then every kernel runs on one thread, because a worker that is not
scheduled stalls the product and the idle workers spin. The setting changes only while a
plan runs and is put back afterwards, so the user's own NumPy code is unaffected.

``NUMFLOW_BLAS_THREADS=off`` leaves the BLAS setting alone entirely. The library is found
with ``threadpoolctl`` (imported on first use); without it nothing is changed.
"""
import os
import time

SMALL_FLOPS = 3e7
"""Products below this many floating-point operations run on one thread (see
docs/performance.md for the quiet- and loaded-machine measurements behind it)."""

TINY_FLOPS = 5e5
"""Products below this many floating-point operations are left alone: OpenBLAS itself runs
GEMMs under about 65536*4 multiply-adds on one thread, so switching would only cost time
(a 2x2 product's set-and-restore cost more than the product)."""

CONTENDED_CORES = 0.5
PROBE_SECONDS = 0.5

_libs = None          # the BLAS controllers, () when unavailable or switched off
_probe = {"at": None, "busy": 0.0, "own": 0.0, "contended": False}


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


def _cpu_sample():
    """(machine busy CPU-seconds, this process's CPU-seconds), or None off Linux."""
    try:
        with open("/proc/stat", "rb") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    t = os.times()
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK"), t.user + t.system


def contended():
    """True when other processes used more than ``CONTENDED_CORES`` cores over the last
    probe interval (re-sampled at most every ``PROBE_SECONDS``)."""
    now = time.monotonic()
    last = _probe["at"]
    if last is not None and now - last < PROBE_SECONDS:
        return _probe["contended"]
    sample = _cpu_sample()
    if sample is None:
        return False
    if last is None:      # first call: the load average is the only history there is
        try:
            _probe["contended"] = os.getloadavg()[0] > (os.cpu_count() or 1) + CONTENDED_CORES
        except OSError:
            pass
    else:
        foreign = (sample[0] - _probe["busy"]) - (sample[1] - _probe["own"])
        _probe["contended"] = foreign / (now - last) > CONTENDED_CORES
    _probe.update(at=now, busy=sample[0], own=sample[1])
    return _probe["contended"]


class Session:
    """One plan run's view: products below ``SMALL_FLOPS`` on one thread, larger ones on
    the thread count in force when the run began (one while the machine is contended);
    ``close()`` restores that count."""

    __slots__ = ("full", "current", "saved")

    def __init__(self):
        self.saved = self.current = get()
        self.full = 1 if self.saved and contended() else self.saved

    def before(self, flops):
        if flops >= TINY_FLOPS:
            self._use(1 if flops < SMALL_FLOPS else self.full)

    def one_thread(self):
        """Runs everything that follows on one thread (a busy machine)."""
        self._use(1)

    def _use(self, want):
        if want != self.current and want is not None:
            set(want)
            self.current = want

    def close(self):
        if self.current != self.saved and self.saved is not None:
            set(self.saved)
            self.current = self.saved


def measure(shapes=((100, 784, 10), (128, 784, 512), (9800, 800, 64), (50, 3136, 1024),
                    (2048, 2048, 2048)), repeats=7):
    """Times float32 ``(m, k) @ (k, n)`` products on one thread and on the process's
    setting, alternating, and prints medians: the check behind ``SMALL_FLOPS`` (run
    ``python -c "from numflow.kernels import threads; threads.measure()"`` on a quiet
    machine and on a busy one)."""
    import numpy as np
    full = get()
    rng = np.random.default_rng(0)
    print(f"threads: 1 vs {full}; other processes busy now: {contended()}")
    for m, k, n in shapes:
        a, b = rng.random((m, k), np.float32), rng.random((k, n), np.float32)
        reps = max(1, min(200, int(2e8 / (2 * m * k * n))))
        times = {1: [], full: []}
        for _ in range(repeats):
            for t in times:
                set(t)
                start = time.perf_counter()
                for _ in range(reps):
                    a @ b
                times[t].append((time.perf_counter() - start) / reps)
        set(full)
        med = {t: sorted(v)[len(v) // 2] * 1e3 for t, v in times.items()}
        print(f"{m}x{k} @ {k}x{n} ({2 * m * k * n / 1e6:.0f} MFLOP): " +
              ", ".join(f"{t} thread(s) {ms:.3f} ms" for t, ms in med.items()))

