"""Drawing a model's layer graph with Graphviz (``tf.keras.utils.plot_model`` /
``model_to_dot``).

Needs the ``pydot`` package (``pip install pydot``) and Graphviz's ``dot`` program
(``apt-get install graphviz``); both are looked for only when a function here is called.
The image is written to a temporary name and renamed into place.
"""
import os

from numflow.io import atomic

_INSTALL_MESSAGE = ("You must install pydot (`pip install pydot`) and install graphviz (see "
                    "instructions at https://graphviz.gitlab.io/download/, e.g. `apt-get "
                    "install graphviz`) for `plot_model` to work.")


def _pydot():
    try:
        import pydot
    except ImportError:
        raise ImportError(_INSTALL_MESSAGE) from None
    return pydot


def check_graphviz():
    """Raises ImportError with install instructions unless pydot and Graphviz work."""
    pydot = _pydot()
    try:
        pydot.Dot.create(pydot.Dot())
    except Exception as e:  # noqa: BLE001 - pydot raises OSError, FileNotFoundError, others
        raise ImportError(f"{_INSTALL_MESSAGE} (running Graphviz failed: {e})") from None


def _shape_text(shape):
    if isinstance(shape, list) and len(shape) == 1:
        shape = shape[0]
    return str(shape)


def _shapes(layer, attr):
    try:
        return _shape_text(getattr(layer, attr))
    except (AttributeError, ValueError, RuntimeError, TypeError):
        return "multiple"


def _dtype(layer, attr):
    try:
        tensors = getattr(layer, attr)
    except (AttributeError, ValueError, RuntimeError):
        return "-"
    tensors = tensors if isinstance(tensors, (list, tuple)) else [tensors]
    names = [getattr(getattr(t, "dtype", None), "name", str(getattr(t, "dtype", "-")))
             for t in tensors]
    return names[0] if len(names) == 1 else str(names)


def _escape(text):
    return str(text).replace("{", "\\{").replace("}", "\\}").replace("<", "\\<") \
        .replace(">", "\\>").replace("|", "\\|").replace('"', '\\"')


def _label(layer, show_shapes, show_dtype, show_layer_names, show_layer_activations,
           show_trainable):
    class_name = type(layer).__name__
    if hasattr(layer, "layer") and class_name in ("TimeDistributed", "Bidirectional"):
        class_name = f"{class_name}({type(layer.layer).__name__})"
    label = f"{layer.name}: {class_name}" if show_layer_names else class_name
    activation = getattr(layer, "activation", None)
    if show_layer_activations and activation is not None:
        label += f" | {getattr(activation, '__name__', activation)}"
    label = _escape(label)
    if show_dtype:
        label = f"{label}|{{input:|output:}}|{{{{{_escape(_dtype(layer, 'input'))}}}|" \
                f"{{{_escape(_dtype(layer, 'output'))}}}}}"
    if show_shapes:
        inputs = _escape(_shapes(layer, "input_shape"))
        outputs = _escape(_shapes(layer, "output_shape"))
        label = f"{label}|{{input:|output:}}|{{{{{inputs}}}|{{{outputs}}}}}"
    if show_trainable:
        label = f"{'Trainable' if layer.trainable else 'Non-trainable'}|{label}"
    if show_shapes or show_dtype or show_trainable:
        label = "{" + label + "}"
    return label


def _inbound_layers(layer, relevant):
    """The layers feeding ``layer`` in the nodes that belong to the model."""
    out = []
    for node in getattr(layer, "_inbound_nodes", []):
        if relevant is not None and id(node) not in relevant:
            continue
        for kt in getattr(node, "keras_inputs", []):
            history = getattr(kt, "_keras_history", None)
            if history is not None:
                out.append(history[0])
    return out


def _is_network(model):
    return bool(getattr(model, "_is_graph_network", False))


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True,
                 rankdir="TB", expand_nested=False, dpi=96, subgraph=False, layer_range=None,
                 show_layer_activations=False, show_trainable=False):
    """Converts a Keras model to a ``pydot.Dot`` graph (``tf.keras.utils.model_to_dot``).

    Args:
      model: a Keras model.
      show_shapes: display the input and output shapes of each layer.
      show_dtype: display the layers' dtypes.
      show_layer_names: display layer names.
      rankdir: ``'TB'`` (vertical) or ``'LR'`` (horizontal).
      expand_nested: draw nested models as clusters of their layers.
      dpi: dots per inch.
      subgraph: return a ``pydot.Cluster`` (used for nested models).
      layer_range: ``[first_name, last_name]`` to draw only that part of ``model.layers``.
      show_layer_activations: display the activation of layers that have one.
      show_trainable: display whether each layer is trainable.

    Raises:
      ImportError: if pydot or Graphviz is missing (with install instructions).
      ValueError: for a bad ``layer_range`` or ``rankdir``.
    """
    pydot = _pydot()
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"rankdir must be 'TB' or 'LR', got {rankdir!r}.")
    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name)
        dot.set("label", model.name)
        dot.set("labeljust", "l")
    else:
        dot = pydot.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set_node_defaults(shape="record")
    layers = list(model.layers)
    if layer_range is not None:
        names = [layer.name for layer in layers]
        if (not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2
                or any(n not in names for n in layer_range)):
            raise ValueError(f"layer_range must be a list of two layer names of the model, "
                             f"got {layer_range!r}.")
        lo, hi = names.index(layer_range[0]), names.index(layer_range[1])
        layers = layers[lo:hi + 1]
    relevant = None
    if _is_network(model):
        relevant = {id(n) for nodes in model._nodes_by_depth.values() for n in nodes}
    options = (show_shapes, show_dtype, show_layer_names, show_layer_activations,
               show_trainable)
    entry, exit_ = {}, {}
    for layer in layers:
        if expand_nested and hasattr(layer, "layers") and _is_network(layer):
            sub = model_to_dot(layer, *options[:3], rankdir, True, dpi, True,
                               show_layer_activations=show_layer_activations,
                               show_trainable=show_trainable)
            dot.add_subgraph(sub)
            inner = [n for n in sub.get_nodes()]
            entry[id(layer)] = inner[0].get_name() if inner else str(id(layer))
            exit_[id(layer)] = inner[-1].get_name() if inner else str(id(layer))
            continue
        node = pydot.Node(str(id(layer)), label=_label(layer, *options))
        dot.add_node(node)
        entry[id(layer)] = exit_[id(layer)] = str(id(layer))
    ids = {id(layer) for layer in layers}
    if relevant is not None:
        for layer in layers:
            for inbound in _inbound_layers(layer, relevant):
                if id(inbound) in ids:
                    dot.add_edge(pydot.Edge(exit_[id(inbound)], entry[id(layer)]))
    else:
        for a, b in zip(layers, layers[1:]):
            dot.add_edge(pydot.Edge(exit_[id(a)], entry[id(b)]))
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=True, rankdir="TB", expand_nested=False, dpi=96,
               layer_range=None, show_layer_activations=False, show_trainable=False):
    """Converts a Keras model to dot format and saves it to ``to_file``
    (``tf.keras.utils.plot_model``); the format comes from the extension (``.png``,
    ``.svg``, ``.pdf``, ``.jpg``..., default PNG).

    Returns:
      An ``IPython.display.Image`` of a PNG/JPEG when IPython is installed, else None.

    Raises:
      ImportError: if pydot or Graphviz is missing (says what to install).
    """
    check_graphviz()
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested, dpi=dpi, layer_range=layer_range,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable)
    to_file = os.fspath(to_file)
    _, extension = os.path.splitext(to_file)
    extension = extension[1:].lower() or "png"
    try:
        data = dot.create(prog="dot", format=extension)
    except Exception as e:  # noqa: BLE001 - pydot wraps Graphviz failures in several types
        raise ValueError(f"Graphviz could not render format {extension!r}: {e}") from None
    directory = os.path.dirname(os.path.abspath(to_file))
    os.makedirs(directory, exist_ok=True)
    atomic.atomic_write_bytes(to_file, data)
    if extension in ("png", "jpg", "jpeg"):
        try:
            from IPython import display
        except ImportError:
            return None
        return display.Image(filename=to_file,
                             format="jpeg" if extension in ("jpg", "jpeg") else "png")
    return None
