"""The functional-API view of a layer: its inbound/outbound nodes and the symbolic
inputs, outputs and shapes of its calls (``layer.input``, ``layer.output_shape``...)."""
import numflow as tf
from numflow.framework import nest
from numflow.keras.engine import base_layer_utils as utils


class ConnectivityMixin:
    """Node-based properties shared by every Layer."""

    @property
    def inbound_nodes(self):
        """Nodes where this layer was called on symbolic inputs."""
        return self._inbound_nodes

    @property
    def outbound_nodes(self):
        """Nodes of layers called on this layer's symbolic outputs."""
        return self._outbound_nodes

    def _single_node_attr(self, attr, what):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} is not connected, no {what} to return.")
        if len(self._inbound_nodes) > 1:
            raise AttributeError(f'Layer {self.name} has multiple inbound nodes, hence the '
                                 f'notion of "layer {what}" is ill-defined. Use '
                                 f"`get_{what}_at(node_index)` instead.")
        return getattr(self._inbound_nodes[0], attr)

    @property
    def input(self):
        """The symbolic input of the layer (one inbound node only)."""
        return utils.unnest_if_single(self._single_node_attr("input_tensors", "input"))

    @property
    def output(self):
        """The symbolic output of the layer (one inbound node only)."""
        return utils.unnest_if_single(self._single_node_attr("output_tensors", "output"))

    @property
    def input_shape(self):
        """The input shape as a tuple (or list of tuples), when all calls agree."""
        return self._shared_shape("input_shapes", "input")

    @property
    def output_shape(self):
        """The output shape as a tuple (or list of tuples), when all calls agree."""
        return self._shared_shape("output_shapes", "output")

    def _shared_shape(self, attr, what):
        if not self._inbound_nodes:
            raise AttributeError(f'The layer "{self.name}" has never been called and thus has '
                                 f"no defined {what} shape.")
        shapes = {str(_to_tuples(getattr(n, attr))) for n in self._inbound_nodes}
        if len(shapes) != 1:
            raise AttributeError(f'The layer "{self.name}" has multiple inbound nodes, with '
                                 f"different {what} shapes. Hence the notion of \"{what} shape\" "
                                 f"is ill-defined for the layer. Use `get_{what}_shape_at"
                                 f"(node_index)` instead.")
        return utils.unnest_if_single(_to_tuples(getattr(self._inbound_nodes[0], attr)))

    def get_input_at(self, node_index):
        """The input of the layer's call number ``node_index``."""
        return utils.unnest_if_single(self._inbound_nodes[node_index].input_tensors)

    def get_output_at(self, node_index):
        """The output of the layer's call number ``node_index``."""
        return utils.unnest_if_single(self._inbound_nodes[node_index].output_tensors)

    def get_input_shape_at(self, node_index):
        """The input shape of call number ``node_index``."""
        return utils.unnest_if_single(_to_tuples(self._inbound_nodes[node_index].input_shapes))

    def get_output_shape_at(self, node_index):
        """The output shape of call number ``node_index``."""
        return utils.unnest_if_single(_to_tuples(self._inbound_nodes[node_index].output_shapes))



def _to_tuples(shapes):
    def conv(s):
        s = tf.TensorShape(s)
        return None if s.rank is None else tuple(s.as_list())
    if isinstance(shapes, tf.TensorShape):
        return conv(shapes)
    return nest.map_structure(conv, shapes) if nest.is_nested(shapes) else conv(shapes)
