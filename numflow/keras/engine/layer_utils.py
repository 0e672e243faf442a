"""``Model.summary()``: Keras's table of layers, output shapes and parameter counts."""
import numpy as np


def count_params(weights):
    """The number of scalars in ``weights`` (each variable counted once)."""
    seen, total = set(), 0
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            total += int(np.prod(w.shape.as_list()))
    return total


def _is_sequential_like(model):
    if type(model).__name__ == "Sequential" or not getattr(model, "_is_graph_network", False):
        return True
    nodes = []
    for v in model._nodes_by_depth.values():
        if len(v) > 1 or (len(v) == 1 and len(v[0].keras_inputs) > 1):
            return False
        nodes += v
    node_ids = {id(n) for n in nodes}
    for layer in model.layers:
        hits = sum(1 for node in layer._inbound_nodes if id(node) in node_ids)
        if hits > 1:
            return False
    return True


def _output_shape(layer):
    from numflow.keras.engine.input_layer import InputLayer
    try:
        shape = layer.output_shape
    except (AttributeError, ValueError, RuntimeError):
        return "multiple"
    if isinstance(layer, InputLayer):
        return str([shape])
    return str(shape)


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False):
    """Prints ``model``'s summary with ``print_fn`` (default ``print``)."""
    print_fn = print_fn or print
    sequential_like = _is_sequential_like(model)
    if sequential_like:
        line_length = line_length or 65
        positions = positions or [0.45, 0.85, 1.0]
        to_display = ["Layer (type)", "Output Shape", "Param #"]
    else:
        line_length = line_length or 98
        positions = positions or [0.33, 0.55, 0.67, 1.0]
        to_display = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    if show_trainable:
        line_length += 11
        positions.append(line_length)
        to_display.append("Trainable")
    relevant = set()
    if not sequential_like:
        for v in model._nodes_by_depth.values():
            relevant.update(id(n) for n in v)

    def print_row(fields, nested_level=0):
        left = [str(x) for x in fields]
        while any(left):
            line = ""
            for col in range(len(left)):
                start = positions[col - 1] if col > 0 else 0
                end = positions[col]
                space = 2 if col != len(positions) - 1 else 0
                cutoff = end - start - space
                fit = left[col][:cutoff]
                cands = [fit.find(x) + len(x) for x in ("),", "},", "],", "',")
                         if fit.find(x) >= 0]
                if cands:
                    cutoff = min(cands)
                    fit = fit[:cutoff]
                if col == 0:
                    line += "|" * nested_level + " "
                line += fit + (" " * space if space else "")
                left[col] = left[col][cutoff:]
                line += " " * (positions[col] - len(line) - nested_level)
            line += "|" * nested_level
            print_fn(line)

    def layer_row(layer, nested_level=0):
        fields = [f"{layer.name} ({type(layer).__name__})", _output_shape(layer),
                  _count(layer)]
        if not sequential_like:
            connections = []
            for node in layer._inbound_nodes:
                if relevant and id(node) not in relevant:
                    continue
                for kt in node.keras_inputs:
                    inbound, node_index, tensor_index = kt._keras_history
                    connections.append(f"{inbound.name}[{node_index}][{tensor_index}]")
            fields.append(connections)
        if show_trainable:
            fields.append("Y" if layer.trainable else "N")
        print_row(fields, nested_level)
        if expand_nested and hasattr(layer, "layers") and layer.layers:
            print_fn("|" * (nested_level + 1) + "¯" * (line_length - 2 * nested_level - 2)
                     + "|" * (nested_level + 1))
            for sub in layer.layers:
                layer_row(sub, nested_level + 1)
            print_fn("¯" * line_length)

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    print_row(to_display)
    print_fn("=" * line_length)
    for layer in model.layers:
        layer_row(layer)
        print_fn(" " * line_length)
    print_fn("=" * line_length)
    trainable = count_params(model.trainable_weights)
    non_trainable = count_params(model.non_trainable_weights)
    print_fn(f"Total params: {trainable + non_trainable:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {non_trainable:,}")
    print_fn("_" * line_length)


def _count(layer):
    if not layer.built:
        return "0 (unused)"
    return layer.count_params()
