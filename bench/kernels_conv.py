"""Micro-benchmark: the seed CNN's conv/pool layers, forward + backward, on numflow's kernels.

Batch 50: 28x28x1 -> conv 5x5x32 SAME + bias + ReLU -> max pool 2x2/2 -> conv 5x5x64 SAME
+ bias + ReLU -> max pool 2x2/2, then the backward pass a training step needs (filter and
bias gradients of both convs, the input gradient of the second). Prints milliseconds per
step (median) and a per-kernel breakdown. If ``torch`` can be imported, the same step with
``torch.nn.functional`` (NCHW, autograd) is timed in the same run for comparison; torch
is never a dependency of numflow. Run from the repository root with any Python that has
NumPy (and, for the comparison, torch):

    python bench/kernels_conv.py [--steps 20]      (or python -m bench.kernels_conv)
    /work/venv-torch/bin/python bench/kernels_conv.py
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from numflow.kernels import conv, pool  # noqa: E402

BATCH = 50
SAME, ONE, TWO = "SAME", (1, 1), (2, 2)


def make_inputs(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((BATCH, 28, 28, 1), dtype=np.float32)
    w1 = rng.standard_normal((5, 5, 1, 32), dtype=np.float32) * np.float32(0.1)
    w2 = rng.standard_normal((5, 5, 32, 64), dtype=np.float32) * np.float32(0.1)
    b1 = np.full(32, 0.1, np.float32)
    b2 = np.full(64, 0.1, np.float32)
    dy = rng.standard_normal((BATCH, 7, 7, 64), dtype=np.float32)
    return x, w1, b1, w2, b2, dy


class Timer:
    """Adds up the wall time of each label's calls within one step."""

    def __init__(self):
        self.steps = []

    def new_step(self):
        self.steps.append({})

    def __call__(self, label, fn, *args):
        start = time.perf_counter()
        out = fn(*args)
        step = self.steps[-1]
        step[label] = step.get(label, 0.0) + time.perf_counter() - start
        return out

    def median_ms(self):
        """``[(label, median ms per step)]``, largest first."""
        rows = [(label, 1e3 * float(np.median([s[label] for s in self.steps])))
                for label in self.steps[0]]
        return sorted(rows, key=lambda row: -row[1])


def numflow_step(x, w1, b1, w2, b2, dy, t):
    """One forward + backward pass; returns the gradients."""
    t.new_step()
    c1 = t("conv2d", conv.conv2d, np, x, w1, ONE, SAME, ONE)
    r1 = t("bias+relu", lambda: np.maximum(c1 + b1, 0))
    p1 = t("max_pool", pool.max_pool, np, r1, TWO, TWO, SAME)
    c2 = t("conv2d", conv.conv2d, np, p1, w2, ONE, SAME, ONE)
    r2 = t("bias+relu", lambda: np.maximum(c2 + b2, 0))
    p2 = t("max_pool", pool.max_pool, np, r2, TWO, TWO, SAME)
    d2 = t("max_pool_grad", pool.max_pool_grad, np, r2, p2, dy, TWO, TWO, SAME)
    d2 = t("bias+relu", lambda: d2 * (r2 > 0))
    db2 = t("bias+relu", lambda: d2.sum(axis=(0, 1, 2)))
    dw2 = t("conv2d_backprop_filter", conv.conv2d_backprop_filter, np, p1, d2, w2.shape,
            ONE, SAME, ONE)
    dp1 = t("conv2d_backprop_input", conv.conv2d_backprop_input, np, w2, d2, p1.shape,
            ONE, SAME, ONE)
    d1 = t("max_pool_grad", pool.max_pool_grad, np, r1, p1, dp1, TWO, TWO, SAME)
    d1 = t("bias+relu", lambda: d1 * (r1 > 0))
    db1 = t("bias+relu", lambda: d1.sum(axis=(0, 1, 2)))
    dw1 = t("conv2d_backprop_filter", conv.conv2d_backprop_filter, np, x, d1, w1.shape,
            ONE, SAME, ONE)
    return dw1, db1, dw2, db2


def torch_step(torch, x, w1, b1, w2, b2, dy):
    """The same step with torch.nn.functional; returns the gradients (NHWC/HWIO)."""
    F = torch.nn.functional
    for p in (w1, b1, w2, b2):
        p.grad = None
    h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=2)), 2)
    y = F.max_pool2d(F.relu(F.conv2d(h, w2, b2, padding=2)), 2)
    y.backward(dy)
    return w1.grad, b1.grad, w2.grad, b2.grad


def time_steps(fn, steps):
    fn()
    fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def run_torch(torch, arrays, steps, want):
    x, w1, b1, w2, b2, dy = arrays
    nchw = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))  # noqa
    oihw = lambda w: torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))  # noqa
    tx, tdy = nchw(x), nchw(dy)
    params = [oihw(w1).requires_grad_(), torch.from_numpy(b1).requires_grad_(),
              oihw(w2).requires_grad_(), torch.from_numpy(b2).requires_grad_()]
    got = torch_step(torch, tx, params[0], params[1], params[2], params[3], tdy)
    got = [g.numpy().transpose(2, 3, 1, 0) if g.ndim == 4 else g.numpy() for g in got]
    err = max(float(np.abs(g - w).max() / np.abs(w).max()) for g, w in zip(got, want))
    ms = time_steps(lambda: torch_step(torch, tx, *params, tdy), steps)
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads): {ms:8.2f} ms/step"
          f"   (gradients agree with numflow's to {err:.1e} of their largest value)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    steps = parser.parse_args().steps
    arrays = make_inputs()
    want = numflow_step(*arrays, Timer())
    timer = Timer()
    ms = time_steps(lambda: numflow_step(*arrays, timer), steps)
    print(f"seed CNN conv/pool layers, batch {BATCH}, float32, forward + backward, "
          f"{os.cpu_count()} CPUs")
    print(f"numflow kernels (NumPy {np.__version__}): {ms:8.2f} ms/step")
    for label, per_step in timer.median_ms():
        print(f"    {label:24s} {per_step:7.2f} ms")
    try:
        import torch
    except ImportError:
        print("torch not importable: comparison skipped")
        return
    run_torch(torch, arrays, steps, want)


if __name__ == "__main__":
    main()
