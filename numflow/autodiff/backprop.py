"""The one reverse-mode walk used by tf.gradients (graph) and GradientTape (eager/traced).

Nodes are Operations or tape records; both expose ``type``, ``inputs``, ``outputs`` and
``get_attr``. Gradient rules come from the op registry and are written in public ops.
The walk is iterative, un-broadcasts each input gradient once, and sums fan-in.
"""
from numflow.ops import registry

_NON_DIFFERENTIABLE_KINDS = "iub"   # integer, unsigned, bool: no gradient flows


def _differentiable(t):
    d = t.dtype.base_dtype
    return d.is_floating or d.is_complex


def _topo_order(targets, is_recorded, stop_ids):
    """Nodes reachable backward from ``targets``, inputs before consumers (iterative DFS)."""
    order, seen = [], set()
    stack = []
    for t in targets:
        node = t._node
        if node is not None and id(t) not in stop_ids and is_recorded(node) and id(node) not in seen:
            seen.add(id(node))
            stack.append((node, iter(node.inputs)))
        while stack:
            node, it = stack[-1]
            for inp in it:
                child = inp._node
                if child is not None and id(inp) not in stop_ids and id(child) not in seen \
                        and is_recorded(child):
                    seen.add(id(child))
                    stack.append((child, iter(child.inputs)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def compute_gradients(targets, grad_targets, source_groups, is_recorded, stop_ids=frozenset()):
    """Gradients of sum(targets) w.r.t. each group of source tensors.

    Args:
      targets: list of tensors.
      grad_targets: list of upstream gradients (None means ones).
      source_groups: list of lists of tensors; a group's gradient is the sum over its
        tensors (a variable read several times is one group).
      is_recorded: ``node -> bool``: whether the walk may pass through ``node``.
      stop_ids: ids of tensors treated as constants.
    Returns:
      a list with one gradient tensor (or None) per source group.
    """
    from numflow.ops import array_ops, math_ops
    source_ids = {id(t) for group in source_groups for t in group}
    order = _topo_order(targets, is_recorded, stop_ids)
    reaches = set(source_ids)
    relevant = []
    for node in order:
        if any(id(i) in reaches for i in node.inputs):
            relevant.append(node)
            reaches.update(id(o) for o in node.outputs)
    pending = {}
    for t, g in zip(targets, grad_targets):
        if id(t) not in reaches:
            continue
        if g is None:
            g = array_ops.ones_like(t)
        pending.setdefault(id(t), []).append(g)
    for node in reversed(relevant):
        out_grads = [_sum(pending.get(id(o)) if id(o) in source_ids else pending.pop(id(o), None))
                     for o in node.outputs]
        if all(g is None for g in out_grads):
            continue
        opdef = registry.lookup(node.type)
        if opdef.grad is None:
            continue
        if len(out_grads) > 1:
            out_grads = [g if g is not None or not _differentiable(o) else array_ops.zeros_like(o)
                         for g, o in zip(out_grads, node.outputs)]
        in_grads = opdef.grad(node, *out_grads)
        if not isinstance(in_grads, (list, tuple)):
            in_grads = [in_grads]
        if len(in_grads) != len(node.inputs):
            raise ValueError(f"Gradient of {node.type} returned {len(in_grads)} values for "
                             f"{len(node.inputs)} inputs")
        for inp, g in zip(node.inputs, in_grads):
            if g is None or id(inp) not in reaches or not _differentiable(inp):
                continue
            g = math_ops.unbroadcast_to(g, inp)
            pending.setdefault(id(inp), []).append(g)
    results = []
    for group in source_groups:
        grads = [g for t in group for g in pending.get(id(t), [])]
        results.append(_sum(grads))
    return results


def _sum(grads):
    if not grads:
        return None
    if len(grads) == 1:
        return grads[0]
    from numflow.ops import math_ops
    return math_ops.add_n(grads)
