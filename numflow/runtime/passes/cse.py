"""Common-subexpression elimination: two stateless nodes of the same type, attributes,
inputs and control inputs compute the same thing, so the later one is dropped and its
readers read the earlier one's outputs.

Constants count as the same when their dtype, shape and bytes match (small ones only:
comparing is cheap there, and gradients and optimizers build many equal scalars).
Attributes that cannot be compared by value (arrays, sub-graphs) compare by identity,
which only ever misses a merge. Stateful nodes (variables, random numbers, printing)
and readers of TF1 variables (which see the value at the time they run) are never merged.
"""
import numpy as np

from numflow.runtime.passes import register
from numflow.runtime.passes.program import REF_OPS

MAX_CONST_BYTES = 1024


def _attr_key(value):
    if isinstance(value, np.ndarray):
        return ("id", id(value))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__,) + tuple(_attr_key(v) for v in value)
    if isinstance(value, dict):
        return ("dict",) + tuple(sorted((k, _attr_key(v)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return (type(value).__name__, value)


def _key(node):
    if node.type == "Const":
        value = node.attrs["value"]
        if not isinstance(value, (np.ndarray, np.generic)) or value.nbytes > MAX_CONST_BYTES \
                or value.dtype.kind not in "biufc":
            return None
        value = np.asarray(value)
        # -0.0 and 0.0 (and NaN payloads) differ in bytes, so they are never merged.
        return ("Const", type(node.attrs["value"]), str(value.dtype), value.shape,
                value.tobytes(), tuple(id(c) for c in node.control))
    try:
        attrs = tuple(sorted((k, _attr_key(v)) for k, v in node.attrs.items()))
    except TypeError:
        return None
    return (node.type, attrs, tuple(node.inputs), len(node.outputs),
            tuple(sorted(id(c) for c in node.control)))


@register("cse", order=20)
def run(program):
    """Applies this pass to ``program`` in place."""
    seen = {}
    renames = {}
    fetched = set(program.fetches)
    refs = {v for n in program.nodes if n.type in REF_OPS for v in n.outputs}
    for node in program.nodes:
        if renames:
            node.inputs = [renames.get(v, v) for v in node.inputs]
        # A TF1 variable read sees the value at the time its reader runs: two readers at
        # different times may see different values.
        if node.stateful or any(v is None for v in node.outputs) or \
                any(v in refs for v in node.inputs):
            continue
        key = _key(node)
        if key is None:
            continue
        first = seen.setdefault(key, node)
        if first is node:
            continue
        for old, new in zip(node.outputs, first.outputs):
            # Two fetches of one array would alias; keep fetched outputs distinct.
            if old not in fetched:
                renames[old] = new
    if renames:
        program.fetches = [renames.get(v, v) for v in program.fetches]
        program.remove_unused()
