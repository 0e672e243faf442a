"""Sequential: a linear stack of layers (``tf.keras.Sequential``).

With an input shape (``input_shape=`` on the first layer, or an ``InputLayer``) the model
is a functional graph from the start; otherwise the graph is built on the first call,
from the shape of the data (deferred build).
"""
import numflow as tf
from numflow.framework import nest
from numflow.keras.engine import base_layer_utils as utils
from numflow.keras.engine.base_layer import Layer
from numflow.keras.engine.functional import Functional
from numflow.keras.engine.input_layer import Input, InputLayer
from numflow.keras.engine.training import Model


class Sequential(Functional):
    """A model made of layers applied one after the other (``tf.keras.Sequential(layers=None,
    name=None)``).

    Example:
      >>> model = Sequential([Dense(32, activation='relu', input_shape=(72,)), Dense(10)])
    """

    def __init__(self, layers=None, name=None):
        Model.__init__(self, name=name, autocast=False)
        self._sequential_layers = []
        self._self_tracked_trackables = []
        self._graph_initialized = False
        self._is_graph_network = False
        self._inferred_input_shape = None
        self._has_explicit_input_shape = False
        self._input_dtype = None
        self.inputs, self.outputs = [], []
        self.built = False
        if layers:
            if not isinstance(layers, (list, tuple)):
                layers = [layers]
            for layer in layers:
                self.add(layer)

    # ---- structure ---------------------------------------------------------------------------
    @property
    def layers(self):
        """The added layers (without the implicit InputLayer)."""
        return [l for l in self._sequential_layers if not isinstance(l, InputLayer)]

    def _direct_children(self):
        layers, variables = Layer._direct_children(self)
        ordered = list(self._sequential_layers)
        ids = {id(l) for l in ordered}
        return ordered + [l for l in layers if id(l) not in ids], variables

    def add(self, layer):
        """Appends ``layer`` (a Layer, or a KerasTensor from ``keras.Input``).

        Raises:
          TypeError: if ``layer`` is not a layer; ValueError for a duplicate name or a
            layer with several outputs.
        """
        if hasattr(layer, "_keras_history") and not isinstance(layer, Layer):
            origin = layer._keras_history.layer
            if isinstance(origin, InputLayer):
                layer = origin
        if not isinstance(layer, Layer):
            raise TypeError(f"The added layer must be an instance of class Layer. Received: "
                            f"layer={layer} of type {type(layer)}.")
        for existing in self._sequential_layers:
            if existing.name == layer.name:
                raise ValueError(f"All layers added to a Sequential model should have unique "
                                 f"names. Name \"{layer.name}\" is already the name of a layer "
                                 f"in this model. Update the `name` argument to pass a unique "
                                 f"name.")
        self.built = False
        set_inputs = False
        self._sequential_layers.append(layer)
        if not self._graph_initialized:
            if isinstance(layer, InputLayer):
                set_inputs = True
                self.outputs = [layer._inbound_nodes[-1].outputs]
                self.inputs = list(self.outputs)
            elif len(self._sequential_layers) == 1 and _batch_shape(layer) is not None:
                batch_shape, dtype = _batch_shape(layer)
                x = Input(batch_shape=batch_shape, dtype=dtype, name=layer.name + "_input")
                with utils.fresh_name_stack():
                    out = layer(x)
                self._check_single(layer, out)
                self.inputs, self.outputs = [x], [out]
                set_inputs = True
            elif self.outputs:
                with utils.fresh_name_stack():
                    out = layer(self.outputs[0])
                self._check_single(layer, out)
                self.outputs = [out]
                set_inputs = True
            if set_inputs:
                self._has_explicit_input_shape = True
                self._graph_initialized = True
                self._init_graph_network(self.inputs, self.outputs)
        else:
            with utils.fresh_name_stack():
                out = layer(self.outputs[0])
            self._check_single(layer, out)
            self.outputs = [out]
            self._init_graph_network(self.inputs, self.outputs)
        self.train_function = self.test_function = self.predict_function = None

    def _check_single(self, layer, out):
        if len(nest.flatten(out)) != 1:
            raise ValueError("All layers in a Sequential model should have a single output "
                             "tensor. For multi-output layers, use the functional API.")

    def pop(self):
        """Removes the last layer.

        Raises:
          TypeError: if there are no layers.
        """
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        layer = self._sequential_layers.pop()
        del layer
        self.built = False
        if not self.layers:
            self.outputs, self.inputs = [], []
            self._graph_initialized = False
            self._is_graph_network = False
            return
        if self._graph_initialized:
            self.outputs = [self.layers[-1].output if len(self.layers[-1]._inbound_nodes) == 1
                            else self.layers[-1].get_output_at(-1)]
            self._init_graph_network(self.inputs, self.outputs)

    def _init_graph_network(self, inputs, outputs):
        super()._init_graph_network(inputs, outputs)
        self.built = True

    # ---- building ------------------------------------------------------------------------------
    def _build_graph_network_for_inferred_shape(self, input_shape, input_dtype=None):
        if self._has_explicit_input_shape or input_shape is None or not self.layers:
            return
        shape = tf.TensorShape(input_shape)
        if shape.rank is None:
            return
        dims = shape.as_list()
        new_shape = [None] + dims[1:]
        if self._inferred_input_shape is not None:
            if self._inferred_input_shape == new_shape:
                return
            new_shape = [a if a == b else None for a, b in
                         zip(self._inferred_input_shape, new_shape)] \
                if len(self._inferred_input_shape) == len(new_shape) else new_shape
        first = self.layers[0]
        dtype = input_dtype or first.dtype
        x = Input(batch_shape=new_shape, dtype=dtype, name=first.name + "_input")
        out = x
        with utils.fresh_name_stack():
            for layer in self.layers:
                out = layer(out)
                self._check_single(layer, out)
        self._inferred_input_shape = new_shape
        self.inputs, self.outputs = [x], [out]
        self._graph_initialized = True
        super()._init_graph_network([x], [out])
        self.built = True

    def build(self, input_shape=None):
        """Builds the graph for ``input_shape`` (batch axis included)."""
        if self._graph_initialized:
            self._init_graph_network(self.inputs, self.outputs)
        else:
            if input_shape is None:
                raise ValueError("You must provide an `input_shape` argument.")
            self._build_graph_network_for_inferred_shape(input_shape)
            self._build_input_shape = tuple(tf.TensorShape(input_shape).as_list())
        self.built = True

    def call(self, inputs, training=None, mask=None):
        """Applies the layers in order."""
        if not self._graph_initialized and isinstance(inputs, tf.Tensor):
            dtype = inputs.dtype.name
            if not inputs.dtype.is_floating and self.layers and \
                    self.layers[0].dtype != dtype and not _keeps_int_inputs(self.layers[0]):
                dtype = None
            self._build_graph_network_for_inferred_shape(inputs.shape, dtype)
        if self._graph_initialized:
            return super().call(inputs, training=training, mask=mask)
        outputs = inputs
        for layer in self.layers:
            outputs = layer(outputs, training=training)
        return outputs

    @property
    def input_spec(self):
        """The InputSpec of the first layer (checked when the graph exists)."""
        if self._graph_initialized:
            return super().input_spec
        return None

    @input_spec.setter
    def input_spec(self, value):
        self._manual_input_spec = value

    @property
    def _input_spec(self):
        return self._call_input_spec() if self._graph_initialized else None

    @_input_spec.setter
    def _input_spec(self, value):
        pass

    # ---- serialization -------------------------------------------------------------------------
    def get_config(self):
        """``{'name', 'layers': [layer configs]}`` (the InputLayer included when present)."""
        from numflow.keras.layers import serialization
        layers = list(self._sequential_layers)
        if self._graph_initialized and self._has_explicit_input_shape and \
                not isinstance(layers[0], InputLayer):
            layers.insert(0, self.inputs[0]._keras_history.layer)
        config = {"name": self.name,
                  "layers": [serialization.serialize(l) for l in layers]}
        if not self._has_explicit_input_shape and self._build_input_shape is not None and \
                self._inferred_input_shape is not None:
            config["build_input_shape"] = list(self._inferred_input_shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuilds the model from ``get_config()``'s output (also a bare list of layer
        configs, as very old Keras wrote)."""
        from numflow.keras.layers import serialization
        if isinstance(config, list):
            config = {"layers": config}
        model = cls(name=config.get("name"))
        for layer_config in config["layers"]:
            model.add(serialization.deserialize(layer_config, custom_objects=custom_objects))
        shape = config.get("build_input_shape")
        if not model.inputs and shape is not None:
            model.build(shape)
        return model

    def _class_name_for_config(self):
        return type(self).__name__


def _keeps_int_inputs(layer):
    return type(layer).__name__ in ("Embedding", "CategoryEncoding", "StringLookup",
                                    "IntegerLookup", "Hashing")


def _batch_shape(layer):
    if hasattr(layer, "_batch_input_shape"):
        return layer._batch_input_shape, layer.dtype
    if isinstance(layer, Functional) and getattr(layer, "inputs", None):
        x = layer.inputs[0]
        return tuple(x.shape.as_list()), x.dtype.name
    return None
