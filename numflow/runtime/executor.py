"""The executor: compiles a Program (runtime/passes/program.py) into a flat list of steps
and runs them.

A step is ``(fn, getter of its inputs, output slot(s), slots freed, node)``. Values live in a list
of slots; a slot is cleared as soon as its last reader has taken its value (so a plan
holds only the live intermediates, and a buffer whose last reader is an elementwise op
can become that op's output: see passes/inplace.py). TF1 variable reads (VariableV2)
are re-read right before each reader, which sees the value at the time it runs.
BLAS-heavy kernels run with the thread count ``numflow.kernels.threads`` picks for
their size.
"""
import functools
import operator
import sys
import threading

import numpy as np
from numpy import ndarray

from numflow.framework import errors
from numflow.kernels import threads
from numflow.runtime.passes import inplace as inplace_pass
from numflow.runtime.passes.program import REF_OPS

MIN_INPLACE_SIZE = inplace_pass.MIN_SIZE


class _Local(threading.local):
    blas = None           # the running plan's threads.Session, in this thread


_tls = _Local()


# ---- running ----------------------------------------------------------------------------------
def execute(steps, vals):
    """Runs ``steps`` over the slot list ``vals`` (feeds already in place)."""
    node, args = None, ()
    try:
        for fn, get, outs, free, node in steps:
            args = get(vals)
            for j in free:
                vals[j] = None
            # No local may keep a result alive: buffer reuse counts references.
            if type(outs) is int:
                vals[outs] = fn(*args)
            else:
                for s, r in zip(outs, fn(*args)):
                    vals[s] = r
                r = None
    except Exception as e:   # noqa: BLE001 - re-raised as TF's error naming the op
        op, e2 = _failing_part(node, args, e)
        raise _op_error(op, e2) from e


def getter(ins):
    """``get(vals)``: the values in slots ``ins``, as a sequence (C-speed for every arity)."""
    if not ins:
        return _no_args
    if len(ins) == 1:
        return operator.itemgetter(slice(ins[0], ins[0] + 1))
    return operator.itemgetter(*ins)


def _no_args(vals):
    return ()


def run_steps(steps, n_slots, feed_slots, feed_values, fetch_slots, uses_blas):
    """One run: the fetched values, in ``fetch_slots`` order."""
    vals = [None] * n_slots
    for s, v in zip(feed_slots, feed_values):
        vals[s] = v
    if not uses_blas or _tls.blas is not None or not threads.available():
        execute(steps, vals)
        return [vals[s] for s in fetch_slots]
    session = threads.Session()
    if not session.saved or session.saved <= 1:
        execute(steps, vals)          # one thread already: nothing to decide
        return [vals[s] for s in fetch_slots]
    if session.full <= 1:
        session.one_thread()          # a busy machine: every kernel on one thread
    else:
        _tls.blas = session           # kernels choose by size (executor._blas_fn)
    try:
        execute(steps, vals)
    finally:
        _tls.blas = None
        session.close()
    return [vals[s] for s in fetch_slots]


def _failing_part(node, args, e):
    """For a fused node, the original op that fails on these inputs (and its error)."""
    parts = getattr(node, "parts", None)
    if not parts:
        return (node.op if node is not None else None), e
    env = dict(zip(node.inputs, args))
    for part in parts:
        try:
            res = part.opdef.kernel(np, *[env[v] for v in part.inputs], **part.attrs)
        except Exception as e2:   # noqa: BLE001
            return part.op, e2
        res = res if isinstance(res, (list, tuple)) and len(part.outputs) != 1 else [res]
        env.update(zip(part.outputs, res))
    return node.op, e


def _op_error(op, e):
    where = f"\n\t [[node {op.name} (defined at {op.location}) ]]"
    if isinstance(e, errors.OpError):
        return type(e)(None, op, f"{e.message}{where}")
    return errors.InvalidArgumentError(None, op, f"{op.type}: {e}{where}")


# ---- compiling --------------------------------------------------------------------------------
class Compiled:
    """The steps of one program and where its feeds and fetches live."""

    __slots__ = ("steps", "n_slots", "feed_slots", "fetch_slots", "uses_blas")


def compile_program(program, state):
    """Steps for ``program`` running against RunState ``state``."""
    slots = {}

    def slot(v):
        if v is None:
            return -1           # the scratch slot: a fed output's discarded result
        s = slots.get(v)
        if s is None:
            s = slots[v] = len(slots)
        return s

    out = Compiled()
    out.feed_slots = [slot(v) for v in program.feeds]
    ref_reader = {n.outputs[0]: n for n in program.nodes
                  if n.type in REF_OPS and n.outputs[0] is not None}
    compiled, raw = {}, []
    for node in program.nodes:
        entry = compiled[id(node)] = (_kernel(node, state, program.info),
                                      tuple(slot(v) for v in node.inputs),
                                      _outs(node, slot), node)
        if node.type in REF_OPS:
            continue            # read right before each reader instead
        for v in node.inputs:
            if v in ref_reader:
                raw.append(compiled[id(ref_reader[v])])
        raw.append(entry)
    for v in program.fetches:
        if v in ref_reader:
            raw.append(compiled[id(ref_reader[v])])
    out.fetch_slots = [slot(v) for v in program.fetches]
    out.n_slots = len(slots) + 1
    out.steps = _with_lifetimes(raw, set(out.fetch_slots))
    out.uses_blas = any(getattr(s[0], "blas", False) for s in out.steps)
    return out


def _outs(node, slot):
    outs = tuple(slot(v) for v in node.outputs)
    if len(node.outputs) == 1 and node.opdef.num_outputs == 1:
        return outs[0]
    return outs


def _kernel(node, state, info):
    opdef = node.opdef
    if opdef.stateful:
        fn = functools.partial(opdef.kernel, np, ctx=state, **node.attrs)
    else:
        fn = functools.partial(opdef.kernel, np, **node.attrs)
    flops = _FLOPS.get(node.type)
    if flops is not None and not _statically_tiny(node, info, flops):
        fn = _blas_fn(fn, functools.partial(flops, **node.attrs))
    return fn


def _statically_tiny(node, info, flops):
    """True when static shapes prove the product too small for any thread decision."""
    shapes = [info.get(v, (None, None))[1] for v in node.inputs]
    if not all(s is not None and s.is_fully_defined() for s in shapes):
        return False
    # Zero-stride stand-ins carry the shapes without allocating anything.
    views = [np.broadcast_to(np.zeros((), np.int8), s.as_list()) for s in shapes]
    return flops(*views, **node.attrs) < threads.TINY_FLOPS


def _with_lifetimes(raw, keep):
    """Adds to each step the input slots whose value nobody reads afterwards (cleared
    before the kernel runs), turns marked elementwise steps into buffer-reusing ones, and
    sends outputs nobody reads to the scratch slot."""
    live = set(keep)
    steps = []
    for fn, ins, outs, node in reversed(raw):
        out_slots = (outs,) if type(outs) is int else outs
        if type(outs) is int and outs not in live and outs != -1:
            outs = -1
        elif type(outs) is not int:
            outs = tuple(s if s in live else -1 for s in outs)
        live.difference_update(out_slots)
        free = tuple(s for s in dict.fromkeys(ins) if s not in live and s != -1)
        live.update(ins)
        if node.inplace and free:
            fn = _reusing(fn, node, ins, free)
        steps.append((fn, getter(ins), outs, free, node))
    steps.reverse()
    return steps


def _reusing(fn, node, ins, free):
    """``fn``, or a buffer-reusing wrapper when a marked input dies at this step."""
    sole = _SOLE_REFS.get(len(ins))
    for k in node.inplace:
        if sole and ins[k] in free and ins.count(ins[k]) == 1:
            ufunc, _ = inplace_pass.KERNELS[node.type]
            return _in_place_fn(ufunc, k, fn, node.type != "ReluGrad", sole)
    return fn


# ---- buffer reuse ------------------------------------------------------------------------------
def _in_place_fn(ufunc, k, kernel, same_dtype, sole):
    """Computes into input ``k``'s buffer when the plan holds the only reference to it
    (``sole``: the reference count seen then). A closure rather than a class: a step's
    call overhead matters for small ops."""
    def step(*args):
        a = args[k]
        if type(a) is ndarray and a.size >= MIN_INPLACE_SIZE and \
                sys.getrefcount(a) <= sole and a.dtype.kind == "f" and \
                a.flags.owndata and a.flags.writeable and _fits(a, args, k, same_dtype):
            return ufunc(*args, out=a)
        return kernel(*args)
    step.reuses = k
    return step


def _fits(a, args, k, same_dtype):
    """True when the result of the op on ``args`` has ``a``'s shape and dtype."""
    if len(args) == 1:
        return True
    b = args[1 - k]
    if not isinstance(b, (ndarray, np.generic)) or (same_dtype and b.dtype != a.dtype):
        return False
    bs, as_ = b.shape, a.shape
    if bs == as_:
        return True
    n = len(bs)
    return n <= len(as_) and all(d == 1 or d == e for d, e in zip(bs, as_[len(as_) - n:]))


def _probe_fn():
    """Counts references the way an _in_place_fn step sees them (for calibration)."""
    k = 0

    def step(*args):
        a = args[k]
        return sys.getrefcount(a)
    return step


def _calibrate(n_inputs):
    """The reference count input 0 has inside a step's kernel call when the plan's slot
    was its only holder (it depends on the Python version and on the arity)."""
    vals = [np.empty(2), np.empty(2), np.empty(2), None]
    ins = tuple(range(n_inputs))
    execute([(_probe_fn(), getter(ins), 3, ins, None)], vals)
    return vals[3]


_SOLE_REFS = {n: _calibrate(n) for n in (1, 2)}   # by the number of inputs


# ---- BLAS threads ------------------------------------------------------------------------------
def _blas_fn(fn, flops):
    """Runs a BLAS-heavy kernel with the thread count suited to its size."""
    def step(*args):
        session = _tls.blas
        if session is not None:
            session.before(flops(*args))
        return fn(*args)
    step.blas = True
    return step


def _matmul_flops(a, b, *rest, transpose_a=False, transpose_b=False, **attrs):
    k = a.shape[-2] if transpose_a else a.shape[-1]
    return 2.0 * a.size * b.size / max(k, 1) if a.ndim >= 2 and b.ndim >= 2 else 0.0


def _conv_flops(x, w, *rest, strides=(1, 1), **attrs):
    return 2.0 * x.size / max(x.shape[-1], 1) * w.size / (strides[0] * strides[1]) \
        if x.ndim == 4 else 0.0


def _conv_input_flops(sizes, w, dy, **attrs):
    return 2.0 * dy.size / max(dy.shape[-1], 1) * w.size if dy.ndim == 4 else 0.0


def _conv_filter_flops(x, sizes, dy, **attrs):
    return 2.0 * dy.size / max(dy.shape[-1], 1) * float(np.prod(sizes)) if dy.ndim == 4 \
        else 0.0


_FLOPS = {"MatMul": _matmul_flops, "BatchMatMulV2": _matmul_flops,
          "_FusedMatMul": _matmul_flops, "Conv2D": _conv_flops, "_FusedConv2D": _conv_flops,
          "Conv2DBackpropInput": _conv_input_flops,
          "Conv2DBackpropFilter": _conv_filter_flops}
