"""The program a Plan runs: its own small copy of the pruned, sorted graph, which the
passes rewrite and the executor compiles. Rewriting it never touches the user's Graph.

A value is an int. ``Program.info[v]`` is its ``(DType, TensorShape)``; it is produced by
one node output, or is fed. Nodes are kept in execution order (inputs first).
"""
from numflow.ops import registry

REF_OPS = ("VariableV2",)
"""TF1 variable reads: a consumer sees the value at the time the consumer runs, so the
executor re-reads these right before each consumer (passes must leave them alone)."""


class Node:
    """One kernel call: ``type`` with ``attrs`` on ``inputs`` (values) giving ``outputs``
    (values; None for an output that is fed, whose result is discarded).

    ``ops`` are the graph Operations it stands for (one, or several for a fused node; the
    last names the node in errors). ``control`` are the nodes it must run after besides its
    data inputs. ``inplace`` (set by the inplace pass): the indices of inputs whose buffer
    the result may take when nothing else holds it. ``parts``: for a fused node, the
    original nodes, which the executor replays to name the failing op when it fails.
    """

    __slots__ = ("type", "attrs", "inputs", "outputs", "control", "ops", "inplace", "parts")

    def __init__(self, op_type, attrs, inputs, outputs, ops, control=()):
        self.type = op_type
        self.attrs = attrs
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.ops = list(ops)
        self.control = list(control)
        self.inplace = None
        self.parts = None

    @property
    def op(self):
        """The Operation named in error messages."""
        return self.ops[-1]

    @property
    def opdef(self):
        return registry.lookup(self.type)

    @property
    def stateful(self):
        return self.opdef.stateful

    def __repr__(self):
        return f"<Node {self.type} {self.op.name}: {self.inputs} -> {self.outputs}>"


class Program:
    """Nodes in execution order, the fed values, the fetched values, and value info."""

    def __init__(self):
        self.nodes = []
        self.feeds = []
        self.fetches = []
        self.targets = set()      # ids of nodes run for their effect (Session.run targets)
        self.info = {}

    def new_value(self, dtype, shape):
        v = len(self.info)
        while v in self.info:
            v += 1
        self.info[v] = (dtype, shape)
        return v

    # ---- queries (recomputed on demand: plans are built once per signature) ------------
    def producers(self):
        """value -> (node, output index)."""
        out = {}
        for n in self.nodes:
            for i, v in enumerate(n.outputs):
                if v is not None:
                    out[v] = (n, i)
        return out

    def consumers(self):
        """value -> list of nodes reading it (a node twice if it reads it twice)."""
        out = {}
        for n in self.nodes:
            for v in n.inputs:
                out.setdefault(v, []).append(n)
        return out

    def control_dependents(self):
        """ids of the nodes that some node must run after (through a control edge)."""
        return {id(c) for n in self.nodes for c in n.control}

    def replace_value(self, old, new):
        """Every read of value ``old`` (inputs and fetches) reads ``new`` instead."""
        for n in self.nodes:
            if old in n.inputs:
                n.inputs = [new if v == old else v for v in n.inputs]
        self.fetches = [new if v == old else v for v in self.fetches]

    def remove_unused(self):
        """Drops stateless nodes whose outputs nobody reads (left behind by rewrites): one
        backward sweep, so a dead chain goes at once."""
        keep = self.control_dependents() | self.targets
        used = set(self.fetches)
        kept = []
        for n in reversed(self.nodes):
            if (not n.stateful and id(n) not in keep and n.outputs and
                    not any(v in used for v in n.outputs if v is not None)):
                continue
            used.update(n.inputs)
            kept.append(n)
        kept.reverse()
        self.nodes = kept


def from_graph(ops, fetch_tensors, target_ops, feed_tensors):
    """The Program for ``ops`` (pruned and sorted) with these fetches, targets and feeds."""
    prog = Program()
    ids = {}
    for t in feed_tensors:
        v = ids[id(t)] = prog.new_value(t.dtype, t.shape)
        prog.feeds.append(v)
    nodes = {}
    for op in ops:
        outs = []
        for t in op.outputs:
            if id(t) in ids:          # a fed output: the op's result is discarded
                outs.append(None)
            else:
                v = ids[id(t)] = prog.new_value(t.dtype, t.shape)
                outs.append(v)
        node = Node(op.type, op.attrs, [ids[id(t)] for t in op.inputs], outs, [op],
                    [nodes[id(c)] for c in op.control_inputs if id(c) in nodes])
        nodes[id(op)] = node
        prog.nodes.append(node)
    prog.fetches = [ids[id(t)] for t in fetch_tensors]
    prog.targets = {id(nodes[id(op)]) for op in target_ops if id(op) in nodes}
    return prog
