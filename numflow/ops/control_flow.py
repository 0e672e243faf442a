"""Control flow: ``tf.cond``, ``tf.case`` and ``tf.while_loop``.

Eagerly they are plain Python ``if``/``while``. In graph mode (TF1 graphs, tf.function
traces) each branch or loop body is traced into its own sub-graph, and one node (``If`` /
``While``, or ``StatelessIf`` / ``StatelessWhile`` when the sub-graphs hold no stateful op)
runs the sub-graph with the executor at run time, so only the taken branch runs and its
side effects (assignments, prints, random draws) happen once.

Gradients: ``If`` is differentiable (the gradient is another ``If`` over the branches'
gradient graphs; values of stateful ops are passed from the forward node, so random
draws are not redone). ``While`` has no graph-mode gradient yet (NotImplementedError);
under a GradientTape or eagerly the Python loop is recorded op by op and differentiates.
"""
import numpy as np

from numflow._api.export import export
from numflow.framework import context, dtypes, nest
from numflow.framework.tensor_shape import TensorShape
from numflow.graph.graph import Graph
from numflow.graph.operation import Operation
from numflow.graph.tensor import Tensor
from numflow.ops import array_ops, infer, registry
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.registry import register_op
from numflow.runtime.state import RunState


# ---- sub-graphs -----------------------------------------------------------------------------
class SubGraph(Graph):
    """A graph traced for a branch or loop body. Tensors of enclosing graphs used inside
    become placeholders ("captures"), fed by the node that runs the sub-graph."""

    def __init__(self, outer, name):
        super().__init__()
        self.outer = outer
        self.name = name
        self.seed = outer.seed
        self.captures = {}   # id(outer tensor) -> (outer tensor, inner placeholder)

    def _create_op(self, op_type, inputs, attrs, output_specs, name=None):
        inputs = [t if t.graph is self else self.capture_tensor(t) for t in inputs]
        return super()._create_op(op_type, inputs, attrs, output_specs, name)

    def capture_tensor(self, t):
        entry = self.captures.get(id(t))
        if entry is None:
            attrs = {"dtype": t.dtype.base_dtype, "shape": t.shape, "name": "capture"}
            ph = Graph._create_op(self, "Placeholder", [], attrs, [(t.dtype.base_dtype, t.shape)],
                                  "capture").outputs[0]
            entry = self.captures[id(t)] = (t, ph)
        return entry[1]

    def stateful_ops(self):
        return [op for op in self._ops if registry.lookup(op.type).stateful and
                op.type != "Placeholder"]


def _trace(outer, name, fn, args):
    """Runs ``fn(*args)`` in a new SubGraph; returns (graph, structured result)."""
    g = SubGraph(outer, name)
    with g.as_default():
        result = fn(*args)
    return g, result


class Branch:
    """A sub-graph ready to run: which inner tensors are fed from the node's inputs (None:
    that input is not used here), which are fetched (and into which output slots of the
    node), which ops always run. Plans are built lazily, one per RunState."""

    def __init__(self, graph, feeds, fetches, targets, slots=None):
        self.graph = graph
        self.feeds = list(feeds)
        self.fetches = list(fetches)
        self.targets = list(targets)
        self.slots = list(range(len(self.fetches))) if slots is None else list(slots)
        self._plans = {}

    def run(self, values, state):
        from numflow.runtime.plan import Plan
        used = [i for i, f in enumerate(self.feeds) if f is not None]
        entry = self._plans.get(id(state))
        if entry is None or entry[0] is not state:
            plan = Plan(self.fetches, self.targets, [self.feeds[i] for i in used], state)
            entry = self._plans[id(state)] = (state, plan)
        return entry[1].run([values[i] for i in used])

    def __repr__(self):
        return f"<Branch {self.graph.name}: {len(self.feeds)} in, {len(self.fetches)} out>"


def _as_output_tensor(graph, v):
    if isinstance(v, Tensor) and v.graph is not graph and type(v).__name__ != "EagerTensor":
        return graph.capture_tensor(v)
    with graph.as_default():
        return convert_to_tensor(v)


def _relaxed(a, b):
    if a.rank is None or b.rank is None or a.rank != b.rank:
        return TensorShape(None)
    return TensorShape([x if x == y else None for x, y in zip(a.as_list(), b.as_list())])


# ---- If -------------------------------------------------------------------------------------
def _if_infer(ins, a):
    return list(a["output_specs"])


def _if_kernel(xp, pred, *inputs, then_branch, else_branch, output_specs, n_user,
               then_exposed, else_exposed, ctx=None):
    if pred.size != 1:
        raise ValueError(f"The predicate of cond must be a scalar, got shape {list(pred.shape)}")
    branch = then_branch if bool(pred.reshape(())) else else_branch
    values = branch.run(inputs, ctx if ctx is not None else _STATELESS_STATE)
    # Slots the branch does not fill (the other branch's stateful values) get empty arrays.
    out = [None] * len(output_specs)
    for slot, v in zip(branch.slots, values):
        out[slot] = v
    return [np.zeros((0,), dtype=s[0].as_numpy_dtype) if v is None else v
            for v, s in zip(out, output_specs)]


_STATELESS_STATE = RunState()


def _if_grad(op, *grads):
    """The gradient of If: an If over the branches' gradient graphs."""
    a = op.attrs
    n_user = a["n_user"]
    ins = list(op.inputs[1:])
    diff = [i for i, t in enumerate(ins) if t.dtype.base_dtype.is_floating]
    user_outs = op.outputs[:n_user]
    gs = [g if g is not None else array_ops.zeros_like(o) for g, o in zip(grads[:n_user],
                                                                          user_outs)]
    float_outs = [k for k, o in enumerate(user_outs) if o.dtype.base_dtype.is_floating]
    if not diff or not float_outs:
        return [None] * len(op.inputs)
    exposed = list(op.outputs[n_user:])
    branches = []
    for b, offset in ((a["then_branch"], 0), (a["else_branch"], len(a["then_exposed"]))):
        # Each branch feeds its own stateful values; the other branch's slots are unused.
        branches.append(_grad_branch(b, a, offset, len(exposed), float_outs, diff))
    new_ins = [op.inputs[0]] + ins + exposed + [gs[k] for k in float_outs]
    specs = [(ins[i].dtype.base_dtype, ins[i].shape) for i in diff]
    out, _ = _make_if(new_ins, branches[0], branches[1], specs, len(specs), ([], []),
                      "cond_grad")
    result = [None] * len(op.inputs)
    for k, i in enumerate(diff):
        result[1 + i] = out[k]
    return result


def _grad_branch(branch, attrs, offset, n_exposed, float_outs, diff):
    from numflow.autodiff.gradients import gradients
    g = branch.graph
    n_in = len(branch.feeds)
    own_exposed = list(attrs["then_exposed"] if branch is attrs["then_branch"]
                       else attrs["else_exposed"])
    with g.as_default():
        g_phs = [array_ops.placeholder(branch.fetches[k].dtype.base_dtype, branch.fetches[k].shape)
                 for k in float_outs]
        srcs = [branch.feeds[i] for i in diff]
        dx = gradients([branch.fetches[k] for k in float_outs], srcs, grad_ys=g_phs)
        dx = [array_ops.zeros_like(s) if d is None else d for d, s in zip(dx, srcs)]
    exposed_feeds = [None] * n_exposed
    for j, t in enumerate(own_exposed):
        exposed_feeds[offset + j] = t
    feeds = branch.feeds[:n_in] + exposed_feeds + g_phs
    return Branch(g, feeds, dx, [])


def _make_if(inputs, then_b, else_b, specs, n_user, exposed, name):
    """Adds an If/StatelessIf node; returns its outputs (a list) and the node."""
    stateful = bool(then_b.targets or else_b.targets or exposed[0] or exposed[1])
    exp_specs = [(t.dtype.base_dtype, TensorShape(None)) for t in exposed[0] + exposed[1]]
    for b in (then_b, else_b):
        if len(b.feeds) != len(inputs) - 1:
            raise AssertionError("If: branch feeds do not line up with the node's inputs")
    opdef = _IF if stateful else _STATELESS_IF
    attrs = {"then_branch": then_b, "else_branch": else_b,
             "output_specs": tuple(specs) + tuple(exp_specs), "n_user": n_user,
             "then_exposed": tuple(exposed[0]), "else_exposed": tuple(exposed[1])}
    out = apply_op(opdef, list(inputs), attrs, name=name)
    node = context.get_default_graph().get_operations()[-1]
    return (out if isinstance(out, list) else [out]), node


_IF = register_op("If", infer=_if_infer, kernel=_if_kernel, grad=_if_grad, num_outputs=None,
                  stateful=True)
_STATELESS_IF = register_op("StatelessIf", infer=_if_infer, kernel=_if_kernel, grad=_if_grad,
                            num_outputs=None)


def _branch_outputs(graph, result):
    """Flat output tensors of a branch, and the Operations it returned (run as targets)."""
    flat = nest.flatten(result)
    tensors, ops = [], []
    for v in flat:
        if isinstance(v, Operation):
            ops.append(v)
            tensors.append(None)
        elif v is None:
            tensors.append(None)
        else:
            tensors.append(_as_output_tensor(graph, v))
    return flat, tensors, ops


def _graph_cond(pred, true_fn, false_fn, name):
    outer = context.get_default_graph()
    pred = convert_to_tensor(pred)
    if not pred.dtype.base_dtype.is_bool:
        raise TypeError(f"cond: pred must be a bool tensor, got {pred.dtype.name}")
    if pred.shape.rank not in (None, 0) and pred.shape.num_elements() != 1:
        raise ValueError(f"cond: pred must be a scalar, got shape {pred.shape}")
    gt, rt = _trace(outer, "cond_true", true_fn, ())
    gf, rf = _trace(outer, "cond_false", false_fn, ())
    try:
        nest.assert_same_structure(rt, rf)
    except (ValueError, TypeError) as e:
        raise ValueError(f"true_fn and false_fn arguments to tf.cond must have the same number, "
                         f"type, and overall structure of return values. {e}") from None
    flat_t, ts_t, ops_t = _branch_outputs(gt, rt)
    flat_f, ts_f, ops_f = _branch_outputs(gf, rf)
    specs, slots = [], []
    for k, (a, b) in enumerate(zip(ts_t, ts_f)):
        if (a is None) != (b is None):
            raise ValueError(f"cond: output {k} is a tensor in one branch and an operation or "
                             "None in the other")
        if a is None:
            continue
        if a.dtype.base_dtype != b.dtype.base_dtype:
            raise TypeError(f"cond: output {k} has dtype {a.dtype.base_dtype.name} in true_fn "
                            f"and {b.dtype.base_dtype.name} in false_fn")
        specs.append((a.dtype.base_dtype, _relaxed(a.shape, b.shape)))
        slots.append(k)
    # Every capture of either branch becomes a node input; both branches are fed all of them.
    outer_ts = []
    for g in (gt, gf):
        for t, _ in g.captures.values():
            if all(t is not u for u in outer_ts):
                outer_ts.append(t)
    for g in (gt, gf):
        for t in outer_ts:
            g.capture_tensor(t)
    n_user = len(specs)
    n_t = sum(len(op.outputs) for op in gt.stateful_ops())
    exposed, branches = [], []
    for g, ts, ops, first_slot in ((gt, ts_t, ops_t, n_user), (gf, ts_f, ops_f, n_user + n_t)):
        stateful = g.stateful_ops()
        exp = [o for op in stateful for o in op.outputs]
        exposed.append(exp)
        feeds = [g.captures[id(t)][1] for t in outer_ts]
        fetches = [t for t in ts if t is not None] + exp
        slots = list(range(n_user)) + list(range(first_slot, first_slot + len(exp)))
        branches.append(Branch(g, feeds, fetches, stateful + ops, slots))
    out, node = _make_if([pred] + outer_ts, branches[0], branches[1], specs, n_user, exposed,
                         name)
    result, it = [], iter(out[:n_user])
    for v, t in zip(flat_t, ts_t):
        if t is not None:
            result.append(next(it))
        else:
            result.append(node if isinstance(v, Operation) else None)
    return nest.pack_sequence_as(rt, result)


@export("cond", v1=[])
def cond(pred, true_fn=None, false_fn=None, name=None):
    """``true_fn()`` if ``pred`` else ``false_fn()`` (``tf.cond``).

    Eagerly this is a Python ``if``. In a graph both functions are traced into sub-graphs
    and only the taken one runs. They must return the same structure and dtypes.
    """
    if not callable(true_fn) or not callable(false_fn):
        raise TypeError("true_fn and false_fn must be callable.")
    if isinstance(pred, (bool, np.bool_)):
        return true_fn() if pred else false_fn()
    if context.executing_eagerly():
        p = convert_to_tensor(pred)
        if p.shape.num_elements() != 1:
            raise ValueError(f"cond: pred must be a scalar, got shape {p.shape}")
        return true_fn() if bool(p.numpy().reshape(())) else false_fn()
    return _graph_cond(pred, true_fn, false_fn, name or "cond")


@export(v1=["cond"])
def cond_v1(pred, true_fn=None, false_fn=None, strict=False, name=None, fn1=None, fn2=None):
    """TF1 ``cond(pred, true_fn=None, false_fn=None, strict=False, name=None, fn1=None,
    fn2=None)``; a single-element list result is unpacked unless ``strict``."""
    true_fn = true_fn if true_fn is not None else fn1
    false_fn = false_fn if false_fn is not None else fn2
    out = cond(pred, true_fn, false_fn, name)
    if not strict and isinstance(out, (list, tuple)) and len(out) == 1:
        return out[0]
    return out


def _case_pairs(pred_fn_pairs):
    if isinstance(pred_fn_pairs, dict):
        pairs = list(pred_fn_pairs.items())
    else:
        pairs = list(pred_fn_pairs)
    for p in pairs:
        if not isinstance(p, (tuple, list)) or len(p) != 2 or not callable(p[1]):
            raise TypeError(f"case: each entry must be a (predicate, callable) pair, got {p!r}")
    return pairs


@export("case", v1=[])
def case(pred_fn_pairs, default=None, exclusive=False, strict=False, name="case"):
    """Runs the function of the first true predicate, else ``default`` (``tf.case``).

    Without ``default`` the last pair's function is the fallback (TF's rule). With
    ``exclusive=True`` more than one true predicate raises InvalidArgumentError.
    """
    pairs = _case_pairs(pred_fn_pairs)
    if not pairs:
        if default is None:
            raise ValueError("case: pred_fn_pairs is empty and there is no default")
        return default()
    if default is None:
        pairs, default = pairs[:-1], pairs[-1][1]
        if not pairs:
            return default()
    preds = [convert_to_tensor(p) for p, _ in pairs]
    if exclusive:
        from numflow.ops import math_ops, math_elementwise as me
        from numflow.ops.debug_ops import Assert
        count = math_ops.add_n([math_ops.cast(p, dtypes.int32) for p in preds])
        check = Assert(me.less_equal(count, 1),
                       ["Input error: exclusive=True but more than 1 conditions evaluated as "
                        "True:"] + preds)
        if check is not None:
            with context.get_default_graph().control_dependencies([check]):
                preds = [array_ops.identity(p) for p in preds]

    def chain(i):
        if i == len(pairs):
            return default()
        return cond(preds[i], pairs[i][1], lambda: chain(i + 1))
    return chain(0)


@export(v1=["case"])
def case_v1(pred_fn_pairs, default=None, exclusive=False, strict=False, name="case"):
    """TF1 ``case`` (accepts a dict of pred -> fn)."""
    return case(pred_fn_pairs, default, exclusive, strict, name)


# ---- While ----------------------------------------------------------------------------------
def _while_kernel(xp, *inputs, cond_branch, body_branch, n_vars, max_iter, output_specs,
                  ctx=None):
    state = ctx if ctx is not None else _STATELESS_STATE
    loop = list(inputs[:n_vars])
    captured = list(inputs[n_vars:])
    i = 0
    while max_iter < 0 or i < max_iter:
        ok = cond_branch.run(loop + captured, state)[0]
        if not bool(np.asarray(ok).reshape(())):
            break
        new = body_branch.run(loop + captured, state)
        for k, (old, v) in enumerate(zip(loop, new)):
            want = output_specs[k][1]
            if want.rank is not None and not want.is_compatible_with(v.shape):
                raise ValueError(f"while_loop: loop variable {k} has shape {list(v.shape)} "
                                 f"after an iteration, not compatible with {want}")
        loop = list(new)
        i += 1
    return loop


def _while_grad(op, *grads):
    raise NotImplementedError("gradient of tf.while_loop in graph mode (use a GradientTape in "
                              "eager mode, or a Python loop)")


_WHILE = register_op("While", infer=lambda ins, a: list(a["output_specs"]),
                     kernel=_while_kernel, grad=_while_grad, num_outputs=None, stateful=True)
_STATELESS_WHILE = register_op("StatelessWhile", infer=lambda ins, a: list(a["output_specs"]),
                               kernel=_while_kernel, grad=_while_grad, num_outputs=None)


def _graph_while(cond_fn, body, loop_vars, shape_invariants, max_iter, name):
    outer = context.get_default_graph()
    flat = [convert_to_tensor(v) for v in nest.flatten(loop_vars)]
    invariants = nest.flatten(shape_invariants) if shape_invariants is not None else \
        [t.shape for t in flat]
    if len(invariants) != len(flat):
        raise ValueError("shape_invariants must have the structure of loop_vars")
    invariants = [TensorShape(s) if not isinstance(s, TensorShape) else s for s in invariants]
    for t, s in zip(flat, invariants):
        if not s.is_compatible_with(t.shape):
            raise ValueError(f"The shape invariant {s} is not compatible with the initial "
                             f"shape {t.shape} of a loop variable")

    def placeholders(g):
        with g.as_default():
            return [array_ops.placeholder(t.dtype.base_dtype, s) for t, s in zip(flat, invariants)]

    gc = SubGraph(outer, "while_cond")
    phs_c = placeholders(gc)
    with gc.as_default():
        c = convert_to_tensor(cond_fn(*_structured(loop_vars, phs_c)))
    if not c.dtype.base_dtype.is_bool or c.shape.num_elements() not in (None, 1):
        raise TypeError(f"while_loop: cond must return a scalar bool tensor, got {c!r}")
    gb = SubGraph(outer, "while_body")
    phs_b = placeholders(gb)
    with gb.as_default():
        out = body(*_structured(loop_vars, phs_b))
        if len(flat) == 1 and not isinstance(out, (list, tuple)):
            out = [out]
        new = [_as_output_tensor(gb, v) for v in nest.flatten(out)]
    if len(new) != len(flat):
        raise ValueError(f"while_loop: body returned {len(new)} values for {len(flat)} loop "
                         "variables")
    for k, (t, n, s) in enumerate(zip(flat, new, invariants)):
        if n.dtype.base_dtype != t.dtype.base_dtype:
            raise TypeError(f"while_loop: loop variable {k} enters as {t.dtype.base_dtype.name} "
                            f"but the body returns {n.dtype.base_dtype.name}")
        if not s.is_compatible_with(n.shape):
            raise ValueError(f"Input tensor {k} enters the loop with shape {s}, but has shape "
                             f"{n.shape} after one iteration. To allow the shape to vary across "
                             "iterations, use the `shape_invariants` argument of tf.while_loop.")
    outer_ts = []
    for g in (gc, gb):
        for t, _ in g.captures.values():
            if all(t is not u for u in outer_ts):
                outer_ts.append(t)
    for g in (gc, gb):
        for t in outer_ts:
            g.capture_tensor(t)
    cond_b = Branch(gc, phs_c + [gc.captures[id(t)][1] for t in outer_ts], [c],
                    gc.stateful_ops())
    body_b = Branch(gb, phs_b + [gb.captures[id(t)][1] for t in outer_ts], new,
                    gb.stateful_ops())
    specs = tuple((t.dtype.base_dtype, s) for t, s in zip(flat, invariants))
    opdef = _WHILE if (cond_b.targets or body_b.targets) else _STATELESS_WHILE
    attrs = {"cond_branch": cond_b, "body_branch": body_b, "n_vars": len(flat),
             "max_iter": max_iter, "output_specs": specs}
    res = apply_op(opdef, flat + outer_ts, attrs, name=name)
    return res if isinstance(res, list) else [res]


def _structured(loop_vars, flat):
    if isinstance(loop_vars, (list, tuple)) and not hasattr(loop_vars, "_fields"):
        return nest.pack_sequence_as(list(loop_vars), flat)
    return [nest.pack_sequence_as(loop_vars, flat)]


def _max_iterations(maximum_iterations):
    if maximum_iterations is None:
        return -1
    v = maximum_iterations
    if isinstance(v, Tensor):
        c = infer.constant_value(v)
        if c is None:
            raise NotImplementedError("while_loop with a maximum_iterations tensor computed at "
                                      "run time")
        v = c
    v = int(np.asarray(v))
    if v < 0:
        raise ValueError(f"maximum_iterations must be non-negative, got {v}")
    return v


@export("while_loop", v1=[])
def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10,
               back_prop=True, swap_memory=False, maximum_iterations=None, name=None):
    """Repeats ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` (``tf.while_loop``).

    ``loop_vars`` is a (nested) list/tuple of tensors; the result has its structure.
    Eagerly this is a Python loop. In a graph ``cond`` and ``body`` are traced once and a
    While node runs them; each loop variable must keep its shape across iterations unless
    ``shape_invariants`` relaxes it. ``maximum_iterations`` caps the number of iterations.
    """
    if not callable(cond) or not callable(body):
        raise TypeError("cond and body must be callable.")
    max_iter = _max_iterations(maximum_iterations)
    single = not isinstance(loop_vars, (list, tuple))
    if context.executing_eagerly():
        vars_ = nest.pack_sequence_as(loop_vars, [
            v if isinstance(v, Tensor) or hasattr(v, "_as_tensor") else convert_to_tensor(v)
            for v in nest.flatten(loop_vars)])
        i = 0
        while max_iter < 0 or i < max_iter:
            args = [vars_] if single else list(vars_)
            if not bool(np.asarray(convert_to_tensor(cond(*args))).reshape(())):
                break
            out = body(*args)
            if not single and len(loop_vars) == 1 and not isinstance(out, (list, tuple)):
                out = [out]
            nest.assert_same_structure(vars_, out)
            vars_ = out if not isinstance(loop_vars, tuple) or isinstance(out, tuple) else \
                type(loop_vars)(out)
            i += 1
        return vars_
    flat = _graph_while(cond, body, loop_vars, shape_invariants, max_iter, name or "while")
    return nest.pack_sequence_as(loop_vars, flat)


@export(v1=["while_loop"])
def while_loop_v1(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10,
                  back_prop=True, swap_memory=False, name=None, maximum_iterations=None,
                  return_same_structure=False):
    """TF1 ``while_loop``: a one-element list of loop variables returns the bare tensor
    unless ``return_same_structure``."""
    out = while_loop(cond, body, loop_vars, shape_invariants, parallel_iterations, back_prop,
                     swap_memory, maximum_iterations, name)
    if not return_same_structure and isinstance(out, (list, tuple)) and len(out) == 1:
        return out[0]
    return out
