"""Node: one call of a layer on KerasTensors, the edge list of the functional API.

A Node records the layer, the call's arguments (KerasTensors and constants) and its
output KerasTensors; it stamps ``_keras_history`` on the outputs and links itself into
the layer's ``_inbound_nodes`` and the input layers' ``_outbound_nodes``.
"""
import json

import numpy as np

from numflow.framework import nest
from numflow.keras.engine.keras_tensor import KerasHistory, KerasTensor


class Node:
    """A layer applied to symbolic inputs (``call_args``/``call_kwargs``) giving ``outputs``."""

    def __init__(self, layer, call_args=None, call_kwargs=None, outputs=None):
        call_args = () if call_args is None else tuple(call_args)
        call_kwargs = {} if call_kwargs is None else dict(call_kwargs)
        self.layer = layer
        self.is_input = not call_args and not call_kwargs
        self.call_args = call_args
        self.call_kwargs = call_kwargs
        self.outputs = outputs
        self._flat_arguments = nest.flatten((call_args, call_kwargs))
        self._keras_inputs = [t for t in self._flat_arguments if isinstance(t, KerasTensor)]
        layer._inbound_nodes.append(self)
        for kt in self._keras_inputs:
            history = kt._keras_history
            if history is not None:
                history.layer._outbound_nodes.append(self)
        node_index = len(layer._inbound_nodes) - 1
        for i, t in enumerate(nest.flatten(outputs)):
            t._keras_history = KerasHistory(layer, node_index, i)
        self.flat_input_ids = [id(t) for t in self._keras_inputs]
        self.flat_output_ids = [id(t) for t in nest.flatten(outputs)]
        # ``layer(x)`` on one KerasTensor, the usual call: mapped without a structure walk.
        self._sole_input_id = id(call_args[0]) if len(call_args) == 1 and not call_kwargs \
            and isinstance(call_args[0], KerasTensor) else None

    @property
    def keras_inputs(self):
        """The KerasTensors among the call's arguments, in flattened order."""
        return self._keras_inputs

    @property
    def parent_nodes(self):
        """The nodes that produced this node's KerasTensor inputs."""
        return [kt.node for kt in self._keras_inputs if kt._keras_history is not None]

    def iterate_inbound(self):
        """Yields ``(layer, node_index, tensor_index, tensor)`` for each KerasTensor input."""
        for kt in self._keras_inputs:
            layer, node_index, tensor_index = kt._keras_history
            yield layer, node_index, tensor_index, kt

    def map_arguments(self, tensor_dict):
        """The call's ``(args, kwargs)`` with each KerasTensor replaced by
        ``tensor_dict[id(kt)]``."""
        if self._sole_input_id is not None:
            return (tensor_dict[self._sole_input_id],), {}
        flat = [tensor_dict[id(x)] if isinstance(x, KerasTensor) else x
                for x in self._flat_arguments]
        return nest.pack_sequence_as((self.call_args, self.call_kwargs), flat)

    @property
    def input_tensors(self):
        """The first call argument (the layer's input), or the outputs of an input node."""
        if self.is_input:
            return [self.outputs]
        return self.call_args[0] if self.call_args else next(iter(self.call_kwargs.values()))

    @property
    def output_tensors(self):
        """The node's outputs."""
        if self.is_input:
            return [self.outputs]
        return self.outputs

    @property
    def input_shapes(self):
        """Static shapes of ``input_tensors`` (same nesting)."""
        shapes = nest.map_structure(lambda x: x.shape, self.input_tensors)
        if isinstance(shapes, (list, tuple)) and len(shapes) == 1 and not isinstance(
                self.input_tensors, dict):
            return shapes[0]
        return shapes

    @property
    def output_shapes(self):
        """Static shapes of ``output_tensors``."""
        return nest.map_structure(lambda x: x.shape, self.output_tensors)

    def serialize(self, make_node_key, node_conversion_map):
        """The node in Keras's config format: one ``[layer_name, node_index,
        tensor_index, kwargs]`` entry per tensor of the first argument."""
        args, kwargs = self.call_args, dict(self.call_kwargs)
        inputs = args[0] if args else None
        arg_names = self.layer._call_arg_names[1:]
        for name, value in zip(arg_names, args[1:]):
            kwargs[name] = value

        def ser(t):
            if isinstance(t, KerasTensor):
                layer, node_index, tensor_index = t._keras_history
                key = make_node_key(layer.name, node_index)
                return [layer.name, node_conversion_map.get(key, 0), tensor_index]
            if isinstance(t, np.ndarray):
                return t.tolist()
            if hasattr(t, "numpy"):
                return np.asarray(t.numpy()).tolist()
            return t

        kwargs = nest.map_structure(ser, kwargs)
        try:
            json.dumps(kwargs)
        except TypeError:
            raise TypeError(f"Layer {self.layer.name} was passed non-JSON-serializable "
                            f"arguments. Arguments had types: "
                            f"{nest.map_structure(type, kwargs)}. They cannot be serialized "
                            f"out when saving the model.") from None
        if isinstance(inputs, dict):
            return {k: ser(v) + [kwargs] for k, v in inputs.items()}
        data = [ser(t) + [kwargs] for t in nest.flatten(inputs)]
        return data
