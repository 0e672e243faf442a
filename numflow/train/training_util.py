"""The global step (``tf.train.get_or_create_global_step``) and TF1 learning-rate schedules
(``tf.compat.v1.train.exponential_decay``...).

The global step is an int64 scalar variable named ``global_step`` in the GLOBAL_VARIABLES
and GLOBAL_STEP collections. A schedule returns a scalar tensor computed from
``global_step`` in graph mode; eagerly it returns a no-argument callable (as TF does), so
the rate follows the step each time it is called.
"""
import math

from numflow._api.export import export
from numflow.framework import context, dtypes
from numflow.framework.api import name_scope
from numflow.graph.graph import GraphKeys
from numflow.ops import array_ops, math_ops
from numflow.ops import math_elementwise as me
from numflow.ops.apply import convert_to_tensor


# ---- global step --------------------------------------------------------------------------
@export(v1=["train.get_global_step"])
def get_global_step(graph=None):
    """The global step variable of ``graph`` (default graph), or None
    (``tf.compat.v1.train.get_global_step``).

    Raises:
      TypeError: the GLOBAL_STEP collection holds several variables.
    """
    if graph is None and context.executing_eagerly():
        return _EAGER_STEP[0]
    graph = graph or context.get_default_graph()
    steps = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if len(steps) > 1:
        raise TypeError("Multiple tensors in global_step collection.")
    if steps:
        return steps[0]
    try:
        return graph.get_tensor_by_name("global_step:0")
    except KeyError:
        return None


_EAGER_STEP = [None]


@export(v1=["train.create_global_step"])
def create_global_step(graph=None):
    """Creates the global step: an int64 scalar variable ``global_step`` initialized to 0,
    not trainable, in GLOBAL_VARIABLES and GLOBAL_STEP (``tf.compat.v1.train.create_global_step``).

    Raises:
      ValueError: the graph already has a global step ('"global_step" already exists.').
    """
    from numflow.train.init_ops import Zeros
    from numflow.train.variable_scope import get_variable
    if graph is None and context.executing_eagerly():
        if _EAGER_STEP[0] is not None:
            raise ValueError('"global_step" already exists.')
        _EAGER_STEP[0] = get_variable(GraphKeys.GLOBAL_STEP, shape=[], dtype=dtypes.int64,
                                      initializer=Zeros(), trainable=False)
        return _EAGER_STEP[0]
    graph = graph or context.get_default_graph()
    if get_global_step(graph) is not None:
        raise ValueError('"global_step" already exists.')
    with graph.as_default(), graph.name_scope(""):
        return get_variable(GraphKeys.GLOBAL_STEP, shape=[], dtype=dtypes.int64,
                            initializer=Zeros(), trainable=False,
                            collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP])


@export(v1=["train.get_or_create_global_step"])
def get_or_create_global_step(graph=None):
    """The global step variable, created if missing
    (``tf.compat.v1.train.get_or_create_global_step``)."""
    step = get_global_step(graph)
    return step if step is not None else create_global_step(graph)


@export(v1=["train.global_step"])
def global_step(sess, global_step_tensor):
    """The global step's value as a Python int (``tf.compat.v1.train.global_step``)."""
    if context.executing_eagerly():
        return int(global_step_tensor.numpy())
    return int(sess.run(global_step_tensor))


@export(v1=["train.assert_global_step"])
def assert_global_step(global_step_tensor):
    """Raises TypeError unless ``global_step_tensor`` is an integer scalar tensor/variable."""
    dtype = getattr(global_step_tensor, "dtype", None)
    if dtype is None or not dtype.base_dtype.is_integer:
        raise TypeError(f"Existing \"global_step\" does not have integer type: {dtype}")
    shape = global_step_tensor.get_shape()
    if shape.rank is not None and shape.rank != 0 and shape.num_elements() != 1:
        raise TypeError(f"Existing \"global_step\" is not scalar: {shape}")


# ---- learning-rate schedules ----------------------------------------------------------------
def _schedule(fn):
    """Eagerly, a callable re-evaluating ``fn``; in a graph, ``fn()``."""
    if context.executing_eagerly():
        return fn
    return fn()


def _check_step(global_step, name):
    if global_step is None:
        raise ValueError(f"global_step is required for {name}.")


def _as_float(x, dtype):
    return math_ops.cast(x, dtype)


def _common(learning_rate, global_step, name, default):
    with name_scope(name or default) as scope:
        lr = convert_to_tensor(learning_rate, name="learning_rate")
        dtype = lr.dtype.base_dtype
        step = _as_float(global_step.value() if hasattr(global_step, "assign") else
                         global_step, dtype)
        return scope, lr, dtype, step


@export(v1=["train.exponential_decay"])
def exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False,
                      name=None):
    """``learning_rate * decay_rate ** (global_step / decay_steps)``; with ``staircase``
    the exponent is floored (``tf.compat.v1.train.exponential_decay``).

    Raises:
      ValueError: ``global_step`` is None.
    """
    _check_step(global_step, "exponential decay")

    def decayed():
        scope, lr, dtype, step = _common(learning_rate, global_step, name, "ExponentialDecay")
        with name_scope(scope):
            p = step / _as_float(decay_steps, dtype)
            if staircase:
                p = me.floor(p)
            return math_ops.multiply(lr, me.pow(_as_float(decay_rate, dtype), p), name=scope)
    return _schedule(decayed)


@export(v1=["train.inverse_time_decay"])
def inverse_time_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False,
                       name=None):
    """``learning_rate / (1 + decay_rate * global_step / decay_steps)`` (floored ratio
    with ``staircase``) (``tf.compat.v1.train.inverse_time_decay``)."""
    _check_step(global_step, "inverse time decay")

    def decayed():
        scope, lr, dtype, step = _common(learning_rate, global_step, name, "InverseTimeDecay")
        with name_scope(scope):
            p = step / _as_float(decay_steps, dtype)
            if staircase:
                p = me.floor(p)
            denom = 1 + _as_float(decay_rate, dtype) * p
            return math_ops.divide(lr, denom, name=scope)
    return _schedule(decayed)


@export(v1=["train.natural_exp_decay"])
def natural_exp_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False,
                      name=None):
    """``learning_rate * exp(-decay_rate * global_step / decay_steps)`` (floored ratio with
    ``staircase``) (``tf.compat.v1.train.natural_exp_decay``)."""
    _check_step(global_step, "natural exp decay")

    def decayed():
        scope, lr, dtype, step = _common(learning_rate, global_step, name, "NaturalExpDecay")
        with name_scope(scope):
            p = step / _as_float(decay_steps, dtype)
            if staircase:
                p = me.floor(p)
            return math_ops.multiply(lr, me.exp(math_ops.negative(
                _as_float(decay_rate, dtype)) * p), name=scope)
    return _schedule(decayed)


@export(v1=["train.polynomial_decay"])
def polynomial_decay(learning_rate, global_step, decay_steps, end_learning_rate=0.0001,
                     power=1.0, cycle=False, name=None):
    """``(learning_rate - end) * (1 - step / decay_steps) ** power + end`` with ``step``
    capped at ``decay_steps``; with ``cycle`` the horizon grows to the next multiple of
    ``decay_steps`` instead (``tf.compat.v1.train.polynomial_decay``)."""
    _check_step(global_step, "polynomial decay")

    def decayed():
        scope, lr, dtype, step = _common(learning_rate, global_step, name, "PolynomialDecay")
        with name_scope(scope):
            end = _as_float(end_learning_rate, dtype)
            pw = _as_float(power, dtype)
            steps = _as_float(decay_steps, dtype)
            if cycle:
                mult = me.where(me.equal(step, 0), array_ops.ones_like(step),
                                me.ceil(step / steps))
                steps = steps * mult
            else:
                step = me.minimum(step, steps)
            frac = step / steps
            return math_ops.add((lr - end) * me.pow(1 - frac, pw), end, name=scope)
    return _schedule(decayed)


@export(v1=["train.cosine_decay"])
def cosine_decay(learning_rate, global_step, decay_steps, alpha=0.0, name=None):
    """``learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * step / decay_steps)) + alpha)``
    with ``step`` capped at ``decay_steps`` (``tf.compat.v1.train.cosine_decay``)."""
    _check_step(global_step, "cosine decay")

    def decayed():
        scope, lr, dtype, step = _common(learning_rate, global_step, name, "CosineDecay")
        with name_scope(scope):
            steps = _as_float(decay_steps, dtype)
            step = me.minimum(step, steps)
            completed = step / steps
            cosine = 0.5 * (1.0 + me.cos(math.pi * completed))
            a = _as_float(alpha, dtype)
            return math_ops.multiply(lr, (1 - a) * cosine + a, name=scope)
    return _schedule(decayed)


@export(v1=["train.piecewise_constant", "train.piecewise_constant_decay"])
def piecewise_constant(x, boundaries, values, name=None):
    """``values[0]`` while ``x <= boundaries[0]``, ``values[i]`` while ``boundaries[i-1] < x
    <= boundaries[i]``, ``values[-1]`` after the last boundary
    (``tf.compat.v1.train.piecewise_constant``).

    Raises:
      ValueError: ``len(values) != len(boundaries) + 1``, or values of mixed dtypes.
    """
    if len(boundaries) != len(values) - 1:
        raise ValueError("The length of boundaries should be 1 less than the length of "
                         "values")

    def decayed():
        with name_scope(name or "PiecewiseConstant") as scope:
            vals = [convert_to_tensor(v) for v in values]
            dtype = vals[0].dtype.base_dtype
            if any(v.dtype.base_dtype != dtype for v in vals):
                raise ValueError(f"Values must have elements all with the same dtype "
                                 f"({[v.dtype.name for v in vals]}).")
            step = x.value() if hasattr(x, "assign") else convert_to_tensor(x)
            out = vals[0]
            for b, v in zip(boundaries, vals[1:]):
                b = math_ops.cast(convert_to_tensor(b), step.dtype.base_dtype)
                out = me.where(me.greater(step, b), v, out)
            return array_ops.identity(out, name=scope)
    return _schedule(decayed)
