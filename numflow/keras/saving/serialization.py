"""Safe model configs: JSON and YAML, written by Keras 2 or Keras 3, turned back into models.

``model_from_config`` / ``model_from_json`` / ``model_from_yaml`` accept both the Keras 2
form (``{"class_name", "config"}``, ``batch_input_shape``, ``inbound_nodes`` as nested
lists) and the Keras 3 form (``module``, ``registered_name``, ``batch_shape``,
``DTypePolicy`` dicts, ``inbound_nodes`` as ``{"args", "kwargs"}`` with
``__keras_tensor__`` entries). A config is first *normalized* into the Keras 2 form that
numflow's layers and models take, and validated on the way:

* Nothing named in a config is ever imported, evaluated or unpickled. A ``class_name`` is
  looked up only among numflow's registered Keras classes and functions, the
  ``custom_objects`` argument, the active ``custom_object_scope`` and classes registered with
  ``register_keras_serializable``. A ``module`` is never imported; it must be a Keras module
  (``keras``, ``keras.*``, ``tf_keras.*``, ``tensorflow.keras.*``) unless the class is found
  among the custom objects. Anything else raises ``ValueError`` naming the object.
* Non-modeling APIs (``load_model``, ``enable_unsafe_deserialization``, ``get_file``...)
  are refused even when a custom-object table offers them.
* A ``Lambda`` layer whose function is Python bytecode (Keras 2 ``function_type:
  "lambda"``, Keras 3 ``__lambda__``) is refused unless the *caller* passes
  ``safe_mode=False``; no file content can change the flag.
* Arrays embedded in configs (``__numpy__``/``__tensor__``) must have a numeric or bool
  dtype: object arrays are rejected.
"""
import contextlib
import inspect
import json

import numpy as np

from numflow.keras.utils import generic_utils

KERAS_VERSION = "2.21.0"  # written as `keras_version` in Keras 2 layouts (tf.keras 2.x)
BACKEND = "tensorflow"
_ALLOWED_MODULE_ROOTS = ("keras", "tf_keras", "tensorflow.keras", "tensorflow.python.keras",
                         "numflow.keras")
NON_MODELING_APIS = frozenset({
    "load_model", "save_model", "load_weights", "save_weights", "model_from_json",
    "model_from_yaml", "model_from_config", "deserialize_keras_object",
    "enable_unsafe_deserialization", "disable_unsafe_deserialization", "get_file",
    "load_img", "save_img", "array_to_img", "img_to_array", "image_dataset_from_directory",
    "text_dataset_from_directory", "audio_dataset_from_directory", "plot_model",
    "model_to_dot", "get_custom_objects", "register_keras_serializable", "load_data",
    "set_value", "eval", "exec", "compile", "open", "__import__", "system", "popen",
    "TFSMLayer"})
MAX_CONFIG_NODES = 2_000_000
MAX_CONFIG_DEPTH = 200
_NUMERIC_KINDS = "biufc"
_LAMBDA_MESSAGE = (
    "Requested the deserialization of a `Lambda` layer whose function is Python bytecode "
    "({where}). This carries a potential risk of arbitrary code execution and thus it is "
    "disallowed by default. If you trust the source of the saved model, you can pass "
    "`safe_mode=False` to the loading function in order to allow `Lambda` layer loading.")


# ---- safe mode ---------------------------------------------------------------------------
def in_safe_mode():
    """Whether deserialization currently refuses code-bearing objects (True unless a loader
    was called with ``safe_mode=False``); the same flag ``Lambda.from_config`` consults
    (``numflow.keras.layers.serialization.SafeModeScope``)."""
    from numflow.keras.layers import serialization as layer_serialization
    return layer_serialization.in_safe_mode()


@contextlib.contextmanager
def safe_mode_scope(safe_mode=True):
    """Sets :func:`in_safe_mode` for the body (the loaders pass their argument here; a file
    never can)."""
    from numflow.keras.layers import serialization as layer_serialization
    with layer_serialization.SafeModeScope(bool(safe_mode)):
        yield


# ---- registries -----------------------------------------------------------------------------
def layer_classes():
    """Numflow's built-in layer and model classes by name (importing the layer package)."""
    from numflow.keras.engine import base_layer
    try:
        import numflow.keras.layers  # noqa: F401 - registers the layer classes
    except ImportError:
        pass
    table = dict(base_layer.LAYER_CLASSES)
    if "Functional" in table:
        table.setdefault("Model", table["Functional"])
    elif "Model" in table:
        table["Functional"] = table["Model"]
    return table


def _other_registries():
    from numflow.keras import (activations, constraints, initializers, losses, metrics,
                               optimizers, regularizers)
    from numflow.keras.optimizers import schedules
    tables = [initializers._OBJECTS, regularizers._OBJECTS, constraints._OBJECTS,
              optimizers.ALL_OBJECTS_DICT, schedules._SCHEDULES, losses.ALL_OBJECTS_DICT,
              metrics.ALL_OBJECTS_DICT, activations._ALL]
    merged = {}
    for t in tables:
        merged.update(t)
    return merged


def _custom_lookup(name, custom_objects):
    if not isinstance(name, str):
        return None
    return generic_utils.get_registered_object(name, custom_objects)


def _check_name(name, what="object"):
    if not isinstance(name, str) or not name:
        raise ValueError(f"Invalid {what} name in config: {name!r}")
    base = name.split(">")[-1].split(".")[-1]
    if name in NON_MODELING_APIS or base in NON_MODELING_APIS:
        raise ValueError(f"Refusing to deserialize '{name}': it is a non-modeling API, "
                         "which a model config may not name.")


def _module_allowed(module):
    if module is None:
        return True
    if not isinstance(module, str):
        return False
    return any(module == root or module.startswith(root + ".")
               for root in _ALLOWED_MODULE_ROOTS)


# ---- normalization ---------------------------------------------------------------------------
class _Normalizer:
    """Walks a config once, validating names and rewriting Keras 3 forms into Keras 2 ones."""

    def __init__(self, custom_objects, safe_mode):
        self.custom_objects = dict(custom_objects or {})
        self.safe_mode = safe_mode
        self.layers = layer_classes()
        self.others = _other_registries()
        self.nodes = 0

    def _tick(self, depth):
        self.nodes += 1
        if self.nodes > MAX_CONFIG_NODES:
            raise ValueError(f"Model config too large (over {MAX_CONFIG_NODES} values).")
        if depth > MAX_CONFIG_DEPTH:
            raise ValueError(f"Model config nested deeper than {MAX_CONFIG_DEPTH} levels.")

    def value(self, obj, depth=0):
        self._tick(depth)
        if isinstance(obj, dict):
            if "class_name" in obj:
                return self.object(obj, depth)
            out = {}
            for k, v in obj.items():
                if not isinstance(k, str):
                    raise ValueError(f"Config keys must be strings, got {k!r}.")
                if k in ("shared_object_id", "__passive_serialization__"):
                    continue
                out[k] = self.value(v, depth + 1)
            return out
        if isinstance(obj, (list, tuple)):
            return [self.value(v, depth + 1) for v in obj]
        if obj is None or isinstance(obj, (str, bool, int, float)):
            return obj
        if isinstance(obj, bytes):
            return obj.decode("utf-8", "replace")
        raise ValueError(f"Unsupported value of type {type(obj).__name__} in model config.")

    def resolve(self, class_name, registered_name=None, module=None):
        """Returns (name to use, object) for a class reference, or raises ValueError."""
        _check_name(class_name, "class")
        for name in (registered_name, class_name):
            if isinstance(name, str) and name:
                _check_name(name)
                obj = _custom_lookup(name, self.custom_objects)
                if obj is not None:
                    return name, obj
        if not _module_allowed(module):
            raise ValueError(
                f"Could not deserialize class '{class_name}' from module {module!r}: numflow "
                "loads only Keras classes and the objects registered with "
                "`register_keras_serializable` or passed in `custom_objects`; it never "
                "imports modules named by a file.")
        plain = class_name[len("Custom>"):] if class_name.startswith("Custom>") else class_name
        for table in (self.layers, self.others):
            if plain in table:
                return plain, table[plain]
        if isinstance(registered_name, str) and registered_name in self.layers:
            return registered_name, self.layers[registered_name]
        where = f" (module {module!r})" if module else ""
        raise ValueError(
            f"Unknown object: '{class_name}'{where}. Please ensure you are using a "
            "`keras.utils.custom_object_scope` and that this object is included in the "
            "scope, or pass it in `custom_objects`.")

    def object(self, obj, depth):
        class_name = obj.get("class_name")
        config = obj.get("config")
        module = obj.get("module")
        registered = obj.get("registered_name")
        if not isinstance(class_name, str):
            raise ValueError(f"Invalid class_name in config: {class_name!r}")
        if class_name.startswith("__") and class_name.endswith("__"):
            return self.special(class_name, config, depth)
        if class_name == "function":
            return self.function(config, registered, module)
        if class_name in ("DTypePolicy", "Policy", "FloatDTypePolicy", "QuantizedDTypePolicy"):
            name = config.get("name") if isinstance(config, dict) else None
            if not isinstance(name, str):
                raise ValueError(f"Invalid dtype policy config: {config!r}")
            return name
        name, target = self.resolve(class_name, registered, module)
        if not inspect.isclass(target) and not hasattr(target, "from_config"):
            raise ValueError(f"'{class_name}' names {type(target).__name__} "
                             f"{getattr(target, '__name__', '')!r}, not a class; a config "
                             "entry with a 'class_name' must name a class.")
        if self.safe_mode and name == "Lambda" and target is self.layers.get("Lambda"):
            self.check_lambda(config)
        out = {"class_name": name}
        if config is not None and not isinstance(config, (dict, str)):
            raise ValueError(f"The config of '{class_name}' must be a dict, got "
                             f"{type(config).__name__}.")
        out["config"] = self.value(config, depth + 1) if config is not None else {}
        for key, val in obj.items():
            if key in ("class_name", "config", "module", "registered_name", "build_config",
                       "compile_config", "shared_object_id"):
                continue
            if key == "inbound_nodes":
                out[key] = self.inbound_nodes(val, depth + 1)
            else:
                out[key] = self.value(val, depth + 1)
        if isinstance(out["config"], dict) and inspect.isclass(target):
            out["config"] = _layer_config(target, out["config"])
        if isinstance(obj.get("build_config"), dict):
            out["build_config"] = self.value(obj["build_config"], depth + 1)
        return out

    def function(self, config, registered, module):
        name = config if isinstance(config, str) else None
        if isinstance(registered, str) and registered != "function":
            if _custom_lookup(registered, self.custom_objects) is not None:
                name = registered
        if name is None:
            raise ValueError(f"Invalid function reference in config: {config!r}")
        _check_name(name, "function")
        if _custom_lookup(name, self.custom_objects) is None and not _module_allowed(module):
            raise ValueError(f"Could not deserialize function '{name}' from module "
                             f"{module!r}: it is not a Keras function nor a custom object.")
        return name

    def special(self, class_name, config, depth):
        if class_name in ("__numpy__", "__tensor__"):
            if not isinstance(config, dict):
                raise ValueError(f"Invalid {class_name} config.")
            return array_from_config(config.get("value"), config.get("dtype"))
        if class_name == "__tuple__":
            value = config.get("value") if isinstance(config, dict) else None
            if not isinstance(value, list):
                raise ValueError("Invalid __tuple__ config.")
            return tuple(self.value(v, depth + 1) for v in value)
        if class_name == "__bytes__":
            value = config.get("value") if isinstance(config, dict) else None
            if not isinstance(value, str):
                raise ValueError("Invalid __bytes__ config.")
            return value.encode("utf-8")
        if class_name == "__slice__":
            if not isinstance(config, dict):
                raise ValueError("Invalid __slice__ config.")
            parts = [config.get(k) for k in ("start", "stop", "step")]
            if not all(p is None or isinstance(p, int) for p in parts):
                raise ValueError("Invalid __slice__ config.")
            return slice(*parts)
        if class_name == "__lambda__":
            if self.safe_mode:
                raise ValueError(_LAMBDA_MESSAGE.format(where="a Keras 3 `__lambda__`"))
            if not isinstance(config, dict):
                raise ValueError("Invalid __lambda__ config.")
            # Keras 2's [bytecode, defaults, closure] form, which Lambda.from_config loads
            return [self.value(config.get(k), depth + 1) for k in ("code", "defaults",
                                                                     "closure")]
        if class_name == "__ellipsis__":
            return Ellipsis
        raise ValueError(f"Unsupported special object '{class_name}' in model config.")

    def check_lambda(self, config):
        if not isinstance(config, dict):
            return
        for fn_key, type_key in (("function", "function_type"),
                                 ("output_shape", "output_shape_type")):
            fn = config.get(fn_key)
            if config.get(type_key) == "lambda" or (
                    isinstance(fn, dict) and fn.get("class_name") == "__lambda__") or (
                    fn_key == "function" and isinstance(fn, (list, tuple))):
                raise ValueError(_LAMBDA_MESSAGE.format(where=f"its `{fn_key}`"))

    def inbound_nodes(self, nodes, depth):
        if not isinstance(nodes, list):
            raise ValueError(f"inbound_nodes must be a list, got {type(nodes).__name__}.")
        out = []
        for node in nodes:
            if isinstance(node, dict):
                out.append(self.keras3_node(node, depth + 1))
            elif isinstance(node, list):
                out.append(self.value(node, depth + 1))
            else:
                raise ValueError(f"Invalid inbound node: {node!r}")
        return out

    def keras3_node(self, node, depth):
        """Converts ``{"args": [...], "kwargs": {...}}`` to a list of
        ``[layer_name, node_index, tensor_index, kwargs]``."""
        args = node.get("args", [])
        kwargs = node.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict) or not args:
            raise ValueError(f"Invalid Keras 3 inbound node: {node!r}")
        kwargs = {k: self.history_or_value(v, depth + 1) for k, v in kwargs.items()
                  if not (k in ("mask", "training") and v in (None, False))}
        if len(args) > 1:
            raise ValueError("Layers called with several positional tensor arguments cannot "
                             "be loaded by numflow.")
        first = args[0]
        tensors = first if isinstance(first, list) else [first]
        entries = []
        for t in tensors:
            history = _keras_history(t)
            if history is None:
                raise ValueError(f"Expected a __keras_tensor__ in inbound node, got {t!r}.")
            entries.append(list(history) + [kwargs])
        return entries

    def history_or_value(self, value, depth):
        history = _keras_history(value)
        if history is not None:
            return list(history)
        if isinstance(value, list):
            return [self.history_or_value(v, depth + 1) for v in value]
        return self.value(value, depth)


def _keras_history(t):
    if isinstance(t, dict) and t.get("class_name") == "__keras_tensor__":
        cfg = t.get("config")
        hist = cfg.get("keras_history") if isinstance(cfg, dict) else None
        if (isinstance(hist, list) and len(hist) == 3 and isinstance(hist[0], str)
                and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                        for i in hist[1:])):
            return hist
        raise ValueError(f"Invalid keras_history in __keras_tensor__: {t!r}")
    return None


def _accepted_keywords(cls):
    """The keyword names ``cls(**config)`` accepts, or None when it takes ``**kwargs``
    that are not funnelled into the base Layer's checked set."""
    names = set()
    for klass in inspect.getmro(cls):
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            return None
        has_var_kw = False
        for p in params:
            if p.kind == p.VAR_KEYWORD:
                has_var_kw = True
            elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                names.add(p.name)
        if not has_var_kw:
            return names
        if klass.__module__ == "numflow.keras.engine.base_layer" and klass.__name__ == "Layer":
            from numflow.keras.engine import base_layer
            return names | set(base_layer._ALLOWED_KWARGS)
    return None


# Keys Keras 3 (or newer Keras 2) write that numflow's layers do without when left at these
# values; other unknown keys are dropped only when None, so nothing meaningful is lost.
_DROPPABLE = {"optional": False, "sparse": False, "ragged": False, "synchronized": False,
              "renorm": False, "quantization_config": None, "lora_rank": None,
              "lora_alpha": None, "groups": 1, "seed": None, "input_axes": None,
              "output_axes": None}


def _layer_config(cls, config):
    """Renames Keras 3 keys of a numflow class's config to the Keras 2 names and drops keys
    its constructor does not take when they carry a default value (user classes get their
    config unchanged)."""
    if not isinstance(cls, type) or not cls.__module__.startswith("numflow.keras"):
        return config
    config = dict(config)
    if "batch_shape" in config and "batch_input_shape" not in config:
        config["batch_input_shape"] = config.pop("batch_shape")
    if "layers" in config:  # models keep their own keys
        return config
    accepted = _accepted_keywords(cls)
    if accepted is None:
        return config
    for key in list(config):
        if key in accepted:
            continue
        value = config[key]
        if value is None or _DROPPABLE.get(key, object()) == value:
            del config[key]
    return config


def array_from_config(value, dtype):
    """An ndarray from an embedded ``{"value", "dtype"}``; object/string dtypes refused."""
    try:
        dt = np.dtype(dtype if isinstance(dtype, str) else "float32")
    except TypeError:
        raise ValueError(f"Invalid array dtype {dtype!r} in config.") from None
    if dt.kind not in _NUMERIC_KINDS:
        raise ValueError(f"Arrays of dtype {dt} (object or string data) are not allowed in "
                         "model configs.")
    if not isinstance(value, (list, int, float, bool)):
        raise ValueError("Invalid array value in config.")
    try:
        return np.asarray(value, dtype=dt)
    except (TypeError, ValueError, OverflowError) as e:
        raise ValueError(f"Invalid array in config: {e}") from None


def normalize_config(config, custom_objects=None, safe_mode=True):
    """The Keras 2 form of a serialized object (``{"class_name", "config"}``), validated.

    Raises:
      ValueError: for an unknown or disallowed class, module or function, a code-bearing
        Lambda under ``safe_mode``, an object array, or a malformed config.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Improper config format: expected a dict with a 'class_name', "
                         f"got {type(config).__name__}.")
    try:
        return _Normalizer(custom_objects, safe_mode).value(config)
    except RecursionError:
        raise ValueError("Model config nested too deeply.") from None


# ---- building models ---------------------------------------------------------------------------
def _accepts_custom_objects(fn):
    try:
        return "custom_objects" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def instantiate(normalized, custom_objects=None):
    """Builds the object a normalized ``{"class_name", "config"}`` describes."""
    try:
        return _instantiate(normalized, custom_objects)
    except (KeyError, IndexError, AttributeError, LookupError) as e:
        raise ValueError(f"Invalid model config ({type(e).__name__}: {e}).") from e
    except RecursionError:
        raise ValueError("Model config nested too deeply.") from None


def _instantiate(normalized, custom_objects):
    normalizer = _Normalizer(custom_objects, True)
    _, cls = normalizer.resolve(normalized["class_name"])
    config = normalized.get("config", {})
    with generic_utils.CustomObjectScope(custom_objects or {}):
        if hasattr(cls, "from_config"):
            if _accepts_custom_objects(cls.from_config):
                obj = cls.from_config(config, custom_objects=custom_objects)
            else:
                obj = cls.from_config(config)
        elif inspect.isclass(cls):
            obj = cls(**config)
        else:
            raise ValueError(f"'{normalized['class_name']}' is not a class.")
    build_config = normalized.get("build_config")
    if isinstance(build_config, dict) and not getattr(obj, "built", True):
        shape = build_config.get("input_shape")
        if shape is not None and hasattr(obj, "build"):
            try:
                obj.build(shape)
            except (ValueError, TypeError):
                pass
    return obj


def model_from_config(config, custom_objects=None, safe_mode=True):
    """Instantiates a Keras model from its config (``tf.keras.models.model_from_config``).

    Args:
      config: a dict ``{"class_name": ..., "config": ...}`` as ``model.get_config()`` wraps
        it (Keras 2 or Keras 3 form).
      custom_objects: a dict mapping names to custom classes or functions.
      safe_mode: refuse Lambda layers carrying Python bytecode (default True).

    Returns:
      A model (uncompiled, with freshly initialized weights).

    Raises:
      ValueError: for unknown or disallowed classes or a malformed config.
    """
    if isinstance(config, list):
        raise TypeError("`model_from_config` expects a dictionary, not a list. Did you "
                        "mean `Sequential.from_config(config)`?")
    with safe_mode_scope(safe_mode):
        normalized = normalize_config(config, custom_objects, safe_mode)
        return instantiate(normalized, custom_objects)


def model_from_json(json_string, custom_objects=None, safe_mode=True):
    """Parses a JSON model configuration string and returns a model instance
    (``tf.keras.models.model_from_json(json_string, custom_objects=None)``).

    Raises:
      ValueError: for invalid JSON or an invalid or disallowed config.
    """
    return model_from_config(parse_json(json_string), custom_objects, safe_mode)


def parse_json(text):
    """``json.loads`` with every failure turned into ValueError."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "replace")
    if not isinstance(text, str):
        raise TypeError(f"Expected a JSON string, got {type(text).__name__}.")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON config nested too deeply.") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"Invalid JSON model config: {e}") from None


def _yaml():
    try:
        import yaml
    except ImportError:
        raise ImportError("Requires yaml module installed (`pip install pyyaml`).") from None
    return yaml


def model_from_yaml(yaml_string, custom_objects=None, safe_mode=True):
    """Parses a YAML model configuration and returns a model instance
    (``tf.keras.models.model_from_yaml``; removed from TF 2.6 because it used
    ``yaml.unsafe_load``; numflow keeps it with ``yaml.safe_load``, which builds only plain
    lists, dicts and scalars).

    Raises:
      ImportError: if PyYAML is not installed.
      ValueError: for invalid YAML or an invalid or disallowed config.
    """
    yaml = _yaml()
    try:
        config = yaml.safe_load(yaml_string)
    except RecursionError:
        raise ValueError("YAML config nested too deeply.") from None
    except yaml.YAMLError as e:
        raise ValueError(f"Invalid YAML model config: {e}") from None
    return model_from_config(config, custom_objects, safe_mode)


# The writing side lives in config_writer; imported last (it uses the names above).
from numflow.keras.saving.config_writer import (  # noqa: E402,F401
    jsonable as _jsonable, model_config, model_to_json, model_to_yaml, to_keras3)
