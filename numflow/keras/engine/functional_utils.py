"""The functional API's graph machinery: calling a layer on KerasTensors (shape inference in
a scratch graph), mapping the layer graph between a model's inputs and outputs, and
re-rooting a graph at intermediate tensors."""
import collections

import numflow as tf
from numflow.eager.function import FuncGraph
from numflow.framework import nest
from numflow.keras.engine import base_layer_utils as utils
from numflow.keras.engine.keras_tensor import KerasTensor
from numflow.keras.engine.node import Node
from numflow.ops.array_ops import placeholder


def _to_placeholder(x):
    if not isinstance(x, KerasTensor):
        return x
    ph = placeholder(x.dtype, x.shape)
    if x._keras_mask is not None:
        utils.set_mask(ph, placeholder(x._keras_mask.dtype, x._keras_mask.shape))
    return ph


def _to_keras_tensor(t):
    if isinstance(t, KerasTensor):
        return KerasTensor(t.shape, t.dtype)
    if not isinstance(t, tf.Tensor):
        if t is None:
            return None
        t = tf.convert_to_tensor(t)
    kt = KerasTensor(t.shape, t.dtype)
    mask = utils.get_mask(t)
    if mask is not None:
        kt._keras_mask = KerasTensor(mask.shape, mask.dtype)
    return kt


def symbolic_call(layer, args, kwargs):
    """Calls ``layer`` on KerasTensors: runs ``call`` once on placeholders in a scratch
    FuncGraph (weights are created eagerly), then records a Node whose outputs are new
    KerasTensors with the inferred static shapes and dtypes."""
    ctx = utils.call_context
    saved_depth, saved_training = ctx.depth, ctx.training
    ctx.depth, ctx.training = 0, []
    try:
        with FuncGraph(f"{layer.name}_scratch_graph").as_default():
            ph_args, ph_kwargs = nest.map_structure(_to_placeholder, (args, kwargs))
            outputs = layer._call_impl(ph_args, ph_kwargs)
            kt_outputs = nest.map_structure(_to_keras_tensor, outputs)
    finally:
        ctx.depth, ctx.training = saved_depth, saved_training
        layer._clear_call_losses()
    Node(layer, call_args=args, call_kwargs=kwargs, outputs=kt_outputs)
    return kt_outputs


def make_node_key(layer_name, node_index):
    """The key identifying a layer's call in configs and node maps."""
    return f"{layer_name}_ib-{node_index}"


def _build_map(outputs):
    """Nodes in decreasing depth (inputs last) and the order layers were discovered,
    walking back from ``outputs`` (iteratively, as Keras's recursive helper does)."""
    finished, in_progress = set(), set()
    ordered, layer_indices = [], {}
    for output in nest.flatten(outputs):
        layer, node_index, _ = output._keras_history
        stack = [(layer._inbound_nodes[node_index], None)]
        while stack:
            node, it = stack[-1]
            if it is None:
                if id(node) in finished:
                    stack.pop()
                    continue
                if id(node) in in_progress:
                    raise ValueError(f'The tensor at layer "{node.layer.name}" is part of a '
                                     f"cycle.")
                if node.layer not in layer_indices:
                    layer_indices[node.layer] = len(layer_indices)
                in_progress.add(id(node))
                it = iter([] if node.is_input else node.keras_inputs)
                stack[-1] = (node, it)
            advanced = False
            for kt in it:
                child = kt.node
                if id(child) in finished:
                    continue
                if id(child) in in_progress:
                    raise ValueError(f'The tensor {kt} at layer "{child.layer.name}" is part '
                                     f"of a cycle.")
                stack.append((child, None))
                advanced = True
                break
            if not advanced:
                stack.pop()
                finished.add(id(node))
                in_progress.discard(id(node))
                ordered.append(node)
    return ordered, layer_indices


def map_graph_network(inputs, outputs):
    """Keras's ``_map_graph_network``: ``(network_nodes, nodes_by_depth, layers,
    layers_by_depth)`` for the graph from ``inputs`` to ``outputs``.

    Raises:
      ValueError: if an output cannot be computed from the inputs, or names repeat.
    """
    nodes_in_decreasing_depth, layer_indices = _build_map(outputs)
    network_nodes = {make_node_key(n.layer.name, n.layer._inbound_nodes.index(n))
                     for n in nodes_in_decreasing_depth}
    nodes_depths, layers_depths = {}, {}
    node_of = {}
    for node in reversed(nodes_in_decreasing_depth):
        node_of[id(node)] = node
        depth = nodes_depths.setdefault(id(node), 0)
        depth = max(depth, layers_depths.get(node.layer, 0))
        layers_depths[node.layer] = depth
        nodes_depths[id(node)] = depth
        for parent in node.parent_nodes:
            node_of[id(parent)] = parent
            nodes_depths[id(parent)] = max(depth + 1, nodes_depths.get(id(parent), 0))
    for x in inputs:
        input_layer = x._keras_history.layer
        if input_layer not in layers_depths:
            layers_depths[input_layer] = 0
            layer_indices[input_layer] = -1
            node = input_layer._inbound_nodes[0]
            node_of[id(node)] = node
            nodes_depths[id(node)] = 0
            network_nodes.add(make_node_key(input_layer.name, 0))
    nodes_by_depth = collections.defaultdict(list)
    for node_id, depth in nodes_depths.items():
        nodes_by_depth[depth].append(node_of[node_id])
    layers_by_depth = collections.defaultdict(list)
    for layer, depth in layers_depths.items():
        layers_by_depth[depth].append(layer)
    layers = []
    for depth in sorted(layers_by_depth, reverse=True):
        group = sorted(layers_by_depth[depth], key=lambda l: layer_indices[l])
        layers.extend(group)
    computable = {id(x) for x in inputs}
    layers_with_complete_input = []
    for depth in sorted(nodes_by_depth, reverse=True):
        for node in nodes_by_depth[depth]:
            layer = node.layer
            if layer and not node.is_input:
                for x in node.keras_inputs:
                    if id(x) not in computable:
                        raise ValueError(
                            f"Graph disconnected: cannot obtain value for tensor {x} at layer "
                            f'"{layer.name}". The following previous layers were accessed '
                            f"without issue: {layers_with_complete_input}")
                for x in nest.flatten(node.outputs):
                    computable.add(id(x))
                layers_with_complete_input.append(layer.name)
    names = [layer.name for layer in layers]
    for name in set(names):
        if names.count(name) != 1:
            raise ValueError(f'The name "{name}" is used {names.count(name)} times in the '
                             f"model. All layer names should be unique.")
    return network_nodes, nodes_by_depth, layers, layers_by_depth


def is_input_keras_tensor(t):
    """True for a KerasTensor made by ``keras.Input`` (an InputLayer's output)."""
    layer = t._keras_history.layer if t._keras_history is not None else None
    return layer is not None and t.node.is_input


def rebuild_from_intermediate(inputs, outputs):
    """For ``Model(inputs=intermediate_tensor, ...)``: new Inputs for the intermediate
    tensors, and the layers between them and ``outputs`` called again on them.

    Returns:
      ``(new_inputs, new_outputs)`` with the original nesting.
    """
    from numflow.keras.engine.input_layer import Input
    flat_inputs = nest.flatten(inputs)
    tensor_map = {}
    new_flat_inputs = []
    for t in flat_inputs:
        if is_input_keras_tensor(t):
            new = t
        else:
            new = Input(batch_shape=t.shape.as_list(), dtype=t.dtype.name,
                        name=t._keras_history.layer.name + "_input")
        tensor_map[id(t)] = new
        new_flat_inputs.append(new)
    stop = {id(t) for t in flat_inputs}
    order = []
    seen = set()
    for out in nest.flatten(outputs):
        stack = [(out, False)]
        while stack:
            t, expanded = stack.pop()
            if id(t) in stop:
                continue
            node = t.node
            if expanded:
                if id(node) not in seen:
                    seen.add(id(node))
                    order.append(node)
                continue
            if node.is_input:
                raise ValueError(f"Graph disconnected: cannot obtain value for tensor {t} from "
                                 f"the given inputs.")
            stack.append((t, True))
            for kt in node.keras_inputs:
                stack.append((kt, False))
    for node in order:
        args, kwargs = nest.map_structure(
            lambda x: tensor_map.get(id(x), x) if isinstance(x, KerasTensor) else x,
            (node.call_args, node.call_kwargs))
        new_out = node.layer(*args, **kwargs)
        for old, new in zip(nest.flatten(node.outputs), nest.flatten(new_out)):
            tensor_map[id(old)] = new
    new_outputs = nest.map_structure(lambda t: tensor_map.get(id(t), t), outputs)
    return nest.pack_sequence_as(inputs, new_flat_inputs), new_outputs
