"""The file behind ``Dataset.cache(filename)``.

numflow writes ``<filename>.numflow-cache.npz`` (NumPy's npz, read with
``allow_pickle=False``, so loading never runs code) once a first pass over the dataset
completes, atomically. TF writes ``<filename>.index`` / ``.data-*`` files in its own
format instead; the two are not interchangeable, and a numflow cache is only ever read
by numflow.
"""
import os

import numpy as np

from numflow.data import structure
from numflow.io.atomic import atomic_write

SUFFIX = ".numflow-cache.npz"


def cache_path(filename):
    """The file a cache named ``filename`` lives in."""
    return os.fspath(filename) + SUFFIX


def write_cache(filename, spec, elements):
    """Writes the elements (internal form) of one complete pass."""
    arrays = {"count": np.array(len(elements), dtype=np.int64)}
    for i, e in enumerate(elements):
        for j, a in enumerate(structure.to_components(spec, e)):
            key = f"e{i}_{j}"
            if a.dtype == object:
                parts = [bytes(b) for b in a.reshape(-1)]
                arrays[key + "_len"] = np.array([len(p) for p in parts],
                                                dtype=np.int64).reshape(a.shape)
                arrays[key] = np.frombuffer(b"".join(parts), dtype=np.uint8)
            else:
                arrays[key] = a
    with atomic_write(cache_path(filename)) as f:
        np.savez(f, **arrays)


def read_cache(filename, spec):
    """The cached elements, or None when there is no cache file yet."""
    path = cache_path(filename)
    if not os.path.exists(path):
        return None
    n_comp = len(structure.component_specs(spec))
    with np.load(path, allow_pickle=False) as data:
        count = int(data["count"])
        out = []
        for i in range(count):
            comps = [_load(data, f"e{i}_{j}") for j in range(n_comp)]
            out.append(structure.from_components(spec, comps, lambda k, v: v))
    return out


def _load(data, key):
    if key + "_len" in data.files:
        lengths = data[key + "_len"]
        raw = data[key].tobytes()
        ends = np.cumsum(lengths.reshape(-1))
        starts = ends - lengths.reshape(-1)
        out = np.empty(lengths.size, dtype=object)
        out[:] = [raw[s:e] for s, e in zip(starts.tolist(), ends.tolist())]
        return out.reshape(lengths.shape)
    return data[key]
