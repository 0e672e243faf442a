"""Layer utilities (``tf.keras.utils.layer_utils``): ``count_params``, ``print_summary``
(the table ``model.summary()`` prints) and ``get_source_inputs``."""
import re

from numflow.keras.engine import layer_utils as _engine_layer_utils

count_params = _engine_layer_utils.count_params


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    """Prints a summary of a model (``model.summary()``): one row per layer with its name
    and type, output shape and parameter count (plus "Connected to" for non-sequential
    functional models), then Total / Trainable / Non-trainable params.

    Args:
      model: a built Keras model.
      line_length: total width of the table (default 65, or 98 with "Connected to").
      positions: relative or absolute right edges of the columns.
      print_fn: called with each line (default ``print``).
      expand_nested: also list the layers of nested models.
      show_trainable: add a "Trainable" column.
      layer_range: ``[first_name, last_name]`` to list only part of ``model.layers``.

    Raises:
      ValueError: if the model is not built yet or ``layer_range`` names unknown layers.
    """
    if not getattr(model, "built", True):
        raise ValueError("This model has not yet been built. Build the model first by "
                         "calling `build()` or by calling the model on a batch of data.")
    if layer_range is not None:
        names = [layer.name for layer in model.layers]
        if (not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2
                or any(n not in names for n in layer_range)):
            raise ValueError(f"layer_range must be a list of two layer names of the model, "
                             f"got {layer_range!r}.")
        lo, hi = names.index(layer_range[0]), names.index(layer_range[1])
        keep = set(names[lo:hi + 1])
        lines = []
        _engine_layer_utils.print_summary(model, line_length, positions, lines.append,
                                          expand_nested, show_trainable)
        out = print_fn or print
        for line in _filter_rows(lines, keep):
            out(line)
        return
    _engine_layer_utils.print_summary(model, line_length, positions, print_fn, expand_nested,
                                      show_trainable)


_ROW_START = re.compile(r"^\|* (\S+) \([\w.]+\)")


def _filter_rows(lines, keep):
    """Drops the table rows (with their continuation lines) of layers not in ``keep``."""
    out, keeping, in_body = [], True, False
    for line in lines:
        if line.startswith("="):
            in_body = not in_body
            keeping = True
            out.append(line)
            continue
        match = _ROW_START.match(line) if in_body else None
        if match:
            keeping = match.group(1) in keep
        if keeping or not in_body:
            out.append(line)
    return out


def get_source_inputs(tensor, layer=None, node_index=None):
    """The list of input KerasTensors (from ``keras.Input``) that ``tensor`` depends on
    (``tf.keras.utils.get_source_inputs``)."""
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return [tensor]
    layer = layer if layer is not None else history[0]
    node_index = history[1] if node_index is None else node_index
    node = layer._inbound_nodes[node_index]
    if node.is_input:
        return [tensor]
    sources = []
    for kt in node.keras_inputs:
        for x in get_source_inputs(kt):
            if all(x is not s for s in sources):
                sources.append(x)
    return sources
