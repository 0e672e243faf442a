"""Keras 3's formats: the ``.keras`` zip archive and ``.weights.h5`` weights files.

A ``.keras`` file is a zip holding ``metadata.json`` (``keras_version``, ``date_saved``),
``config.json`` (the model config with ``module``/``registered_name`` entries and a
``compile_config``) and ``model.weights.h5``. The weights file stores each object's own
variables at ``<path>/vars/0``, ``<path>/vars/1``..., where the path follows Keras 3's
object walk: ``layers/<snake_case class name>`` (``dense``, ``dense_1``... in ``model.layers``
order), sublayers under their attribute names (``layers/lstm/cell``), the optimizer at
``optimizer`` (iterations, learning rate, slot variables) and the model itself at ``vars``.

Reading a ``.keras`` file never extracts it: only the three members above are read, into
memory, with size limits; member names such as ``../x`` are never used as paths.
"""
import datetime
import io
import json
import os
import warnings
import zipfile

from numflow.io import atomic
from numflow.keras.saving import h5_utils, model_state, serialization

KERAS3_VERSION = "3.10.0"
CONFIG_FILENAME = "config.json"
METADATA_FILENAME = "metadata.json"
WEIGHTS_FILENAME = "model.weights.h5"
MAX_JSON_BYTES = 64 << 20
MAX_WEIGHTS_BYTES = 16 << 30


# ---- the object walk -----------------------------------------------------------------------------
def _layer_base():
    from numflow.keras.engine.base_layer import Layer
    return Layer


def _untracked():
    from numflow.keras.engine import base_layer
    return base_layer._UNTRACKED


def _name_key(name):
    return f"~{name}" if name.startswith("_") else name


def _own_variables(layer):
    own = getattr(layer, "_own_weights", None)
    if own is not None:
        trainable, non_trainable = own()
        return list(trainable) + list(non_trainable)
    return list(getattr(layer, "weights", []))


def _is_model_with_layers(layer):
    from numflow.keras.engine.training import Model
    if not isinstance(layer, Model):
        return False
    return type(layer).__name__ in ("Sequential", "Functional") or any(
        k.__name__ in ("Sequential", "Functional") for k in type(layer).__mro__)


def _public_name(obj, attr):
    if attr.startswith("_") and not attr.startswith("__"):
        prop = getattr(type(obj), attr.lstrip("_"), None)
        if isinstance(prop, property):
            return attr.lstrip("_")
    return attr


def _snake(cls_name):
    from numflow.keras.utils import generic_utils
    return generic_utils.to_snake_case(cls_name)


def weight_entries(model, include_optimizer=True, owners=None):
    """``[(path, [variables])]`` in Keras 3's layout (paths without the ``/vars`` suffix;
    ``""`` is the model itself). ``owners``, a dict, receives ``{path: object}``."""
    layer_cls = _layer_base()
    entries, visited = [], set()

    def save(obj, path):
        if id(obj) in visited:
            return
        visited.add(id(obj))
        entries.append((path, _own_variables(obj)))
        if owners is not None:
            owners[path] = obj
        children = []
        if _is_model_with_layers(obj):
            children.append(("layers", list(obj.layers)))
        skip = _untracked() | {"layers", "_layers", "_self_tracked_trackables"}
        for attr in sorted(vars(obj), key=_name_key):
            if attr in skip or attr.startswith("__"):
                continue
            children.append((_public_name(obj, attr), vars(obj)[attr]))
        for attr, value in children:
            child_path = f"{path}/{attr}" if path else attr
            if isinstance(value, layer_cls):
                if not _is_metric(value):
                    save(value, child_path)
            elif isinstance(value, (list, tuple, dict)):
                container(value, child_path, set())

    def container(value, path, seen):
        if id(value) in seen:
            return
        seen.add(id(value))
        items = list(value.values()) if isinstance(value, dict) else list(value)
        used = {}
        for item in items:
            if isinstance(item, layer_cls) and not _is_metric(item):
                name = _unique(_snake(type(item).__name__), used)
                save(item, f"{path}/{name}")
            elif isinstance(item, (list, tuple, dict)):
                name = _unique("container", used)
                container(item, f"{path}/{name}", seen)

    save(model, "")
    if include_optimizer and getattr(model, "optimizer", None) is not None:
        optimizer = model.optimizer
        if getattr(optimizer, "built", True):
            entries.append(("optimizer", model_state.optimizer_variables(optimizer)))
            if owners is not None:
                owners["optimizer"] = optimizer
    return entries


def _is_metric(x):
    return hasattr(x, "update_state") and hasattr(x, "result")


def _unique(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _vars_path(path):
    return f"{path}/vars" if path else "vars"


# ---- weights files ---------------------------------------------------------------------------------
def write_weights(f, model, include_optimizer=True):
    """Fills the open h5py file ``f`` with the model's weights in Keras 3's layout."""
    owners = {}
    for path, variables in weight_entries(model, include_optimizer, owners):
        group = f.require_group(_vars_path(path))
        name = getattr(owners.get(path), "name", None)
        if isinstance(name, str):
            h5_utils.set_str_attr(group, "name", name)
        for i, v in enumerate(variables):
            h5_utils.create_dataset(group, str(i), model_state.value_of(v))


def save_weights(model, filepath):
    """``model.save_weights('x.weights.h5')``: Keras 3's layout, written atomically."""
    with h5_utils.atomic_h5_file(filepath) as f:
        write_weights(f, model, include_optimizer=True)


def _named_vars_groups(reader):
    """{layer name: [vars groups]} from the ``name`` attributes Keras 3 writes."""
    index = {}

    def visit(group, depth):
        if depth > 64:
            return
        for key in reader.keys(group):
            child = reader.get(group, key)
            if not reader.is_group(child):
                continue
            if key == "vars":
                name = reader.str_attr(child, "name")
                if name:
                    index.setdefault(name, []).append(child)
            else:
                visit(child, depth + 1)
    visit(reader.root, 0)
    return index


def _read_vars(reader, group, where):
    keys = reader.keys(group)
    values = []
    for i in range(len(keys)):
        ds = reader.get(group, str(i))
        if ds is None:
            raise ValueError(f"{reader.name}: '{where}' is missing variable {i}.")
        values.append(reader.array(ds, f"{where}/{i}"))
    return values


def load_weights(model, reader, skip_mismatch=False):
    """Loads a Keras 3 layout weights file into ``model`` (layer weights and, when the model
    has an optimizer, its state).

    Raises:
      ValueError: when a layer's variable count or a shape differs or the file lacks a
        layer's variables (unless ``skip_mismatch``, which warns and skips).
    """
    owners = {}
    entries = weight_entries(model, include_optimizer=False, owners=owners)
    named = None
    pairs = []
    optimizer_values = None
    if getattr(model, "optimizer", None) is not None and \
            _parents_exist(reader, "optimizer/vars"):
        group = reader.get(reader.root, "optimizer/vars")
        if reader.is_group(group):
            optimizer_values = _read_vars(reader, group, "optimizer/vars")
    for path, variables in entries:
        if not variables:
            continue
        where = _vars_path(path)
        group = reader.get(reader.root, where) if _parents_exist(reader, where) else None
        if group is None or not reader.is_group(group):
            if named is None:
                named = _named_vars_groups(reader)
            owner = owners.get(path)
            candidates = named.get(getattr(owner, "name", None), [])
            group = candidates[0] if len(candidates) == 1 else None
        if group is None:
            msg = f"{reader.name}: no saved variables for '{path}' ({len(variables)} expected)."
            if skip_mismatch:
                warnings.warn(msg, stacklevel=3)
                continue
            raise ValueError(msg)
        values = _read_vars(reader, group, where)
        if len(values) != len(variables):
            msg = (f"Layer '{getattr(owners.get(path), 'name', path)}' expected "
                   f"{len(variables)} variables, but received {len(values)} variables during "
                   f"loading. Expected: {[model_state.weight_name(v) for v in variables]}")
            if skip_mismatch:
                warnings.warn(msg, stacklevel=3)
                continue
            raise ValueError(msg)
        try:
            pairs.extend((v, model_state.check_value(v, x, f"{reader.name}: {where}"))
                         for v, x in zip(variables, values))
        except ValueError as e:
            if not skip_mismatch:
                raise
            warnings.warn(str(e), stacklevel=3)
    model_state.assign_all(pairs)
    if optimizer_values is not None and getattr(model, "optimizer", None) is not None:
        model_state.set_optimizer_values(model, optimizer_values, None,
                                         f"{reader.name}: optimizer")


def _parents_exist(reader, where):
    group = reader.root
    for part in where.split("/"):
        child = reader.get(group, part)
        if child is None:
            return False
        group = child
    return True


# ---- .keras archives --------------------------------------------------------------------------------
def _archive_config(model, include_optimizer):
    config = serialization.to_keras3(serialization.model_config(model))
    config = _keras3_sequential(config)
    build_shape = _build_input_shape(model)
    config["build_config"] = {"input_shape": build_shape}
    compile_config = model_state.keras3_compile_config(model) if include_optimizer else None
    config["compile_config"] = compile_config
    return config


def _build_input_shape(model):
    shape = getattr(model, "_build_input_shape", None)
    if shape is None:
        inputs = getattr(model, "inputs", None)
        if inputs:
            shapes = [list(t.shape.as_list()) if hasattr(t.shape, "as_list") else list(t.shape)
                      for t in inputs]
            return shapes[0] if len(shapes) == 1 else shapes
        return None
    return serialization._jsonable(shape)


def _keras3_sequential(config):
    """Keras 3 puts a Sequential's input in an ``InputLayer`` entry, not in the first
    layer's ``batch_input_shape``."""
    if config.get("class_name") != "Sequential":
        return config
    layers = config.get("config", {}).get("layers", [])
    if layers and layers[0].get("class_name") != "InputLayer":
        first = layers[0].get("config", {})
        shape = first.pop("batch_input_shape", None)
        if shape is not None:
            layers.insert(0, {"module": "keras.layers", "class_name": "InputLayer",
                              "config": {"batch_shape": shape,
                                         "dtype": first.get("dtype", "float32"),
                                         "sparse": False, "name": f"{first.get('name')}_input"},
                              "registered_name": None})
    return config


def save_model(model, filepath, include_optimizer=True):
    """``model.save('m.keras')``: the zip archive, written to a temporary file and renamed
    into place."""
    config_json = json.dumps(_archive_config(model, include_optimizer))
    metadata_json = json.dumps({"keras_version": KERAS3_VERSION,
                                "date_saved": datetime.datetime.now().strftime(
                                    "%Y-%m-%d@%H:%M:%S")})
    weights = h5_utils.h5_bytes(lambda f: write_weights(f, model, include_optimizer))
    filepath = os.fspath(filepath)
    directory = os.path.dirname(os.path.abspath(filepath))
    os.makedirs(directory, exist_ok=True)
    with atomic.atomic_write(filepath, "wb") as out:
        with zipfile.ZipFile(out, "w") as zf:
            zf.writestr(METADATA_FILENAME, metadata_json)
            zf.writestr(CONFIG_FILENAME, config_json)
            zf.writestr(WEIGHTS_FILENAME, weights)


def _read_member(zf, name, limit, where):
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    if info.file_size > limit:
        raise ValueError(f"{where}: member {name} is too large ({info.file_size} bytes).")
    try:
        with zf.open(info) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError) as e:
        raise ValueError(f"{where}: cannot read member {name} ({e}).") from None
    except Exception as e:  # zlib.error and friends
        raise ValueError(f"{where}: cannot read member {name} ({e}).") from None
    if len(data) > limit:
        raise ValueError(f"{where}: member {name} is too large.")
    return data


def open_archive(source, where):
    """A ZipFile over a path or bytes; ValueError for a broken archive."""
    try:
        if isinstance(source, (bytes, bytearray)):
            return zipfile.ZipFile(io.BytesIO(bytes(source)))
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError) as e:
        raise ValueError(f"{where} is not a valid .keras archive ({e}).") from None


def read_archive(filepath):
    """(config dict, weights bytes or None) from a ``.keras`` archive."""
    where = os.fspath(filepath)
    with open_archive(where, where) as zf:
        config_bytes = _read_member(zf, CONFIG_FILENAME, MAX_JSON_BYTES, where)
        if config_bytes is None:
            raise ValueError(f"{where}: the archive has no {CONFIG_FILENAME}; it is not a "
                             ".keras model file.")
        weights = _read_member(zf, WEIGHTS_FILENAME, MAX_WEIGHTS_BYTES, where)
        names = zf.namelist()
    if weights is None and any(n.endswith(".npz") or n.endswith(".weights.json")
                               for n in names):
        raise NotImplementedError(f"{where}: .keras archives with npz or sharded weights.")
    config = serialization.parse_json(config_bytes)
    if not isinstance(config, dict):
        raise ValueError(f"{where}: {CONFIG_FILENAME} is not a JSON object.")
    return config, weights


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002
    """Loads a ``.keras`` archive (architecture, weights, compile settings, optimizer).

    Raises:
      ValueError: for a broken archive or an invalid or disallowed config.
    """
    where = os.fspath(filepath)
    config, weights = read_archive(where)
    compile_config = config.get("compile_config")
    model = serialization.model_from_config(config, custom_objects, safe_mode)
    if compile and isinstance(compile_config, dict):
        model_state.compile_from_config(model, compile_config, custom_objects, keras3=True)
    if weights is not None:
        if h5_utils.sniff_bytes(weights) != "h5":
            raise ValueError(f"{where}: {WEIGHTS_FILENAME} is not an HDF5 file.")
        with h5_utils.H5Reader(weights, f"{where}:{WEIGHTS_FILENAME}") as reader:
            load_weights(model, reader)
    return model


def load_weights_from_archive(model, filepath, skip_mismatch=False):
    """``model.load_weights('m.keras')``: the weights inside a ``.keras`` archive."""
    where = os.fspath(filepath)
    _, weights = read_archive(where)
    if weights is None:
        raise ValueError(f"{where}: the archive holds no weights.")
    with h5_utils.H5Reader(weights, f"{where}:{WEIGHTS_FILENAME}") as reader:
        load_weights(model, reader, skip_mismatch=skip_mismatch)
