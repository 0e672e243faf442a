"""The op test harness: one call checks an op end to end.

``check_op(fn, inputs, reference)`` runs ``fn`` (built from public numflow ops) and checks:

1. forward: the eager result against a NumPy ``reference`` computed in float64;
2. dtype: a float32 computation stays float32 (no accidental float64);
3. graph == eager: the same ``fn`` built in a fresh ``tf.Graph`` from placeholders and run
   in a Session gives the eager result, also with every placeholder dimension unknown;
4. shapes: the inferred static shape (and dtype) agrees with the runtime shape (equal
   when the inputs' shapes are fully known, compatible otherwise);
5. gradient: the GradientTape gradient (float64) against float64 central differences,
   and ``tf.gradients`` in graph mode against the tape; optionally second order.

Table-driven tests describe ops with ``Row``s and register them with ``add_rows`` so a
coverage test can fail when a registered op has no row (``OP_ROWS``).
"""
import contextlib
import dataclasses
import warnings
from typing import Any, Callable, Optional, Sequence

import numpy as np

OP_ROWS = {}   # op type -> list of Row names that exercise it


@dataclasses.dataclass
class Row:
    """One table row: ``op`` is the registered op type the row exercises.

    ``fn(*tensors)`` builds the computation from ``inputs`` (NumPy arrays); ``reference``
    computes the expected output(s) from the same arrays (as float64 where floating).
    The remaining fields are passed to ``check_op``.
    """
    op: str
    fn: Callable
    inputs: Sequence[Any]
    reference: Optional[Callable] = None
    grad: bool = True
    rtol: float = 1e-5
    atol: float = 1e-6
    name: str = ""
    grad_inputs: Optional[Sequence[int]] = None
    static_inputs: Sequence[int] = ()
    unknown_dims: bool = True
    grad2: bool = False
    grad_rtol: float = 1e-4
    grad_atol: float = 1e-6
    check_dtype: bool = True
    dynamic_shape: bool = False
    custom: Optional[Callable] = None

    @property
    def id(self):
        return f"{self.op}:{self.name}" if self.name else self.op

    def check(self):
        if self.custom is not None:
            self.custom()
            return
        check_op(self.fn, self.inputs, self.reference, grad=self.grad, rtol=self.rtol,
                 atol=self.atol, grad_inputs=self.grad_inputs, static_inputs=self.static_inputs,
                 unknown_dims=self.unknown_dims, grad2=self.grad2, op_type=self.op,
                 grad_rtol=self.grad_rtol, grad_atol=self.grad_atol,
                 check_dtype=self.check_dtype, dynamic_shape=self.dynamic_shape)


def add_rows(rows):
    """Registers table rows (so the coverage test sees which ops have one); returns them."""
    for r in rows:
        OP_ROWS.setdefault(r.op, []).append(r.id)
    return list(rows)


# ---- mode helpers ---------------------------------------------------------------------------
@contextlib.contextmanager
def eager_mode():
    """Runs the enclosed code eagerly even if a TF1 front door disabled eager execution."""
    from numflow.framework import context
    saved_eager, saved_stack = context._global["eager"], context._tls.graph_stack
    context._global["eager"] = True
    context._tls.graph_stack = []
    try:
        yield
    finally:
        context._global["eager"] = saved_eager
        context._tls.graph_stack = saved_stack


def _flatten(out):
    if isinstance(out, (list, tuple)):
        return [o for item in out for o in _flatten(item)]
    return [out]


def _to_numpy(t):
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


def _is_float(a):
    return np.asarray(a).dtype.kind in "fc"


def _as64(a):
    a = np.asarray(a)
    return a.astype(np.float64) if a.dtype.kind == "f" else a


def run_eager(fn, inputs):
    """``fn`` applied eagerly to ``inputs`` (arrays); a flat list of NumPy results."""
    import numflow as tf
    with eager_mode(), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        outs = _flatten(fn(*[tf.constant(np.asarray(a)) for a in inputs]))
        return [_to_numpy(o) for o in outs]


def run_graph(fn, inputs, unknown_dims=False, static_inputs=(), op_type=None):
    """``fn`` built in a fresh Graph from placeholders (constants for ``static_inputs``) and
    run in a Session. Returns (values, static shapes, static dtypes)."""
    import numflow as tf
    from numflow.ops import array_ops
    from numflow.runtime.session import Session
    g = tf.Graph()
    with g.as_default():
        feeds, ts = {}, []
        for i, a in enumerate(inputs):
            a = np.asarray(a)
            if i in static_inputs:
                ts.append(tf.constant(a))
                continue
            shape = [None] * a.ndim if unknown_dims else list(a.shape)
            ph = array_ops.placeholder(tf.as_dtype(a.dtype), shape)
            feeds[ph] = a
            ts.append(ph)
        outs = _flatten(fn(*ts))
        if op_type is not None:
            types = {op.type for op in g.get_operations()}
            assert op_type in types, f"fn did not create a {op_type} op (made {sorted(types)})"
        sess = Session(graph=g)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            vals = sess.run(outs, feed_dict=feeds)
        sess.close()
    return [np.asarray(v) for v in vals], [o.shape for o in outs], [o.dtype for o in outs]


def _check_shapes(static_shapes, static_dtypes, values, exact, where):
    for i, (s, d, v) in enumerate(zip(static_shapes, static_dtypes, values)):
        assert d.base_dtype.as_numpy_dtype == v.dtype or d.name == "string", \
            f"{where}: output {i} static dtype {d.name} != runtime dtype {v.dtype}"
        if exact:
            assert s.is_fully_defined() and s.as_list() == list(v.shape), \
                f"{where}: output {i} static shape {s} != runtime shape {v.shape}"
        else:
            assert s.is_compatible_with(v.shape), \
                f"{where}: output {i} static shape {s} incompatible with runtime {v.shape}"


def _allclose(actual, expected, rtol, atol, what):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if actual.dtype.kind in "fc" or expected.dtype.kind in "fc":
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what,
                                   equal_nan=True)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


# ---- gradients ------------------------------------------------------------------------------
def _weights(values, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.uniform(0.5, 1.5, np.shape(v)) if _is_float(v) else None for v in values]


def _objective_np(fn, inputs, weights):
    outs = run_eager(fn, inputs)
    return sum(float(np.sum(o * w)) for o, w in zip(outs, weights) if w is not None)


def tape_gradients(fn, inputs, grad_inputs, weights):
    """Gradients of ``sum(w * fn(inputs))`` w.r.t. ``inputs[grad_inputs]`` via GradientTape."""
    import numflow as tf
    with eager_mode():
        ts = [tf.constant(np.asarray(a)) for a in inputs]
        with tf.GradientTape() as tape:
            for i in grad_inputs:
                tape.watch(ts[i])
            outs = _flatten(fn(*ts))
            total = _objective(outs, weights)
        grads = tape.gradient(total, [ts[i] for i in grad_inputs])
    return [np.zeros_like(inputs[i]) if gr is None else _to_numpy(gr)
            for i, gr in zip(grad_inputs, grads)]


def _objective(outs, weights):
    import numflow as tf
    terms = [tf.reduce_sum(o * tf.constant(w.astype(o.dtype.as_numpy_dtype)))
             for o, w in zip(outs, weights) if w is not None]
    return tf.add_n(terms)


def numeric_gradients(fn, inputs, grad_inputs, weights, eps=1e-6):
    """Central differences of ``sum(w * fn(inputs))`` in float64."""
    out = []
    for i in grad_inputs:
        x = np.array(inputs[i], dtype=np.float64)
        gr = np.zeros_like(x)
        flat, gflat = x.reshape(-1), gr.reshape(-1)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            hi = _objective_np(fn, _replace(inputs, i, x), weights)
            flat[j] = orig - eps
            lo = _objective_np(fn, _replace(inputs, i, x), weights)
            flat[j] = orig
            gflat[j] = (hi - lo) / (2 * eps)
        out.append(gr)
    return out


def _replace(seq, i, v):
    seq = list(seq)
    seq[i] = v.copy()
    return seq


def graph_gradients(fn, inputs, grad_inputs, weights):
    """Gradients through ``tf.gradients`` in a fresh graph (compared with the tape's)."""
    import numflow as tf
    from numflow.ops import array_ops
    from numflow.autodiff.gradients import gradients
    from numflow.runtime.session import Session
    g = tf.Graph()
    with g.as_default():
        phs = [array_ops.placeholder(tf.as_dtype(np.asarray(a).dtype), np.shape(a))
               for a in inputs]
        outs = _flatten(fn(*phs))
        total = _objective(outs, weights)
        grads = gradients(total, [phs[i] for i in grad_inputs])
        fetch = [gr for gr in grads if gr is not None]
        sess = Session(graph=g)
        vals = iter(sess.run(fetch, feed_dict=dict(zip(phs, inputs))))
        sess.close()
    return [np.zeros_like(inputs[i]) if gr is None else np.asarray(next(vals))
            for i, gr in zip(grad_inputs, grads)]


# ---- the check ------------------------------------------------------------------------------
def check_op(fn, inputs, reference=None, grad=True, rtol=1e-5, atol=1e-6, grad_inputs=None,
             static_inputs=(), unknown_dims=True, grad2=False, op_type=None, grad_rtol=1e-4,
             grad_atol=1e-6, check_dtype=True, dynamic_shape=False):
    """Checks ``fn`` (built from public ops) on ``inputs``; raises AssertionError on a failure.

    Args:
      fn: ``fn(*tensors) -> tensor | list of tensors``.
      inputs: NumPy arrays (their dtypes are the tensors' dtypes).
      reference: ``reference(*arrays) -> array | list``, given float64 copies of float
        inputs; None skips the reference comparison.
      grad: check gradients w.r.t. the float inputs (or ``grad_inputs``).
      rtol, atol: forward tolerances (float32 results are compared to float64 references).
      static_inputs: indices of inputs given as constants in graph mode (attrs like axes).
      unknown_dims: also build the graph with every placeholder dimension unknown.
      grad2: also check the second derivative (gradient of the gradient) numerically.
      op_type: the registered op type the graph must contain.
      check_dtype: require float32 inputs to give no float64 output.
      dynamic_shape: the output shape depends on input values (unique, where...): the
        static shape need only be compatible with the runtime one.
    """
    inputs = [np.asarray(a) for a in inputs]
    eager = run_eager(fn, inputs)
    if reference is not None:
        expected = _flatten(reference(*[_as64(a) for a in inputs]))
        assert len(expected) == len(eager), f"{len(eager)} outputs, reference gives " \
                                            f"{len(expected)}"
        for k, (a, e) in enumerate(zip(eager, expected)):
            _allclose(a, e, rtol, atol, f"forward output {k}")
    if check_dtype and any(a.dtype == np.float32 for a in inputs) and not any(a.dtype == np.float64
                                                              for a in inputs):
        for k, a in enumerate(eager):
            assert a.dtype != np.float64, f"output {k} became float64 from float32 inputs"
    variants = [False, True] if unknown_dims else [False]
    for unk in variants:
        vals, shapes, dts = run_graph(fn, inputs, unk, static_inputs, op_type)
        where = "graph (unknown dims)" if unk else "graph"
        assert len(vals) == len(eager), f"{where}: {len(vals)} outputs vs {len(eager)} eager"
        for k, (v, e) in enumerate(zip(vals, eager)):
            _allclose(v, e, 1e-6, 1e-7, f"{where} output {k} != eager")
        _check_shapes(shapes, dts, vals, exact=not unk and not dynamic_shape, where=where)
    if grad:
        _check_grad(fn, inputs, grad_inputs, grad2, grad_rtol, grad_atol)


def _check_grad(fn, inputs, grad_inputs, grad2, rtol, atol):
    in64 = [_as64(a) for a in inputs]
    if grad_inputs is None:
        grad_inputs = [i for i, a in enumerate(in64) if a.dtype.kind == "f"]
    assert grad_inputs, "grad=True but no float inputs to differentiate"
    weights = _weights(run_eager(fn, in64))
    analytic = tape_gradients(fn, in64, grad_inputs, weights)
    numeric = numeric_gradients(fn, in64, grad_inputs, weights)
    for i, a, n in zip(grad_inputs, analytic, numeric):
        _allclose(a, n, rtol, atol, f"gradient w.r.t. input {i} (tape vs central differences)")
    symbolic = graph_gradients(fn, in64, grad_inputs, weights)
    for i, a, s in zip(grad_inputs, analytic, symbolic):
        _allclose(s, a, 1e-9, 1e-12, f"gradient w.r.t. input {i} (tf.gradients vs tape)")
    if grad2:
        _check_grad2(fn, in64, grad_inputs, weights, rtol, atol)


def _check_grad2(fn, in64, grad_inputs, weights, rtol, atol):
    """The gradient of ``sum(v * grad)`` against central differences of the gradient."""
    import numflow as tf
    rng = np.random.RandomState(1)
    vs = [rng.uniform(0.5, 1.5, in64[i].shape) for i in grad_inputs]

    def first(*arrays):
        return float(sum(np.sum(g * v) for g, v in
                         zip(tape_gradients(fn, list(arrays), grad_inputs, weights), vs)))

    with eager_mode():
        ts = [tf.constant(a) for a in in64]
        with tf.GradientTape() as outer:
            for i in grad_inputs:
                outer.watch(ts[i])
            with tf.GradientTape() as inner:
                for i in grad_inputs:
                    inner.watch(ts[i])
                total = _objective(_flatten(fn(*ts)), weights)
            gs = inner.gradient(total, [ts[i] for i in grad_inputs])
            terms = [tf.reduce_sum(gr * tf.constant(v)) for gr, v in zip(gs, vs)
                     if gr is not None]
            second = tf.add_n(terms)
        analytic = outer.gradient(second, [ts[i] for i in grad_inputs])
    eps = 1e-5
    for k, i in enumerate(grad_inputs):
        x = in64[i].copy()
        num = np.zeros_like(x)
        flat, nflat = x.reshape(-1), num.reshape(-1)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            hi = first(*_replace(in64, i, x))
            flat[j] = orig - eps
            lo = first(*_replace(in64, i, x))
            flat[j] = orig
            nflat[j] = (hi - lo) / (2 * eps)
        got = np.zeros_like(x) if analytic[k] is None else _to_numpy(analytic[k])
        _allclose(got, num, max(rtol, 1e-4), max(atol, 1e-5),
                  f"second derivative w.r.t. input {i}")
