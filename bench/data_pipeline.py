"""Benchmark: one epoch of MNIST through a tf.data pipeline.

    from_tensor_slices((x, y)).shuffle(10000).batch(128).prefetch(AUTOTUNE)

over 60000 x 784 float32 images and int64 labels (real MNIST from numflow's dataset
cache when present, else random arrays of the same size). Times a full epoch of Python
iteration (``for x, y in ds``), median of several epochs, and numflow's internal
``_numpy_batches()`` protocol that Keras uses. If ``tensorflow`` can be imported, the same
pipeline is timed with TensorFlow in the same run:

    python bench/data_pipeline.py [--epochs 5]
    PYTHONPATH=. /work/venv-tf/bin/python bench/data_pipeline.py
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_arrays():
    """MNIST train arrays if cached, else random ones of MNIST's size."""
    home = os.environ.get("NUMFLOW_HOME", os.path.join(os.path.expanduser("~"), ".numflow"))
    if os.path.exists(os.path.join(home, "datasets", "train-images-idx3-ubyte")):
        from bench.common import mnist
        x, y, _, _ = mnist(flat=True)
        return x, y, "mnist"
    rng = np.random.default_rng(0)
    return (rng.random((60000, 784), dtype=np.float32),
            rng.integers(0, 10, 60000).astype(np.int64), "random")


def pipeline(tf, x, y):
    return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(10000).batch(128) \
        .prefetch(tf.data.AUTOTUNE)


def epoch_times(make_iter, epochs):
    """Seconds per full epoch (after one warm-up epoch), and the batch count."""
    times, n = [], 0
    for i in range(epochs + 1):
        t0 = time.perf_counter()
        n = 0
        for xb, yb in make_iter():
            n += 1
        if i:
            times.append(time.perf_counter() - t0)
    return times, n


def report(name, times, n):
    print(f"{name:<34s} median {statistics.median(times) * 1000:8.1f} ms/epoch "
          f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}; {n} batches)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()
    x, y, kind = load_arrays()
    print(f"data: {kind} {x.shape} {x.dtype}, labels {y.shape} {y.dtype}")
    import numflow as nf
    ds = pipeline(nf, x, y)
    report("numflow  for x, y in ds", *epoch_times(lambda: iter(ds), args.epochs))
    report("numflow  ds._numpy_batches()", *epoch_times(ds._numpy_batches, args.epochs))
    try:
        import tensorflow as tf
    except ImportError:
        print("tensorflow not importable: TF timing skipped")
        return
    tds = pipeline(tf, x, y)
    report(f"tensorflow {tf.__version__} for x, y in ds", *epoch_times(lambda: iter(tds),
                                                                     args.epochs))


if __name__ == "__main__":
    main()
