"""Fuses a bias-add (and a following ``Relu``) into the ``MatMul`` or ``Conv2D`` before
it: one ``_FusedMatMul`` / ``_FusedConv2D`` node (numflow/ops/fused_ops.py) that adds the
bias and applies the activation in place on the product it just computed.

The bias-add is ``BiasAdd`` (last axis) or an ``AddV2`` of the product and a rank-1 value
as long as the product's last (static) dimension: the same sum, since IEEE addition is
commutative, and the form Keras's convolution layers use.

A chain is fused only when nothing else can see the intermediate values: each is read
by the next op of the chain alone, is not fetched, and its op has no control
dependents. Readers that use only an intermediate's shape (``SumToShapeOf``,
``BroadcastLike``: the gradient of the bias-add builds them) are pointed at the fused
output instead, which has the same shape, if they run after it. The fused node runs
where the chain's last op ran; no stateful node other than a variable read may lie in
between (so a TF1 variable the product reads cannot change in the meantime, and no side
effect moves across the product). If the fused kernel fails, the executor replays the
original ops to report the failing one.
"""
from numflow.ops import fused_ops
from numflow.runtime.passes import register
from numflow.runtime.passes.inplace import kernels_patched
from numflow.runtime.passes.program import Node

_READS = ("VariableV2", "ReadVariableOp")     # stateful, but change nothing
_SHAPE_ONLY = {"SumToShapeOf": 1, "BroadcastLike": 1}   # op -> input read for its shape
_PRODUCTS = {"MatMul": ("_FusedMatMul", ("transpose_a", "transpose_b")),
             "Conv2D": ("_FusedConv2D", ("strides", "padding", "dilations"))}


class _Graph:
    def __init__(self, program):
        self.info = program.info
        self.consumers = program.consumers()
        self.fetched = set(program.fetches)
        self.ctrl = program.control_dependents()
        self.pos = {id(n): i for i, n in enumerate(program.nodes)}
        self.effects = [self.pos[id(n)] for n in program.nodes
                        if n.stateful and n.type not in _READS]

    def next_in_chain(self, node):
        """``(reader, shape-only readers)`` when one node reads ``node``'s single output
        for its value and the rest read only its shape; else ``(None, ())``."""
        if len(node.outputs) != 1 or id(node) in self.ctrl:
            return None, ()
        v = node.outputs[0]
        if v is None or v in self.fetched:
            return None, ()
        real, shape_only = [], []
        for r in self.consumers.get(v, ()):
            k = _SHAPE_ONLY.get(r.type)
            if k is not None and r.inputs[k] == v and r.inputs.count(v) == 1:
                shape_only.append(r)
            else:
                real.append(r)
        return (real[0], shape_only) if len(real) == 1 else (None, ())

    def effects_between(self, first, last):
        a, b = self.pos[id(first)], self.pos[id(last)]
        return any(a < p < b for p in self.effects)

    def after(self, nodes, last):
        return all(self.pos[id(n)] > self.pos[id(last)] for n in nodes)

    def bias_input(self, add, product):
        """The bias value when ``add`` adds a bias to ``product``'s last axis, else None."""
        v = product.outputs[0]
        if add.type == "BiasAdd":
            ok = add.attrs.get("channel_axis") == -1 and add.inputs[0] == v
            return add.inputs[1] if ok and add.inputs[1] != v else None
        if add.type != "AddV2" or add.inputs.count(v) != 1:
            return None
        b = add.inputs[1] if add.inputs[0] == v else add.inputs[0]
        (pd, ps), (bd, bs) = self.info[v], self.info[b]
        if pd != bd or bs.rank != 1 or ps.rank is None or ps.rank < 2:
            return None
        c, last = bs.as_list()[0], ps.as_list()[-1]
        return b if c is not None and c == last else None


def _chain(g, product):
    """``(nodes, bias value, shape-only readers)`` of a fusable chain, or None."""
    add, shape_refs = g.next_in_chain(product)
    bias = g.bias_input(add, product) if add is not None else None
    if bias is None:
        return None
    chain = [product, add]
    act, act_refs = g.next_in_chain(add)
    if act is not None and act.type == "Relu" and not g.effects_between(product, act) and \
            g.after(shape_refs + act_refs, act):
        return chain + [act], bias, shape_refs + act_refs
    if g.effects_between(product, add) or not g.after(shape_refs, add):
        return None
    return chain, bias, shape_refs


@register("fuse_bias_activation", order=30)
def run(program):
    """Applies this pass to ``program`` in place."""
    if kernels_patched():
        return
    g = _Graph(program)
    replaced = {}
    for node in program.nodes:
        if node.type not in _PRODUCTS or id(node) in replaced:
            continue
        found = _chain(g, node)
        if found is None:
            continue
        chain, bias, shape_refs = found
        fused_type, keys = _PRODUCTS[node.type]
        attrs = fused_ops.fused_attrs({k: node.attrs[k] for k in keys},
                                      "Relu" if len(chain) == 3 else None)
        control = []
        for n in chain:
            control.extend(c for c in n.control if c not in control)
        out = chain[-1].outputs[0]
        fused = Node(fused_type, attrs, node.inputs + [bias], [out], [n.op for n in chain],
                     control)
        fused.parts = chain
        for r in shape_refs:
            k = _SHAPE_ONLY[r.type]
            r.inputs = r.inputs[:k] + [out] + r.inputs[k + 1:]
        for n in chain[:-1]:
            replaced[id(n)] = None
        replaced[id(chain[-1])] = fused
    if replaced:
        program.nodes = [replaced.get(id(n), n) for n in program.nodes
                         if replaced.get(id(n), n) is not None]
