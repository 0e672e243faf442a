"""Plan: a graph pruned to what some fetches need, topologically sorted, compiled into a
tight list of kernel calls. Session and tf.function build one per (fetches, feeds) and
reuse it for every run.
"""
import functools

import numpy as np

from numflow.framework import errors
from numflow.ops import registry


def _prune_and_sort(fetch_tensors, target_ops, fed_ids):
    """Operations needed for the fetches/targets, inputs first (iterative DFS)."""
    order, state = [], {}
    roots = [t.op for t in fetch_tensors if id(t) not in fed_ids] + list(target_ops)
    for root in roots:
        if id(root) in state:
            continue
        stack = [(root, _deps(root, fed_ids))]
        state[id(root)] = 1
        while stack:
            op, it = stack[-1]
            for dep in it:
                s = state.get(id(dep))
                if s is None:
                    state[id(dep)] = 1
                    stack.append((dep, _deps(dep, fed_ids)))
                    break
                if s == 1:
                    raise ValueError(f"Graph has a cycle through operation {dep.name!r}")
            else:
                stack.pop()
                state[id(op)] = 2
                order.append(op)
    return order


def _deps(op, fed_ids):
    for t in op.inputs:
        if id(t) not in fed_ids:
            yield t.op
    yield from op.control_inputs


class Plan:
    """Compiled steps for one (fetches, targets, feeds) signature on one RunState."""

    __slots__ = ("steps", "ops", "feed_slots", "fetch_slots", "n_slots")
    # steps: (kernel partial, input slots, output slot(s), Operation for error messages)

    def __init__(self, fetch_tensors, target_ops, feed_tensors, state):
        fed_ids = {id(t) for t in feed_tensors}
        self.ops = _prune_and_sort(fetch_tensors, target_ops, fed_ids)
        slots = {}

        def slot(t):
            s = slots.get(id(t))
            if s is None:
                s = slots[id(t)] = len(slots)
            return s

        self.feed_slots = [slot(t) for t in feed_tensors]
        steps = []
        compiled = {}
        for op in self.ops:
            step = compiled[id(op)] = _compile(op, state, slot, fed_ids)
            if op.type in _REF_OPS:
                continue   # read at each consumer instead (below)
            # TF1 variables are references: a consumer sees the value at the time it runs,
            # so re-read each variable input right before its consumer.
            for t in op.inputs:
                if t.op.type in _REF_OPS and id(t) not in fed_ids:
                    steps.append(compiled[id(t.op)])
            steps.append(step)
        for t in fetch_tensors:
            if t.op.type in _REF_OPS and id(t) not in fed_ids:
                steps.append(compiled[id(t.op)])
        self.fetch_slots = [slot(t) for t in fetch_tensors]
        self.n_slots = len(slots) + 1   # the last slot is the scratch slot (-1)
        self.steps = steps

    def run(self, feed_values):
        """Runs the steps; returns the fetched arrays."""
        vals = [None] * self.n_slots
        for s, v in zip(self.feed_slots, feed_values):
            vals[s] = v
        op = None
        try:
            for fn, ins, outs, op in self.steps:
                res = fn(*[vals[j] for j in ins])
                if type(outs) is int:
                    vals[outs] = res
                else:
                    for s, r in zip(outs, res):
                        vals[s] = r
        except Exception as e:   # noqa: BLE001 - re-raised as TF's error naming the op
            raise _op_error(op, e) from e
        return [vals[s] for s in self.fetch_slots]


_REF_OPS = ("VariableV2",)


def _compile(op, state, slot, fed_ids):
    opdef = registry.lookup(op.type)
    attrs = op.attrs
    if opdef.stateful:
        fn = functools.partial(opdef.kernel, np, ctx=state, **attrs)
    else:
        fn = functools.partial(opdef.kernel, np, **attrs)
    ins = tuple(slot(t) for t in op.inputs)
    # A fed output keeps its fed value: the op writes it to a scratch slot instead.
    outs = tuple(slot(t) if id(t) not in fed_ids else -1 for t in op.outputs)
    if len(op.outputs) == 1 and opdef.num_outputs == 1:
        outs = outs[0]
    return (fn, ins, outs, op)


def _op_error(op, e):
    where = f"\n\t [[node {op.name} (defined at {op.location}) ]]"
    if isinstance(e, errors.OpError):
        return type(e)(None, op, f"{e.message}{where}")
    return errors.InvalidArgumentError(None, op, f"{op.type}: {e}{where}")
