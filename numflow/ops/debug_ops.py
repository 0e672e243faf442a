"""Run-time checks and printing: ``tf.Assert``, ``tf.debugging.assert_*``, ``tf.print``,
TF1 ``tf.Print``, ``tf.debugging.check_numerics`` and ``enable_check_numerics``.

Eagerly a failed check raises InvalidArgumentError at once. In a graph the check is an
op that raises when it runs (use it in ``tf.control_dependencies``); when both operands
are known at graph-build time the check happens at construction, as in TF.
"""
import sys

import numpy as np

from numflow._api.export import export
from numflow.framework import context, errors, nest
from numflow.ops import array_ops, infer, registry
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.registry import register_op


def _format(values, summarize):
    """TF-like text for a list of arrays/strings (``summarize`` items per dimension)."""
    parts = []
    for v in values:
        if isinstance(v, str):
            parts.append(v)
            continue
        a = np.asarray(v)
        if a.dtype == object:
            a = np.vectorize(lambda b: b.decode() if isinstance(b, bytes) else b,
                             otypes=[object])(a) if a.size else a
            if a.ndim == 0:
                parts.append(str(a.item()))
                continue
        edge = 3 if summarize is None else summarize
        fmt = {"float_kind": lambda v: f"{v:g}"}     # TF prints 1.0 as "1", 0.5 as "0.5"
        if edge < 0:
            text = np.array2string(a, threshold=sys.maxsize, separator=" ", formatter=fmt)
        else:
            text = np.array2string(a, threshold=max(2 * edge, 1), edgeitems=max(edge, 1),
                                   separator=" ", formatter=fmt)
        parts.append(text)
    return parts


def _data_inputs(data):
    """Splits ``data`` into tensors to feed and a template with Python strings kept."""
    template, tensors = [], []
    for d in nest.flatten(data):
        if isinstance(d, str):
            template.append(d)
        elif isinstance(d, bytes):
            template.append(d.decode())
        else:
            tensors.append(convert_to_tensor(d))
            template.append(None)
    return template, tensors


def _fill(template, arrays):
    it = iter(arrays)
    return [next(it) if t is None else t for t in template]


# ---- Assert ---------------------------------------------------------------------------------
def _assert_kernel(xp, cond, *data, template, summarize, ctx=None):
    if not bool(np.all(cond)):
        text = " ".join(_format(_fill(template, data), summarize))
        raise errors.InvalidArgumentError(None, None, f"assertion failed: [{text}]")
    return ()


_ASSERT = register_op("Assert", infer=lambda ins, a: [], kernel=_assert_kernel, num_outputs=0,
                      stateful=True)


def _graph_node(opdef, inputs, attrs, name):
    """Adds an output-less node (run for its effect); returns the Operation."""
    g = context.get_default_graph()
    inputs = [g.capture(t) if type(t).__name__ == "EagerTensor" else t for t in inputs]
    return g._create_op(opdef.name, inputs, attrs, [], name or opdef.name)


@export("debugging.Assert", "Assert")
def Assert(condition, data, summarize=None, name=None):  # noqa: N802 - TF's name
    """Raises InvalidArgumentError with ``data`` when ``condition`` is False (``tf.Assert``).

    Eagerly it checks now and returns None; in a graph it returns the check Operation.
    """
    c = convert_to_tensor(condition)
    if not c.dtype.base_dtype.is_bool:
        raise TypeError(f"Assert: condition must be a bool tensor, got {c.dtype.name}")
    template, tensors = _data_inputs(data)
    if context.executing_eagerly():
        _assert_kernel(np, c.numpy(), *[t.numpy() for t in tensors], template=template,
                       summarize=summarize)
        return None
    return _graph_node(_ASSERT, [c] + tensors, {"template": template, "summarize": summarize},
                       name or "Assert")


def _binary_assert(check, x, y, data, summarize, message, name, what):
    from numflow.ops import math_elementwise as me, math_ops, reductions
    x, y = math_ops.binary_inputs(x, y, what)
    cx, cy = infer.constant_value(x), infer.constant_value(y)
    if data is None:
        data = [f"{message + '. ' if message else ''}Condition x {what} y did not hold "
                "element-wise:", "x = ", x, "y = ", y]
    elif message:
        data = [message] + list(data)
    if cx is not None and cy is not None and not context.executing_eagerly():
        with np.errstate(all="ignore"):
            ok = np.all(check(np, cx, cy)) if np.size(cx) and np.size(cy) else True
        if not ok:
            template, tensors = _data_inputs(data)
            text = " ".join(_format(_fill(template, [infer.constant_value(t) for t in tensors]),
                                    summarize))
            raise errors.InvalidArgumentError(None, None, f"assertion failed: [{text}]")
        return _graph_node(registry.lookup("NoOp"), [], {}, name or "assert")
    cond = reductions.reduce_all(check(me, x, y))
    return Assert(cond, data, summarize, name=name or "assert")


def _assert_fn(pyname, what, check, v2_names, v1_names):
    def fn_v2(x, y, message=None, summarize=None, name=None):
        return _binary_assert(check, x, y, None, summarize, message, name, what)

    def fn_v1(x, y, data=None, summarize=None, message=None, name=None):
        return _binary_assert(check, x, y, data, summarize, message, name, what)
    fn_v2.__name__ = fn_v2.__qualname__ = pyname
    fn_v1.__name__ = fn_v1.__qualname__ = pyname + "_v1"
    fn_v2.__doc__ = (f"``tf.debugging.{pyname}(x, y, message=None, summarize=None, name=None)``:"
                     f" raises InvalidArgumentError unless ``x {what} y`` for every element.")
    fn_v1.__doc__ = (f"TF1 ``{pyname}(x, y, data=None, summarize=None, message=None, "
                     f"name=None)``; see the TF2 version.")
    export(*v2_names, v1=[])(fn_v2)
    export(v1=v1_names)(fn_v1)
    return fn_v2, fn_v1


assert_equal, assert_equal_v1 = _assert_fn(
    "assert_equal", "==", lambda m, x, y: m.equal(x, y),
    ("debugging.assert_equal", "assert_equal"), ["debugging.assert_equal", "assert_equal"])
assert_none_equal, assert_none_equal_v1 = _assert_fn(
    "assert_none_equal", "!=", lambda m, x, y: m.not_equal(x, y),
    ("debugging.assert_none_equal",), ["debugging.assert_none_equal", "assert_none_equal"])
assert_less, assert_less_v1 = _assert_fn(
    "assert_less", "<", lambda m, x, y: m.less(x, y),
    ("debugging.assert_less", "assert_less"), ["debugging.assert_less", "assert_less"])
assert_less_equal, assert_less_equal_v1 = _assert_fn(
    "assert_less_equal", "<=", lambda m, x, y: m.less_equal(x, y),
    ("debugging.assert_less_equal",), ["debugging.assert_less_equal", "assert_less_equal"])
assert_greater, assert_greater_v1 = _assert_fn(
    "assert_greater", ">", lambda m, x, y: m.greater(x, y),
    ("debugging.assert_greater", "assert_greater"), ["debugging.assert_greater",
                                                     "assert_greater"])
assert_greater_equal, assert_greater_equal_v1 = _assert_fn(
    "assert_greater_equal", ">=", lambda m, x, y: m.greater_equal(x, y),
    ("debugging.assert_greater_equal",), ["debugging.assert_greater_equal",
                                          "assert_greater_equal"])


def _sign_assert(pyname, what, check):
    def fn(x, message=None, summarize=None, name=None):
        t = convert_to_tensor(x)
        zero = np.zeros((), t.dtype.as_numpy_dtype) if infer.constant_value(t) is not None \
            else array_ops.zeros_like(t)
        return _binary_assert(check, t, zero, None, summarize, message, name, what)
    fn.__name__ = fn.__qualname__ = pyname
    fn.__doc__ = (f"``tf.debugging.{pyname}(x, message=None, summarize=None, name=None)``: "
                  f"raises InvalidArgumentError unless every element is {pyname[7:]}.")
    export(f"debugging.{pyname}", v1=[f"debugging.{pyname}", pyname])(fn)
    return fn


assert_positive = _sign_assert("assert_positive", ">", lambda m, x, y: m.greater(x, y))
assert_negative = _sign_assert("assert_negative", "<", lambda m, x, y: m.less(x, y))
assert_non_negative = _sign_assert("assert_non_negative", ">=",
                                   lambda m, x, y: m.greater_equal(x, y))
assert_non_positive = _sign_assert("assert_non_positive", "<=",
                                   lambda m, x, y: m.less_equal(x, y))


@export("debugging.assert_rank", "assert_rank", v1=["debugging.assert_rank", "assert_rank"])
def assert_rank(x, rank, message=None, name=None):
    """Raises ValueError unless ``x`` has rank ``rank`` (``tf.debugging.assert_rank``).

    The rank is checked statically; a tensor of unknown rank is checked at run time.
    """
    t = convert_to_tensor(x)
    want = int(np.asarray(infer.constant_value(convert_to_tensor(rank))))
    if t.shape.rank is not None:
        if t.shape.rank != want:
            raise ValueError(f"{message + '. ' if message else ''}Tensor must have rank "
                             f"{want}. Received rank {t.shape.rank}, shape {t.shape}")
        return None if context.executing_eagerly() else \
            _graph_node(registry.lookup("NoOp"), [], {}, name or "assert_rank")
    return assert_equal(array_ops.rank(t), want, message=message, name=name)


# ---- check_numerics -------------------------------------------------------------------------
def _check_numerics_kernel(xp, x, message):
    if x.dtype.kind in "fc":
        with np.errstate(all="ignore"):
            if xp.isnan(x).any():
                raise errors.InvalidArgumentError(None, None,
                                                  f"{message} : Tensor had NaN values")
            if xp.isinf(x).any():
                raise errors.InvalidArgumentError(None, None,
                                                  f"{message} : Tensor had Inf values")
    return x


def _check_numerics_grad(op, g):
    return [check_numerics(g, "Not a number (NaN) or infinity (Inf) values detected in "
                              "gradient. " + op.get_attr("message"))]


_CHECK_NUMERICS = register_op("CheckNumerics", infer=infer.same_as_input(),
                              kernel=_check_numerics_kernel, grad=_check_numerics_grad)


@export("debugging.check_numerics", v1=["debugging.check_numerics", "check_numerics"])
def check_numerics(tensor, message, name=None):
    """Passes ``tensor`` through, raising InvalidArgumentError (with ``message``) if it has
    NaN or Inf values (``tf.debugging.check_numerics``)."""
    t = convert_to_tensor(tensor)
    if not (t.dtype.base_dtype.is_floating or t.dtype.base_dtype.is_complex):
        raise TypeError(f"check_numerics: expected a float tensor, got {t.dtype.name}")
    return apply_op(_CHECK_NUMERICS, [t], {"message": str(message)}, name=name)


_ORIGINAL_KERNELS = {}


def _checked(opdef, kernel):
    def run(xp, *arrays, **attrs):
        out = kernel(xp, *arrays, **attrs)
        for o in (out if isinstance(out, (list, tuple)) else (out,)):
            if isinstance(o, np.ndarray) and o.dtype.kind in "fc":
                with np.errstate(all="ignore"):
                    bad = "NaN" if np.isnan(o).any() else "Inf" if np.isinf(o).any() else None
                if bad:
                    raise errors.InvalidArgumentError(
                        None, None, f"!!! Detected Infinity or NaN in output of op "
                                    f"{opdef.name} : {bad} values found (check_numerics)")
        return out
    return run


@export("debugging.enable_check_numerics")
def enable_check_numerics(stack_height_limit=30, path_length_limit=50):
    """Makes every op (eager, and graphs run from now on) raise InvalidArgumentError naming
    the op when a float output holds NaN or Inf (``tf.debugging.enable_check_numerics``)."""
    for name, opdef in registry.registered_ops().items():
        if name in _ORIGINAL_KERNELS or name in ("CheckNumerics", "Placeholder", "Const"):
            continue
        _ORIGINAL_KERNELS[name] = opdef.kernel
        opdef.kernel = _checked(opdef, opdef.kernel)


@export("debugging.disable_check_numerics")
def disable_check_numerics():
    """Undoes ``enable_check_numerics`` (``tf.debugging.disable_check_numerics``)."""
    for name, kernel in _ORIGINAL_KERNELS.items():
        registry.lookup(name).kernel = kernel
    _ORIGINAL_KERNELS.clear()


# ---- printing -------------------------------------------------------------------------------
def _stream_key(stream):
    if stream is None or stream is sys.stderr:
        return "stderr"
    if stream is sys.stdout:
        return "stdout"
    if isinstance(stream, str):
        if not stream.startswith("file://"):
            raise ValueError(f"output_stream {stream!r} must be sys.stdout, sys.stderr, a "
                             "logging function or 'file://<path>'")
        return stream
    if callable(stream):
        return stream
    raise ValueError(f"Unsupported output_stream {stream!r}")


def _emit(stream, text):
    if stream == "stderr":
        sys.stderr.write(text)
        sys.stderr.flush()
    elif stream == "stdout":
        sys.stdout.write(text)
        sys.stdout.flush()
    elif isinstance(stream, str):
        with open(stream[len("file://"):], "a", encoding="utf-8") as f:
            f.write(text)
    else:
        stream(text.rstrip("\n"))


def _print_v2_kernel(xp, *arrays, template, sep, end, stream, summarize, ctx=None):
    _emit(stream, sep.join(_format(_fill(template, arrays), summarize)) + end)
    return ()


_PRINT_V2 = register_op("PrintV2", infer=lambda ins, a: [], kernel=_print_v2_kernel,
                        num_outputs=0, stateful=True)


@export("print")
def print_v2(*inputs, **kwargs):
    """``tf.print(*inputs, output_stream=sys.stderr, summarize=3, sep=' ', end='\\n',
    name=None)``: prints tensors' values when the op runs (at once when eager).

    In a TF1 graph it returns the print Operation (run it, or use it as a control
    dependency); inside tf.function it runs with the function.
    """
    stream = _stream_key(kwargs.pop("output_stream", sys.stderr))
    summarize = kwargs.pop("summarize", 3)
    sep, end = kwargs.pop("sep", " "), kwargs.pop("end", "\n")
    name = kwargs.pop("name", None)
    if kwargs:
        raise TypeError(f"tf.print got unexpected keyword arguments {sorted(kwargs)}")
    template, tensors = _data_inputs(list(inputs))
    attrs = {"template": template, "sep": sep, "end": end, "stream": stream,
             "summarize": summarize}
    if context.executing_eagerly():
        _print_v2_kernel(np, *[t.numpy() for t in tensors], **attrs)
        return None
    return _graph_node(_PRINT_V2, tensors, attrs, name or "PrintV2")


def _print_kernel(xp, x, *data, message, first_n, summarize, counter, ctx=None):
    state = ctx.resources if ctx is not None else {}
    n = state.get(counter, 0)
    if first_n is None or first_n < 0 or n < first_n:
        body = "".join(_format(list(data), summarize))
        _emit("stderr", f"{message or ''}{body}\n")
    state[counter] = n + 1
    return x


_PRINT = register_op("Print", infer=infer.same_as_input(), kernel=_print_kernel, stateful=True,
                     grad=lambda op, g: [g] + [None] * (len(op.inputs) - 1))
_PRINT_COUNTERS = iter(range(1, sys.maxsize))


@export(v1=["Print"])
def Print(input_, data, message=None, first_n=None, summarize=None, name=None):  # noqa: N802
    """TF1 ``tf.Print``: an identity of ``input_`` that prints ``message`` and ``data`` to
    stderr each time it runs (only the first ``first_n`` times when given)."""
    x = convert_to_tensor(input_)
    tensors = [convert_to_tensor(d) for d in nest.flatten(data)]
    attrs = {"message": message, "first_n": first_n, "summarize": summarize,
             "counter": ("Print", next(_PRINT_COUNTERS))}
    return apply_op(_PRINT, [x] + tensors, attrs, name=name)

