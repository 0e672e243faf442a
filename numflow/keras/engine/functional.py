"""Functional: a Model defined as a graph of layers from ``keras.Input`` tensors to output
tensors (``keras.Model(inputs, outputs)``); also the base of Sequential.

Calling it runs the layers in dependency order on the given tensors, so one traced
``train_step`` covers the whole graph. Shared layers, nested models, lists and dicts of
inputs/outputs and non-linear topologies are supported.
"""
import operator

import numflow as tf
from numflow.framework import nest
from numflow.keras.engine import base_layer_utils as utils
from numflow.keras.engine import functional_utils as futils
from numflow.keras.engine import input_spec as input_spec_lib
from numflow.keras.engine.keras_tensor import KerasTensor
from numflow.keras.engine.training import Model


class Functional(Model):
    """A model built from symbolic inputs and outputs (``keras.Model(inputs, outputs,
    name=None, trainable=True)``); ``inputs``/``outputs`` may be single KerasTensors,
    lists or dicts of them. Data may be passed as a dict keyed by input names."""

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        for k in ("dtype", "dynamic", "autocast"):
            kwargs.pop(k, None)
        if kwargs:
            raise TypeError(f"Keyword argument not understood: {next(iter(kwargs))!r}")
        if name is None:
            from numflow.keras import backend
            name = backend.unique_object_name("model", zero_based=True)
        Model.__init__(self, name=name, trainable=trainable)
        if not all(futils.is_input_keras_tensor(t) for t in nest.flatten(inputs)):
            inputs, outputs = futils.rebuild_from_intermediate(inputs, outputs)
        self._init_graph_network(inputs, outputs)

    def _init_graph_network(self, inputs, outputs):
        for t in nest.flatten(inputs) + nest.flatten(outputs):
            if not isinstance(t, KerasTensor):
                raise ValueError(f"Input tensors to a Functional must come from `tf.keras.Input`"
                                 f" and outputs from Keras layers. Received: {t} (of type "
                                 f"{type(t).__name__})")
        if isinstance(inputs, list) and len(nest.flatten(inputs)) == 1:
            inputs = inputs[0]
        if isinstance(outputs, list) and len(nest.flatten(outputs)) == 1:
            outputs = outputs[0]
        self._nested_inputs = inputs
        self._nested_outputs = outputs
        self.inputs = nest.flatten(inputs)
        self.outputs = nest.flatten(outputs)
        self._is_graph_network = True
        self.built = True
        self._build_input_shape = nest.map_structure(lambda x: x.shape, inputs)
        self._autocast = False
        self._input_layers = [x._keras_history.layer for x in self.inputs]
        self._output_layers = [x._keras_history.layer for x in self.outputs]
        self._output_coordinates = [tuple(x._keras_history) for x in self.outputs]
        nodes, nodes_by_depth, layers, _ = futils.map_graph_network(self.inputs, self.outputs)
        self._network_nodes = nodes
        self._nodes_by_depth = nodes_by_depth
        self._self_tracked_trackables = layers
        self._set_output_names()
        self.input_names = [layer.name for layer in self._input_layers]
        self._execution_plan = self._make_execution_plan()

    def _set_output_names(self):
        names, seen, counts = [], set(), {}
        for layer in self._output_layers:
            proposal = layer.name
            while proposal in seen:
                n = counts.get(layer.name, 1)
                proposal = f"{layer.name}_{n}"
                counts[layer.name] = n + 1
            seen.add(proposal)
            names.append(proposal)
        self.output_names = names

    def _make_execution_plan(self):
        plan = []
        for depth in sorted(self._nodes_by_depth, reverse=True):
            for node in self._nodes_by_depth[depth]:
                if not node.is_input:
                    plan.append(node)
        return plan

    def _direct_children(self):
        layers, variables = super()._direct_children()
        tracked = list(self._self_tracked_trackables)
        ids = {id(l) for l in tracked}
        return tracked + [l for l in layers if id(l) not in ids], variables

    # ---- properties ------------------------------------------------------------------------
    @property
    def input(self):
        """The model's symbolic input(s), as given to the constructor."""
        return self._nested_inputs

    @property
    def output(self):
        """The model's symbolic output(s)."""
        return self._nested_outputs

    @property
    def input_shape(self):
        """The input shape(s) as tuples."""
        return nest.map_structure(lambda x: tuple(x.shape.as_list()), self._nested_inputs)

    @property
    def output_shape(self):
        """The output shape(s) as tuples."""
        return nest.map_structure(lambda x: tuple(x.shape.as_list()), self._nested_outputs)

    @property
    def input_spec(self):
        """InputSpecs checking the batch-free shape of every input."""
        if getattr(self, "_manual_input_spec", None) is not None:
            return self._manual_input_spec
        nested = self._nested_inputs
        if isinstance(nested, (dict, list, tuple)) and len(nested) != len(self.inputs):
            return None
        if isinstance(nested, dict):
            return [input_spec_lib.InputSpec(shape=_no_batch(nested[k]),
                                             allow_last_axis_squeeze=True, name=k)
                    for k in sorted(nested)]
        return [input_spec_lib.InputSpec(shape=_no_batch(x), allow_last_axis_squeeze=True,
                                         name=x._keras_history.layer.name)
                for x in self.inputs]

    @input_spec.setter
    def input_spec(self, value):
        self._manual_input_spec = value

    @property
    def _input_spec(self):
        return self._call_input_spec() if getattr(self, "_is_graph_network", False) else None

    def _call_input_spec(self):
        """``input_spec``, for the check on every call: the specs made from the inputs are
        kept while every input and its shape and name are the same objects as when they
        were made (checked each time: set_shape or a rebuilt graph makes new specs)."""
        manual = getattr(self, "_manual_input_spec", None)
        if manual is not None:
            return manual
        key = [self._nested_inputs]
        for x in self.inputs:
            key += (x, x.shape, x._keras_history.layer.name)
        made = self.__dict__.get("_made_input_spec")
        if made is not None and len(made[0]) == len(key) and \
                all(map(operator.is_, made[0], key)):
            return made[1]
        specs = self.input_spec
        self._made_input_spec = (key, specs)
        return specs

    @_input_spec.setter
    def _input_spec(self, value):
        pass

    # ---- running ------------------------------------------------------------------------------
    def _flatten_to_reference_inputs(self, inputs):
        """The inputs as a flat list matching ``self.inputs`` (dicts matched by name)."""
        if isinstance(inputs, tf.Tensor) and len(self.inputs) == 1:
            return [inputs]
        if isinstance(inputs, dict):
            ref = self._nested_inputs
            if isinstance(ref, dict):
                keys = sorted(ref)
                ref_names = [ref[k]._keras_history.layer.name for k in keys]
            else:
                keys = ref_names = self.input_names
            out = []
            for key, name in zip(keys, ref_names):
                if key in inputs:
                    out.append(inputs[key])
                elif name in inputs:
                    out.append(inputs[name])
                else:
                    raise ValueError(f"Missing data for input \"{name}\". You passed a data "
                                     f"dictionary with keys {list(inputs)}. Expected the "
                                     f"following keys: {self.input_names}")
            return out
        flat = nest.flatten(inputs)
        if len(flat) != len(self.inputs):
            raise ValueError(f'Layer "{self.name}" expects {len(self.inputs)} input(s), but it '
                             f"received {len(flat)} input tensors. Inputs received: {inputs}")
        return flat

    def _conform(self, value, ref):
        if not isinstance(value, tf.Tensor):
            value = tf.convert_to_tensor(value)
        dtype = value.dtype.base_dtype
        if dtype is not ref.dtype and dtype != ref.dtype:
            value = tf.cast(value, ref.dtype)
        ref_rank = ref.shape.rank
        rank = value.shape.rank
        if ref_rank is not None and rank is not None and rank == ref_rank + 1 and \
                value.shape[-1] == 1:
            value = tf.squeeze(value, axis=-1)
        elif ref_rank is not None and rank is not None and rank + 1 == ref_rank and \
                ref.shape[-1] == 1:
            value = tf.expand_dims(value, axis=-1)
        return value

    def call(self, inputs, training=None, mask=None):
        """Runs the layer graph on ``inputs`` (a tensor, list, or dict keyed by input names)."""
        flat = self._flatten_to_reference_inputs(inputs)
        tensor_dict = {}
        masks = nest.flatten(mask) if mask is not None else [None] * len(flat)
        for x, y, m in zip(self.inputs, flat, masks):
            y = self._conform(y, x)
            if m is not None:
                utils.set_mask(y, m)
            tensor_dict[id(x)] = y
        for node in self._execution_plan:
            ids = node.flat_input_ids
            if not (ids[0] in tensor_dict if len(ids) == 1 else
                    all(t in tensor_dict for t in ids)):
                continue
            args, kwargs = node.map_arguments(tensor_dict)
            outputs = node.layer(*args, **kwargs)
            out_ids = node.flat_output_ids
            if len(out_ids) == 1 and isinstance(outputs, tf.Tensor):
                tensor_dict[out_ids[0]] = outputs
            else:
                for x_id, y in zip(out_ids, nest.flatten(outputs)):
                    tensor_dict[x_id] = y
        try:
            flat_out = [tensor_dict[id(x)] for x in self.outputs]
        except KeyError:
            raise ValueError(f"Could not compute output {self.outputs} of model {self.name}: "
                             f"the inputs given do not reach it.") from None
        if isinstance(self._nested_outputs, KerasTensor):
            return flat_out[0]
        return nest.pack_sequence_as(self._nested_outputs, flat_out)

    def compute_output_shape(self, input_shape):
        """The output shape(s); the graph's static shapes when ``input_shape`` matches."""
        return nest.map_structure(lambda x: x.shape, self._nested_outputs)

    # ---- serialization ------------------------------------------------------------------------
    def get_config(self):
        """Keras's functional config: ``name``, ``layers`` (each with ``inbound_nodes``),
        ``input_layers`` and ``output_layers``."""
        from numflow.keras.engine import functional_config
        return functional_config.get_network_config(self)

    def _class_name_for_config(self):
        return "Functional" if type(self).__name__ in ("Functional", "Model") else \
            type(self).__name__


def _no_batch(x):
    shape = x.shape
    if shape.rank is None:
        return None
    return (None,) + tuple(shape.as_list()[1:])
