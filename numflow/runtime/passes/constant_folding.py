"""Constant folding: a stateless node whose inputs are all constants runs once, when the
plan is built, and becomes a Const holding its result.

Typical catches: the shape arithmetic and dtype casts around constants that gradients
and optimizers build (``Cast(Const)``, ``Pow(beta, Const)``, ``Sub(1, Const)``).

Kept as they are: stateful nodes; nodes with no inputs (Placeholder raises when unfed);
control flow (its branches are sub-plans); nodes whose output is fetched (a fetch must
not hand the user an array the plan keeps and reuses); nodes whose kernel raises (the
error belongs to the run, not to the plan's construction); results over
``MAX_BYTES`` (they would stay in memory as long as the plan).
"""
import numpy as np

from numflow.runtime.passes import register
from numflow.runtime.passes.program import Node

MAX_BYTES = 1 << 20
_NEVER = frozenset(("Const", "Placeholder", "StatelessIf", "StatelessWhile", "If", "While"))


def _foldable(node, consts, fetched):
    return (node.inputs and node.type not in _NEVER and not node.stateful
            and all(v in consts for v in node.inputs)
            and all(v is not None and v not in fetched for v in node.outputs))


def _evaluate(node, consts, info):
    """The node's outputs, or None when it cannot or should not be folded."""
    try:
        res = node.opdef.kernel(np, *[consts[v] for v in node.inputs], **node.attrs)
    except Exception:   # noqa: BLE001 - the run reports it, naming the op
        return None
    res = list(res) if isinstance(res, (list, tuple)) else [res]
    if len(res) != len(node.outputs):
        return None
    for v, r in zip(node.outputs, res):
        want = info[v][0]
        if not isinstance(r, (np.ndarray, np.generic)) or r.nbytes > MAX_BYTES or \
                want.name == "string" or r.dtype != want.as_numpy_dtype:
            return None
    return res


@register("constant_folding", order=10)
def run(program):
    """Applies this pass to ``program`` in place."""
    consts = {n.outputs[0]: n.attrs["value"] for n in program.nodes
              if n.type == "Const" and n.outputs[0] is not None}
    fetched = set(program.fetches)
    nodes = []
    for node in program.nodes:
        res = _evaluate(node, consts, program.info) if _foldable(node, consts, fetched) \
            else None
        if res is None:
            nodes.append(node)
            continue
        for v, r in zip(node.outputs, res):
            consts[v] = r
            nodes.append(Node("Const", {"value": r, "dtype": program.info[v][0]}, [], [v],
                              node.ops, node.control))
    program.nodes = nodes
    program.remove_unused()
