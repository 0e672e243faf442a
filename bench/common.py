"""Timing, records and data shared by the workloads."""
import json
import os
import statistics
import sys
import time

import numpy as np

SEED = 0


def cpu_sample():
    """(wall s, machine busy CPU-s, this process tree's CPU-s), to detect contention."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:9]]
    t = os.times()
    busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    return time.perf_counter(), busy, t.user + t.system + t.children_user + t.children_system


def foreign_cpu(since):
    """Cores' worth of CPU other processes used since ``since`` (a cpu_sample())."""
    now = cpu_sample()
    return max(0.0, ((now[1] - since[1]) - (now[2] - since[2])) / max(now[0] - since[0], 1e-9))


_START = cpu_sample()


def openblas_core():
    """The kernel set NumPy's OpenBLAS runs ("SkylakeX", "Haswell", ...), or None.

    Some machines here set ``OPENBLAS_CORETYPE=Haswell`` for older OpenBLAS builds; that
    halves a current NumPy's GEMM rate, so each record says which kernels it ran on."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return next((i.get("architecture") for i in threadpool_info()
                 if i.get("internal_api") == "openblas"), None)


def record(workload, metric, values, unit, fw):
    """Prints one JSON line (median/min/max over ``values``) and returns it."""
    vals = [float(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
    rec = {"workload": workload, "fw": fw, "metric": metric, "median": statistics.median(vals),
           "min": min(vals), "max": max(vals), "unit": unit, "n": len(vals),
           "foreign_cpu": round(foreign_cpu(_START), 2), "openblas": openblas_core()}
    print(json.dumps(rec), flush=True)
    return rec


def repeat_time(fn, repeat, warmup=1):
    """Runs fn ``warmup`` times untimed, then ``repeat`` times; returns the seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def mnist(flat=True):
    """Real MNIST from numflow's dataset cache (read with NumPy only, so any framework
    gets identical arrays): float32 images in [0, 1], int64 labels."""
    home = os.environ.get("NUMFLOW_HOME", os.path.join(os.path.expanduser("~"), ".numflow"))
    d = os.path.join(home, "datasets")

    def idx(name):
        raw = open(os.path.join(d, name), "rb").read()
        ndim = raw[3]
        dims = [int(v) for v in np.frombuffer(raw, ">u4", ndim, 4)]
        return np.frombuffer(raw, np.uint8, int(np.prod(dims)), 4 + 4 * ndim).reshape(dims)
    if not os.path.exists(os.path.join(d, "train-images-idx3-ubyte")):
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from numflow.keras.datasets import mnist as _m   # fetches into the cache
        _m.load_data()
    shape = (-1, 784) if flat else (-1, 28, 28, 1)

    def f(x):   # one float32 copy, scaled in place (keeps W8's peak memory honest)
        a = x.astype(np.float32)
        a /= 255.0
        return a.reshape(shape)
    return (f(idx("train-images-idx3-ubyte")), idx("train-labels-idx1-ubyte").astype(np.int64),
            f(idx("t10k-images-idx3-ubyte")), idx("t10k-labels-idx1-ubyte").astype(np.int64))
