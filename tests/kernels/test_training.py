"""numflow/kernels/training.py: fused updates against float64 references."""
import numpy as np
import pytest

from numflow.kernels import training


def _adam_reference(var, m, v, b1p, b2p, lr, b1, b2, eps, g, nesterov):
    var, m, v, g = (a.astype(np.float64) for a in (var, m, v, g))
    alpha = lr * np.sqrt(1 - b2p) / (1 - b1p)
    m = m + (g - m) * (1 - b1)
    v = v + (g * g - v) * (1 - b2)
    step = m * b1 + g * (1 - b1) if nesterov else m
    return var - alpha * step / (np.sqrt(v) + eps), m, v


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (training.BLOCK + 123,)])
def test_apply_adam_matches_float64(shape, nesterov):
    rng = np.random.default_rng(0)
    var, g = rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(
        np.float32)
    m = rng.standard_normal(shape).astype(np.float32)
    v = rng.random(shape).astype(np.float32)
    scalars = (0.81, 0.998, 0.01, 0.9, 0.999, 1e-7)
    want = _adam_reference(var, m, v, *scalars, g, nesterov)
    arrays = [var.copy(), m.copy(), v.copy()]
    training.apply_adam(np, *arrays, *(np.float32(s) for s in scalars), g,
                        use_nesterov=nesterov)
    for got, ref in zip(arrays, want):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=2e-6, atol=4e-6)


def test_apply_adam_updates_in_place_and_keeps_grad():
    var, m, v = np.ones(4, np.float32), np.zeros(4, np.float32), np.zeros(4, np.float32)
    g = np.full(4, 2.0, np.float32)
    ids = [id(a) for a in (var, m, v)]
    training.apply_adam(np, var, m, v, 0.9, 0.999, 0.1, 0.9, 0.999, 1e-7, g)
    assert [id(a) for a in (var, m, v)] == ids
    np.testing.assert_array_equal(g, 2.0)
    np.testing.assert_allclose(m, 0.2, rtol=1e-6)
    np.testing.assert_allclose(var, 0.9, rtol=1e-6)


def test_apply_adam_float64():
    var, m, v = np.ones(3), np.zeros(3), np.zeros(3)
    training.apply_adam(np, var, m, v, 0.9, 0.999, 0.1, 0.9, 0.999, 1e-8, np.full(3, 2.0))
    want = _adam_reference(np.ones(3), np.zeros(3), np.zeros(3), 0.9, 0.999, 0.1, 0.9, 0.999,
                           1e-8, np.full(3, 2.0), False)
    assert var.dtype == np.float64
    np.testing.assert_allclose(var, want[0], rtol=1e-14)
