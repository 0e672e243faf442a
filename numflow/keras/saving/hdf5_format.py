"""Keras 2's HDF5 layout: ``model.save_weights('w.h5')`` and legacy ``model.save('m.h5')``.

Weights file (or the ``model_weights`` group of a model file)::

    attrs: layer_names, backend, keras_version
    <layer name>/            attrs: weight_names = ['dense/kernel:0', 'dense/bias:0']
        dense/kernel:0       dataset (one per weight, at its full name)
    top_level_model_weights/ attrs: weight_names (weights the model owns directly)

A model file adds the root attributes ``model_config`` (JSON), ``training_config``
(JSON, when compiled), ``keras_version``, ``backend``, and an ``optimizer_weights`` group
(``weight_names`` + one dataset per optimizer variable). This is what TF 2.x's tf.keras
wrote and what Keras 3 still reads as its legacy ``.h5`` format.
"""
import json
import warnings

from numflow.keras.saving import h5_utils, model_state, serialization


# ---- weights -------------------------------------------------------------------------------------
def _top_level_weights(model):
    in_layers = {id(w) for layer in model.layers for w in layer.weights}
    return [w for w in model_state.layer_weights(model) if id(w) not in in_layers]


def _write_weight_group(group, variables):
    names, used = [], set()
    for v in variables:
        name = model_state.weight_name(v) or "weight:0"
        candidate, n = name, 1
        while candidate in used:  # duplicate names inside one layer: make them unique
            stem, _, suffix = name.partition(":")
            candidate = f"{stem}_{n}" + (f":{suffix}" if suffix else "")
            n += 1
        used.add(candidate)
        names.append(candidate)
    h5_utils.save_str_list_attr(group, "weight_names", names)
    for name, v in zip(names, variables):
        h5_utils.create_dataset(group, name, model_state.value_of(v))


def save_weights_to_hdf5_group(f, model):
    """Writes every layer's weights into the open h5py group ``f`` (Keras 2 layout)."""
    layers = model.layers
    h5_utils.save_str_list_attr(f, "layer_names", [layer.name for layer in layers])
    h5_utils.set_str_attr(f, "backend", serialization.BACKEND)
    h5_utils.set_str_attr(f, "keras_version", serialization.KERAS_VERSION)
    for layer in layers:
        _write_weight_group(f.create_group(layer.name), model_state.layer_weights(layer))
    if "top_level_model_weights" not in f:
        _write_weight_group(f.create_group("top_level_model_weights"),
                            _top_level_weights(model))


def _read_group_values(reader, group, where):
    names = reader.str_list_attr(group, "weight_names")
    values = []
    for name in names:
        ds = reader.get(group, name)
        if ds is None:
            raise ValueError(f"{reader.name}: weight '{name}' listed for {where} is missing.")
        values.append(reader.array(ds, f"{where}/{name}"))
    return names, values


def _layer_groups(reader, f):
    """[(layer name, weight names, values)] for the layers the file lists, in order."""
    out = []
    for name in reader.str_list_attr(f, "layer_names"):
        group = reader.group(f, name)
        names, values = _read_group_values(reader, group, name)
        out.append((name, names, values))
    return out


def load_weights_from_hdf5_group(reader, f, model, skip_mismatch=False):
    """Loads weights by position: the n-th layer with weights in the file goes to the n-th
    layer with weights in the model (Keras 2's ``load_weights`` default).

    Raises:
      ValueError: if the numbers of layers or weights, or a weight's shape, differ
        (unless ``skip_mismatch``, which warns and skips that layer).
    """
    layers = [layer for layer in model.layers if model_state.layer_weights(layer)]
    saved = [entry for entry in _layer_groups(reader, f) if entry[1]]
    if len(saved) != len(layers):
        raise ValueError(f"Layer count mismatch when loading weights from file "
                         f"{reader.name}. Model expected {len(layers)} layers, found "
                         f"{len(saved)} saved layers.")
    pairs = []
    for k, (layer, (name, names, values)) in enumerate(zip(layers, saved)):
        pairs.extend(_match_layer(reader, layer, name, names, values, k, skip_mismatch))
    top = reader.group(f, "top_level_model_weights", required=False)
    if top is not None:
        names, values = _read_group_values(reader, top, "top_level_model_weights")
        own = _top_level_weights(model)
        if len(own) == len(values):
            values = model_state.order_by_names(own, names, values)
            pairs.extend((v, model_state.check_value(v, x, reader.name))
                         for v, x in zip(own, values))
        elif not skip_mismatch:
            raise ValueError(f"{reader.name}: the model owns {len(own)} top-level weights, "
                             f"the file has {len(values)}.")
    model_state.assign_all(pairs)


def _match_layer(reader, layer, name, names, values, k, skip_mismatch):
    variables = model_state.layer_weights(layer)
    if len(variables) != len(values):
        msg = (f"Weight count mismatch for layer #{k} (named {layer.name} in the current "
               f"model, {name} in the save file). Layer expects {len(variables)} weight(s). "
               f"Received {len(values)} saved weight(s)")
        if skip_mismatch:
            warnings.warn(f"Skipping loading weights for layer {layer.name}: {msg}",
                          stacklevel=4)
            return []
        raise ValueError(msg)
    values = model_state.order_by_names(variables, names, values)
    try:
        return [(v, model_state.check_value(v, x, f"{reader.name}: layer {layer.name}"))
                for v, x in zip(variables, values)]
    except ValueError as e:
        if skip_mismatch:
            warnings.warn(f"Skipping loading weights for layer {layer.name}: {e}",
                          stacklevel=4)
            return []
        raise


def load_weights_from_hdf5_group_by_name(reader, f, model, skip_mismatch=False):
    """Loads weights into layers with the same name (``load_weights(by_name=True)``); layers
    without a match in the file keep their weights.

    Raises:
      ValueError: on a weight count or shape mismatch, unless ``skip_mismatch``.
    """
    by_name = {}
    for layer in model.layers:
        by_name.setdefault(layer.name, []).append(layer)
    pairs = []
    for k, (name, names, values) in enumerate(_layer_groups(reader, f)):
        for layer in by_name.get(name, []):
            pairs.extend(_match_layer(reader, layer, name, names, values, k, skip_mismatch))
    model_state.assign_all(pairs)


def is_keras2_weights(reader, f):
    """True if ``f`` looks like a Keras 2 weights group."""
    attrs = reader.attrs(f)
    return "layer_names" in attrs or "layer_names0" in attrs


def load_weights(model, reader, by_name=False, skip_mismatch=False):
    """Loads a Keras 2 weights file or the ``model_weights`` of a Keras 2 model file."""
    f = reader.root
    if not is_keras2_weights(reader, f) and reader.get(f, "model_weights") is not None:
        f = reader.group(f, "model_weights")
    if by_name:
        load_weights_from_hdf5_group_by_name(reader, f, model, skip_mismatch)
    else:
        load_weights_from_hdf5_group(reader, f, model, skip_mismatch)


# ---- whole model -----------------------------------------------------------------------------------
def save_model_to_hdf5(model, f, include_optimizer=True):
    """Writes ``model`` into the open h5py file ``f`` (Keras 2's legacy ``.h5`` format)."""
    config = serialization.model_config(model)
    h5_utils.set_str_attr(f, "model_config", json.dumps(config))
    h5_utils.set_str_attr(f, "backend", serialization.BACKEND)
    h5_utils.set_str_attr(f, "keras_version", serialization.KERAS_VERSION)
    save_weights_to_hdf5_group(f.create_group("model_weights"), model)
    training = model_state.training_config(model)
    if include_optimizer and training is not None:
        h5_utils.set_str_attr(f, "training_config", json.dumps(training))
        optimizer = model.optimizer
        variables = model_state.keras2_optimizer_variables(optimizer)
        if getattr(optimizer, "built", True) and variables:
            group = f.create_group("optimizer_weights")
            _write_weight_group(group, variables)


def _json_attr(reader, f, name):
    text = reader.str_attr(f, name)
    if text is None:
        return None
    return serialization.parse_json(text)


def load_model_from_hdf5(reader, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002
    """Rebuilds a model saved by ``save_model_to_hdf5`` (or by tf.keras / Keras 3).

    Raises:
      ValueError: if the file has no model config (a weights-only file) or its config is
        invalid or disallowed (see :mod:`numflow.keras.saving.serialization`).
    """
    f = reader.root
    config = _json_attr(reader, f, "model_config")
    if config is None:
        raise ValueError(f"No model config found in the file at {reader.name}.")
    model = serialization.model_from_config(config, custom_objects, safe_mode)
    load_weights(model, reader)
    if not compile:
        return model
    training = _json_attr(reader, f, "training_config")
    if training is None:
        warnings.warn("No training configuration found in the save file, so the model was "
                      "*not* compiled. Compile it manually.", stacklevel=3)
        return model
    if not model_state.compile_from_config(model, training, custom_objects):
        return model
    group = reader.group(f, "optimizer_weights", required=False)
    if group is not None:
        names, values = _read_group_values(reader, group, "optimizer_weights")
        model_state.set_optimizer_values(model, values, names, reader.name)
    return model
