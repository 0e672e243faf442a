"""Functional model configs in Keras's format, both ways.

Written as Keras 2 (TF 2.x) writes them: ``{"name", "layers": [{"class_name", "config",
"name", "inbound_nodes": [[[layer, node_index, tensor_index, kwargs], ...], ...]}],
"input_layers": [[name, 0, 0]], "output_layers": [[name, node, tensor]]}``. Read in that
format and in Keras 3's (``inbound_nodes`` as ``{"args", "kwargs"}`` with
``__keras_tensor__`` entries). Layer classes are looked up only among registered classes
and ``custom_objects``.
"""
import collections

from numflow.framework import nest
from numflow.keras.engine import functional_utils as futils


def _node_conversion_map(model):
    """Maps each kept (layer, node) key to its index among the model's own nodes."""
    conversion = {}
    for layer in model.layers:
        kept = 0
        for original_index, _ in enumerate(layer._inbound_nodes):
            key = futils.make_node_key(layer.name, original_index)
            if key in model._network_nodes:
                conversion[key] = kept
                kept += 1
    return conversion


def get_network_config(model):
    """The functional config dict of ``model``."""
    from numflow.keras.layers import serialization
    conversion = _node_conversion_map(model)
    layer_configs = []
    for layer in model.layers:
        filtered = []
        for original_index, node in enumerate(layer._inbound_nodes):
            key = futils.make_node_key(layer.name, original_index)
            if key in model._network_nodes and not node.is_input:
                filtered.append(node.serialize(futils.make_node_key, conversion))
        layer_config = serialization.serialize(layer)
        layer_config["name"] = layer.name
        layer_config["inbound_nodes"] = filtered
        layer_configs.append(layer_config)

    def coordinates(tensors):
        out = []
        for t in tensors:
            layer, node_index, tensor_index = t._keras_history
            key = futils.make_node_key(layer.name, node_index)
            out.append([layer.name, conversion.get(key, 0), tensor_index])
        return out

    def nested(structure, flat_coords):
        if isinstance(structure, dict):
            keys = sorted(structure)
            return {k: c for k, c in zip(keys, flat_coords)}
        if isinstance(structure, (list, tuple)):
            return flat_coords
        return flat_coords
    return {"name": model.name, "trainable": model.trainable, "layers": layer_configs,
            "input_layers": nested(model._nested_inputs, coordinates(model.inputs)),
            "output_layers": nested(model._nested_outputs, coordinates(model.outputs))}


def _is_tensor_ref(x, created):
    return (isinstance(x, list) and len(x) in (3, 4) and isinstance(x[0], str)
            and x[0] in created and isinstance(x[1], int) and isinstance(x[2], int))


def _keras3_history(x):
    if isinstance(x, dict) and x.get("class_name") == "__keras_tensor__":
        return x["config"]["keras_history"]
    return None


class _Rebuilder:
    def __init__(self, custom_objects):
        self.custom_objects = custom_objects
        self.created = {}
        self.unprocessed = collections.defaultdict(list)
        self.node_count = collections.Counter()
        self.node_index_map = {}

    def add_layer(self, layer_data, layer=None):
        from numflow.keras.layers import serialization
        name = _layer_name(layer_data)
        if layer is None:
            layer = serialization.deserialize(layer_data, custom_objects=self.custom_objects)
        self.created[name] = layer
        self.node_count[name] = 1 if _is_input_layer(layer) else 0
        for node_data in layer_data.get("inbound_nodes", []):
            self.unprocessed[name].append(node_data)

    def tensor(self, layer_name, node_index, tensor_index):
        layer = self.created[layer_name]
        new_index = self.node_index_map.get((layer_name, node_index))
        if new_index is None:
            if _is_input_layer(layer) and node_index == 0:
                new_index = 0
            else:
                raise LookupError
        if new_index >= len(layer._inbound_nodes):
            raise LookupError
        return nest.flatten(layer._inbound_nodes[new_index].outputs)[tensor_index]

    def resolve_kwargs(self, kwargs):
        def resolve(x):
            hist = _keras3_history(x)
            if hist is not None:
                return self.tensor(*hist)
            if _is_tensor_ref(x, self.created) and len(x) == 3:
                return self.tensor(x[0], x[1], x[2])
            if isinstance(x, dict):
                return {k: resolve(v) for k, v in x.items()}
            if isinstance(x, list):
                return [resolve(v) for v in x]
            return x
        return {k: resolve(v) for k, v in (kwargs or {}).items()}

    def process_node(self, layer_name, node_data):
        """Calls the layer on its inbound tensors; LookupError if they are not ready."""
        layer = self.created[layer_name]
        if isinstance(node_data, dict) and "args" in node_data:   # Keras 3
            args = _map_k3(node_data["args"], self)
            kwargs = self.resolve_kwargs(node_data.get("kwargs", {}))
            outputs = layer(*args, **kwargs)
        else:
            entries = node_data
            if isinstance(node_data, dict):
                keys = list(node_data)
                entries = [node_data[k] for k in keys]
            tensors, kwargs = [], {}
            for entry in entries:
                tensors.append(self.tensor(entry[0], entry[1], entry[2]))
                if len(entry) > 3:
                    kwargs = self.resolve_kwargs(entry[3])
            if isinstance(node_data, dict):
                inputs = dict(zip(keys, tensors))
            else:
                inputs = tensors[0] if len(tensors) == 1 else tensors
            outputs = layer(inputs, **kwargs)
        del outputs
        idx = self.node_count[layer_name]
        self.node_index_map[(layer_name, idx)] = len(layer._inbound_nodes) - 1
        self.node_count[layer_name] += 1


def _map_k3(args, rebuilder):
    def m(x):
        hist = _keras3_history(x)
        if hist is not None:
            return rebuilder.tensor(*hist)
        if isinstance(x, list):
            return [m(v) for v in x]
        if isinstance(x, dict):
            return {k: m(v) for k, v in x.items()}
        return x
    return [m(a) for a in args]


def _is_input_layer(layer):
    from numflow.keras.engine.input_layer import InputLayer
    return isinstance(layer, InputLayer)


def _layer_name(layer_data):
    return layer_data["name"] if "name" in layer_data else layer_data["config"]["name"]


def reconstruct_from_config(config, custom_objects=None, make_layer=None):
    """``(inputs, outputs, created_layers)`` rebuilt from a functional config;
    ``make_layer(layer_data)`` may supply layers (None: deserialize the config).

    Raises:
      ValueError: if some node can never be computed (a broken config).
    """
    rb = _Rebuilder(custom_objects or {})
    for layer_data in config["layers"]:
        rb.add_layer(layer_data, make_layer(layer_data) if make_layer else None)
    # Input layers of Keras 2 configs have node 0 already; map it.
    for name, layer in rb.created.items():
        if _is_input_layer(layer):
            rb.node_index_map[(name, 0)] = 0
    pending = [_layer_name(l) for l in config["layers"]]
    while any(rb.unprocessed[name] for name in pending):
        progressed = False
        for layer_data in config["layers"]:
            name = _layer_name(layer_data)
            queue = rb.unprocessed[name]
            while queue:
                try:
                    rb.process_node(name, queue[0])
                except LookupError:
                    break
                queue.pop(0)
                progressed = True
        if not progressed:
            stuck = [n for n in pending if rb.unprocessed[n]]
            raise ValueError(f"Cannot rebuild the model from its config: the inputs of layers "
                             f"{stuck} are never computed.")

    def gather(spec):
        if isinstance(spec, dict) and not ("class_name" in spec):
            return {k: gather(v) for k, v in spec.items()}
        hist = _keras3_history(spec)
        if hist is not None:
            return rb.tensor(*hist)
        if isinstance(spec, list) and spec and isinstance(spec[0], str):
            return rb.tensor(spec[0], spec[1], spec[2])
        return [gather(s) for s in spec]
    inputs = gather(config["input_layers"])
    outputs = gather(config["output_layers"])
    if isinstance(inputs, list) and len(inputs) == 1:
        inputs = inputs[0]
    if isinstance(outputs, list) and len(outputs) == 1 and len(config["output_layers"]) == 1:
        outputs = outputs[0]
    return inputs, outputs, rb.created


def clone_functional(model, clone_function, input_tensors=None):
    """A copy of functional ``model`` with layers made by ``clone_function`` (new
    InputLayers, or ``input_tensors`` as the new inputs)."""
    from numflow.keras.engine.functional import Functional
    from numflow.keras.engine.input_layer import InputLayer
    config = get_network_config(model)
    originals = {layer.name: layer for layer in model.layers}
    new_inputs = nest.flatten(input_tensors) if input_tensors is not None else None
    input_names = [x._keras_history.layer.name for x in model.inputs]

    def make_layer(layer_data):
        name = _layer_name(layer_data)
        layer = originals[name]
        if isinstance(layer, InputLayer):
            if new_inputs is not None:
                return new_inputs[input_names.index(name)]._keras_history.layer
            return InputLayer.from_config(layer.get_config())
        return clone_function(layer)
    inputs, outputs, _ = reconstruct_from_config(config, make_layer=make_layer)
    return Functional(inputs, outputs, name=model.name)
