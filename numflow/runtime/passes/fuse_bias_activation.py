"""Fuses ``BiasAdd`` (and a following ``Relu``) into the ``MatMul`` or ``Conv2D`` before
it: one ``_FusedMatMul`` / ``_FusedConv2D`` node (numflow/ops/fused_ops.py) that adds the
bias and applies the activation in place on the product it just computed.

A chain is fused only when nothing else can see the intermediate values: each is read
by the next op of the chain alone, is not fetched, and its op has no control
dependents. The fused node runs where the chain's last op ran; no stateful node may lie
in between (so a TF1 variable the product reads cannot change in the meantime). If the
fused kernel fails, the executor replays the original ops to report the failing one.
"""
from numflow.ops import fused_ops
from numflow.runtime.passes import register
from numflow.runtime.passes.inplace import kernels_patched
from numflow.runtime.passes.program import Node

_PRODUCTS = {"MatMul": ("_FusedMatMul", ("transpose_a", "transpose_b")),
             "Conv2D": ("_FusedConv2D", ("strides", "padding", "dilations"))}


class _Graph:
    def __init__(self, program):
        self.consumers = program.consumers()
        self.fetched = set(program.fetches)
        self.ctrl = program.control_dependents()
        self.pos = {id(n): i for i, n in enumerate(program.nodes)}
        self.stateful = [self.pos[id(n)] for n in program.nodes if n.stateful]

    def sole_reader(self, node):
        """The one node reading ``node``'s single output, if nothing else can see it."""
        if len(node.outputs) != 1 or id(node) in self.ctrl:
            return None
        v = node.outputs[0]
        readers = self.consumers.get(v, ())
        if v is None or v in self.fetched or len(readers) != 1:
            return None
        return readers[0]

    def stateful_between(self, first, last):
        a, b = self.pos[id(first)], self.pos[id(last)]
        return any(a < p < b for p in self.stateful)


def _chain(g, product):
    """``[product, bias_add]`` or ``[product, bias_add, relu]``, or None."""
    bias = g.sole_reader(product)
    if bias is None or bias.type != "BiasAdd" or bias.attrs.get("channel_axis") != -1 or \
            bias.inputs[0] != product.outputs[0] or bias.inputs[1] == product.outputs[0]:
        return None
    chain = [product, bias]
    act = g.sole_reader(bias)
    if act is not None and act.type == "Relu" and not g.stateful_between(product, act):
        chain.append(act)
    return None if g.stateful_between(product, bias) else chain


@register("fuse_bias_activation", order=30)
def run(program):
    if kernels_patched():
        return
    g = _Graph(program)
    replaced = {}
    for node in program.nodes:
        if node.type not in _PRODUCTS or id(node) in replaced:
            continue
        chain = _chain(g, node)
        if chain is None:
            continue
        fused_type, keys = _PRODUCTS[node.type]
        attrs = fused_ops.fused_attrs({k: node.attrs[k] for k in keys},
                                      "Relu" if len(chain) == 3 else None)
        control = []
        for n in chain:
            control.extend(c for c in n.control if c not in control)
        fused = Node(fused_type, attrs, node.inputs + [chain[1].inputs[1]], chain[-1].outputs,
                     [n.op for n in chain], control)
        fused.parts = chain
        for n in chain[:-1]:
            replaced[id(n)] = None
        replaced[id(chain[-1])] = fused
    if replaced:
        program.nodes = [replaced.get(id(n), n) for n in program.nodes
                         if replaced.get(id(n), n) is not None]
