"""Operation: one node of a Graph (``tf.Operation``)."""
from numflow.graph.tensor import Tensor


class Operation:
    """A node: op ``type`` applied to ``inputs`` with ``attrs``, producing ``outputs``.

    ``location`` is the user's "file:line" that created it (used in error messages).
    """

    __slots__ = ("graph", "name", "type", "inputs", "outputs", "attrs", "control_inputs",
                 "device", "location", "_id", "__weakref__")

    def __init__(self, graph, name, op_type, inputs, attrs, output_specs, control_inputs,
                 device, location, op_id):
        self.graph = graph
        self.name = name
        self.type = op_type
        self.inputs = tuple(inputs)
        self.attrs = attrs
        self.control_inputs = list(control_inputs)
        self.device = device
        self.location = location
        self._id = op_id
        self.outputs = [Tensor(self, i, dt, sh) for i, (dt, sh) in enumerate(output_specs)]

    def get_attr(self, name):
        """The value of attribute ``name`` (ValueError if absent)."""
        try:
            return self.attrs[name]
        except KeyError:
            raise ValueError(f"Operation {self.name!r} has no attr named {name!r}.") from None

    def values(self):
        return tuple(self.outputs)

    @property
    def node_def(self):
        return {"name": self.name, "op": self.type, "input": [t.name for t in self.inputs],
                "device": self.device, "attr": dict(self.attrs)}

    def _add_control_input(self, op):
        if op not in self.control_inputs:
            self.control_inputs.append(op)

    def run(self, feed_dict=None, session=None):
        """Runs this op in ``session`` or the default session (``Operation.run``)."""
        from numflow.runtime.session import get_default_session_or_raise
        (session or get_default_session_or_raise()).run(self, feed_dict=feed_dict)

    def __repr__(self):
        return f"<tf.Operation '{self.name}' type={self.type}>"
