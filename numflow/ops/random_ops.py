"""Stateful random ops (``tf.random.normal``, ``tf.random_uniform``...) with TF's seed rules.

Each op carries TF's ``seed``/``seed2`` attributes (from the graph seed and the op seed,
``numflow.kernels.random.get_seed``) and draws from a ``PhiloxStream`` kept in the run
state under the op's ``key`` attribute: every Session starts each op's stream afresh,
and successive runs continue it, so seeded ops give TF's numbers run after run. In eager
mode the key is the op type and its attributes, as TF's eager kernel cache keys kernels:
two calls with the same op seed continue one stream, and ``tf.random.set_seed`` restarts
them all.

Seed rules (TF 2.x ``random_seed.get_seed``, also used by ``tf.compat.v1``): an op seed
alone pairs with the default graph seed 87654321; a graph seed alone pairs with a per-graph
counter of the random ops created so far (0, 1, ...); eagerly, with ``tf.random.set_seed``,
op seeds are drawn from ``random.Random(global_seed)``; neither means fresh OS entropy.
"""
import contextlib
import itertools
import random as _pyrandom

import numpy as np

from numflow._api.export import export
from numflow.framework import context, dtypes, errors
from numflow.framework.tensor_shape import TensorShape
from numflow.kernels import random as rk
from numflow.ops import infer
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.math_ops import add, multiply, subtract
from numflow.ops.registry import register_op
from numflow.runtime.state import EAGER_STATE

_KEY_PREFIX = "random_ops"
_KEYS = itertools.count()
_EAGER = {"rng": None}
_FLOATS = (dtypes.float16, dtypes.float32, dtypes.float64)


# ---- seeds ---------------------------------------------------------------------------------
@export(v1=["random.get_seed", "get_seed"])
def get_seed(op_seed):
    """TF1 ``tf.random.get_seed(op_seed)``: the ``(seed, seed2)`` pair a random op uses, from the
    graph-level (or eager global) seed and ``op_seed``; ``(None, None)`` when neither is
    set. With only the graph seed, each call takes the graph's next op counter value."""
    if context.executing_eagerly():
        global_seed = context.global_seed()
        if global_seed is not None and op_seed is None:
            if context.next_eager_op_seed() == 1 or _EAGER["rng"] is None:
                _EAGER["rng"] = _pyrandom.Random(int(global_seed))
            op_seed = _EAGER["rng"].randint(0, rk._MAXINT32)
        return rk.get_seed(global_seed, None if op_seed is None else int(op_seed))
    graph = context.get_default_graph()
    global_seed = graph.seed
    if global_seed is None and getattr(graph, "is_function_graph", False):
        global_seed = context.global_seed()
    counter = 0
    if global_seed is not None and op_seed is None:
        counter = graph._random_op_count
        graph._random_op_count += 1
    return rk.get_seed(global_seed, None if op_seed is None else int(op_seed), counter)


def _clear_eager_streams():
    for k in [k for k in EAGER_STATE.rngs if isinstance(k, tuple) and k[0] == _KEY_PREFIX]:
        del EAGER_STATE.rngs[k]


@export("random.set_seed", v1=[])
def set_seed(seed):
    """``tf.random.set_seed(seed)``: sets the global seed (eager) or the default graph's
    seed (graph mode). Eagerly it also restarts every random op's stream, so the same
    sequence of random calls after ``set_seed(s)`` gives the same numbers."""
    if context.executing_eagerly():
        context.set_global_seed(seed)
        _EAGER["rng"] = None if seed is None else _pyrandom.Random(int(seed))
        _clear_eager_streams()
    else:
        context.get_default_graph().seed = None if seed is None else int(seed)


@export(v1=["random.set_random_seed", "set_random_seed"])
def set_random_seed(seed):
    """TF1 ``tf.set_random_seed(seed)``: sets the default graph's ``graph.seed`` (the global
    seed when executing eagerly)."""
    set_seed(seed)


# ---- the stateful kernel plumbing ------------------------------------------------------------
def _stream(ctx, key, seed, seed2):
    stream = ctx.rngs.get(key)
    if stream is None:
        stream = ctx.rngs[key] = rk.PhiloxStream(seed, seed2)
    return stream


def _drawing(draw):
    """A stateful kernel that draws from the op's stream under the run state's lock."""
    def kernel(xp, *inputs, ctx, key, seed, seed2, **attrs):
        with ctx.lock:
            return draw(xp, _stream(ctx, key, seed, seed2), *inputs, **attrs)
    return kernel


def _dims(shape):
    dims = tuple(int(d) for d in np.asarray(shape).reshape(-1))
    if any(d < 0 for d in dims):
        raise errors.InvalidArgumentError(None, None, f"Shape {list(dims)} has negative dims")
    return dims


def _shaped_infer(ins, a):
    return [(a["dtype"], infer.shape_from_tensor(ins[0]))]


_NORMAL = register_op("RandomStandardNormal", infer=_shaped_infer, stateful=True,
                      kernel=_drawing(lambda xp, s, shape, dtype: s.normal(_dims(shape), dtype)))
_UNIFORM = register_op("RandomUniform", infer=_shaped_infer, stateful=True,
                       kernel=_drawing(lambda xp, s, shape, dtype: s.uniform(_dims(shape), dtype)))
_TRUNCATED = register_op(
    "TruncatedNormal", infer=_shaped_infer, stateful=True,
    kernel=_drawing(lambda xp, s, shape, dtype: s.truncated_normal(_dims(shape), dtype)))


def _uniform_int_draw(xp, s, shape, minval, maxval, dtype):
    if minval.ndim or maxval.ndim:
        raise errors.InvalidArgumentError(
            None, None, f"minval and maxval must be 0-D, got shapes {list(minval.shape)} and "
            f"{list(maxval.shape)}")
    return s.uniform_int(_dims(shape), int(minval), int(maxval), dtype)


_UNIFORM_INT = register_op("RandomUniformInt", infer=_shaped_infer, stateful=True,
                           kernel=_drawing(_uniform_int_draw))


def _random_attrs(seed, dtype, op_type):
    seed1, seed2 = get_seed(seed)
    if context.executing_eagerly():
        key = (_KEY_PREFIX, op_type, seed1 or 0, seed2 or 0, dtype.name)
    else:
        key = (_KEY_PREFIX, next(_KEYS))
    return {"key": key, "seed": seed1 or 0, "seed2": seed2 or 0, "dtype": dtype}


@contextlib.contextmanager
def _scope(name, default):
    """TF's ``name_scope(name, default)``: yields the scope ("x/") that names the result."""
    if context.executing_eagerly():
        yield None
    else:
        with context.get_default_graph().name_scope(name or default) as scope:
            yield scope


def _shape_tensor(shape):
    if isinstance(shape, TensorShape):
        shape = shape.as_list()
    if isinstance(shape, (list, tuple)) and not shape:
        return convert_to_tensor(np.zeros([0], np.int32), name="shape")
    t = convert_to_tensor(shape, dtype_hint=dtypes.int32, name="shape")
    if not t.dtype.is_integer:
        raise TypeError(f"shape must be integers, got {t.dtype.name}")
    return t


def _float_dtype(dtype, what):
    dtype = dtypes.as_dtype(dtype).base_dtype
    if dtype not in _FLOATS:
        raise ValueError(f"Invalid dtype {dtype.name} for {what}; expected a float type")
    return dtype


def _scaled(opdef, op_type, default, shape, mean, stddev, dtype, seed, name):
    dtype = _float_dtype(dtype, default)
    with _scope(name, default) as scope:
        shape_t = _shape_tensor(shape)
        mean_t = convert_to_tensor(mean, dtype=dtype, name="mean")
        stddev_t = convert_to_tensor(stddev, dtype=dtype, name="stddev")
        rnd = apply_op(opdef, [shape_t], _random_attrs(seed, dtype, op_type), name=op_type)
        return add(multiply(rnd, stddev_t), mean_t, name=scope)


# ---- public ops --------------------------------------------------------------------------------
@export("random.normal", v1=["random.normal", "random_normal"])
def random_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """``tf.random.normal(shape, mean=0.0, stddev=1.0, dtype=tf.float32, seed=None,
    name=None)``: normal samples ``N(0, 1) * stddev + mean``, computed in ``dtype``.

    With ``seed`` (and/or a graph seed) the numbers are TF's: each run of the op in a
    Session continues its stream, and a new Session starts it again.
    """
    return _scaled(_NORMAL, "RandomStandardNormal", "random_normal", shape, mean, stddev,
                   dtype, seed, name)


@export("random.truncated_normal", v1=["random.truncated_normal", "truncated_normal"])
def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """``tf.random.truncated_normal(shape, mean=0.0, stddev=1.0, dtype=tf.float32, seed=None,
    name=None)``: normal samples redrawn until within two standard deviations of 0, then
    ``* stddev + mean``."""
    return _scaled(_TRUNCATED, "TruncatedNormal", "truncated_normal", shape, mean, stddev,
                   dtype, seed, name)


@export("random.uniform", v1=["random.uniform", "random_uniform"])
def random_uniform(shape, minval=0, maxval=None, dtype=dtypes.float32, seed=None, name=None):
    """``tf.random.uniform(shape, minval=0, maxval=None, dtype=tf.float32, seed=None,
    name=None)``: uniform samples in ``[minval, maxval)`` (``maxval`` defaults to 1 for
    floats).

    Raises:
      ValueError: an integer ``dtype`` without ``maxval``, or an unsupported dtype.
      InvalidArgumentError: (when run) integer ``minval >= maxval``.
    """
    dtype = dtypes.as_dtype(dtype).base_dtype
    if dtype not in _FLOATS + (dtypes.int32, dtypes.int64):
        raise ValueError(f"Invalid dtype {dtype.name}")
    if maxval is None:
        if dtype.is_integer:
            raise ValueError(f"Must specify maxval for integer dtype {dtype.name}")
        maxval = 1
    with _scope(name, "random_uniform") as scope:
        shape_t = _shape_tensor(shape)
        lo_zero = isinstance(minval, int) and minval == 0
        hi_one = isinstance(maxval, int) and maxval == 1
        if not lo_zero or not hi_one or dtype.is_integer:
            minval = convert_to_tensor(minval, dtype=dtype, name="min")
            maxval = convert_to_tensor(maxval, dtype=dtype, name="max")
        if dtype.is_integer:
            attrs = _random_attrs(seed, dtype, "RandomUniformInt")
            return apply_op(_UNIFORM_INT, [shape_t, minval, maxval], attrs, name=scope)
        rnd = apply_op(_UNIFORM, [shape_t], _random_attrs(seed, dtype, "RandomUniform"),
                       name="RandomUniform")
        if lo_zero:
            return rnd if hi_one else multiply(rnd, maxval, name=scope)
        return add(rnd * subtract(maxval, minval), minval, name=scope)


def _shuffle_draw(xp, s, value):
    n = value.shape[0] if value.ndim else 0
    if value.size <= 1 or n <= 1:
        return value.copy()
    # TF's RandomShuffleOp: reserve ceil((n - 1) / 4) Philox blocks, read their 32-bit words
    # one at a time, and swap i with i + word % (n - i) (Fisher-Yates from the front).
    blocks = -(-(n - 1) // 4)
    start = s._counter
    s._counter = (start + blocks) % (1 << 128)
    words = s._blocks(start, blocks).reshape(-1)[:n - 1].tolist()
    perm = list(range(n))
    for i, w in enumerate(words):
        j = i + w % (n - i)
        perm[i], perm[j] = perm[j], perm[i]
    return value[np.asarray(perm)]


_SHUFFLE = register_op("RandomShuffle", infer=lambda ins, a: [(ins[0].dtype, ins[0].shape)],
                       kernel=_drawing(lambda xp, s, value, dtype: _shuffle_draw(xp, s, value)),
                       stateful=True)


@export("random.shuffle", v1=["random.shuffle", "random_shuffle"])
def random_shuffle(value, seed=None, name=None):
    """``tf.random.shuffle(value, seed=None, name=None)``: ``value`` with its first
    dimension randomly permuted (a different permutation each run)."""
    value = convert_to_tensor(value, name="value")
    return apply_op(_SHUFFLE, [value], _random_attrs(seed, value.dtype, "RandomShuffle"),
                    name=name)


def _multinomial_infer(ins, a):
    logits, n = ins
    if logits.shape.rank not in (None, 2):
        raise ValueError(f"logits should be a matrix, got shape {logits.shape}")
    c = infer.constant_value(n)
    batch = logits.shape[0] if logits.shape.rank == 2 else None
    return [(a["dtype"], TensorShape([batch, None if c is None else int(c)]))]


def _multinomial_draw(xp, s, logits, num_samples, dtype):
    if logits.ndim != 2:
        raise errors.InvalidArgumentError(None, None, f"logits should be a matrix, got shape "
                                                      f"{list(logits.shape)}")
    batch, classes = logits.shape
    ns = int(num_samples)
    if ns < 0:
        raise errors.InvalidArgumentError(None, None, f"num_samples should be nonnegative, "
                                                      f"got {ns}")
    if classes == 0 and batch and ns:
        raise errors.InvalidArgumentError(None, None, "num_classes should be positive, got 0")
    # TF's CPU kernel reserves batch * 2 * ceil4(ns) * 256 counter steps, then (when one
    # worker shard takes every row, as for small inputs) reads two words per sample as a
    # double in [0, 1) and inverts the running CDF of exp(logit - max) over finite logits.
    start = s._counter
    s._counter = (start + batch * 2 * (-(-ns // 4) * 4) * 256) % (1 << 128)
    out = xp.zeros((batch, ns), dtype=dtype.as_numpy_dtype)
    if not batch * ns:
        return out
    words = s._blocks(start, -(-batch * ns // 2)).reshape(-1, 2)[:batch * ns]
    u = rk._uint64_to_unit_double(xp, words[:, 0], words[:, 1]).reshape(batch, ns)
    x = logits.astype(xp.float64)
    finite = xp.isfinite(x)
    with np.errstate(invalid="ignore", over="ignore"):
        top = xp.where(finite, x, -xp.inf).max(axis=1, keepdims=True)
        cdf = xp.cumsum(xp.where(finite, xp.exp(x - top), 0.0), axis=1)
    for b in range(batch):
        out[b] = xp.searchsorted(cdf[b], u[b] * cdf[b, -1], side="right")
    return out


_MULTINOMIAL = register_op("Multinomial", infer=_multinomial_infer, stateful=True,
                           kernel=_drawing(_multinomial_draw))


@export("random.categorical", v1=["random.categorical"])
def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """``tf.random.categorical(logits, num_samples, dtype=None, seed=None, name=None)``:
    ``[batch, num_samples]`` class indices drawn from the unnormalized log-probabilities
    ``logits [batch, num_classes]`` (int64 unless ``dtype`` is int32)."""
    logits = convert_to_tensor(logits, name="logits")
    dtype = dtypes.as_dtype(dtype or dtypes.int64)
    if dtype not in (dtypes.int32, dtypes.int64):
        raise ValueError(f"dtype must be int32 or int64, got {dtype.name}")
    n = convert_to_tensor(num_samples, dtype=dtypes.int32, name="num_samples")
    return apply_op(_MULTINOMIAL, [logits, n], _random_attrs(seed, dtype, "Multinomial"),
                    name=name)


@export(v1=["random.multinomial", "multinomial"])
def multinomial(logits, num_samples, seed=None, name=None, output_dtype=None):
    """TF1 ``tf.multinomial(logits, num_samples, seed=None, name=None, output_dtype=None)``:
    the same draws as ``tf.random.categorical``."""
    return categorical(logits, num_samples, output_dtype, seed, name)
