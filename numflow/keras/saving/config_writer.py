"""Writing model configs: ``model.to_json()`` / ``to_yaml()`` payloads, JSON-ready values,
and the Keras 3 form (``module`` / ``registered_name``) used inside ``.keras`` archives."""
import json

import numpy as np

from numflow.keras.saving import serialization
from numflow.keras.utils import generic_utils

_NUMERIC_KINDS = "biufc"


def jsonable(obj):
    """``obj`` converted to plain JSON types (tuples to lists, NumPy values to Python)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"Cannot serialize an array of dtype {obj.dtype}.")
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if hasattr(obj, "as_list") and hasattr(obj, "rank"):  # TensorShape
        return None if obj.rank is None else obj.as_list()
    if hasattr(obj, "as_datatype_enum"):  # DType
        return obj.name
    if isinstance(obj, bytes):
        return obj.decode("utf-8")
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if hasattr(obj, "get_config"):
        return jsonable(generic_utils.serialize_keras_object(obj))
    if callable(obj) and hasattr(obj, "__name__"):
        return generic_utils.get_registered_name(obj)
    raise TypeError(f"Not JSON Serializable: {obj!r}")


def model_config(model):
    """``{"class_name", "config"}`` for ``model`` with JSON-ready values."""
    config = model.get_config()
    class_name = generic_utils.get_registered_name(type(model))
    if class_name == "Model" and isinstance(config, dict) and "layers" in config:
        class_name = "Functional"
    return {"class_name": class_name, "config": jsonable(config)}


def model_to_json(model, **kwargs):
    """``model.to_json(**kwargs)``: the config plus ``keras_version`` and ``backend`` as JSON;
    ``kwargs`` go to ``json.dumps``."""
    payload = model_config(model)
    payload["keras_version"] = serialization.KERAS_VERSION
    payload["backend"] = serialization.BACKEND
    return json.dumps(payload, **kwargs)


def model_to_yaml(model, **kwargs):
    """``model.to_yaml(**kwargs)``: the same payload as ``to_json`` as YAML (no anchors
    or aliases, readable by ``yaml.safe_load``); ``kwargs`` go to ``yaml.dump``."""
    yaml = serialization._yaml()

    class _Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data):
            return True
    payload = json.loads(model_to_json(model))
    kwargs.setdefault("default_flow_style", False)
    return yaml.dump(payload, Dumper=_Dumper, **kwargs)


def to_keras3(config):
    """Adds Keras 3's ``module`` / ``registered_name`` to a Keras 2 form config (as written in
    ``.keras`` archives), so Keras 3 can locate each class."""
    from numflow.keras import constraints, initializers, optimizers, regularizers
    from numflow.keras.optimizers import schedules
    tables = (("keras.initializers", initializers._OBJECTS),
              ("keras.regularizers", regularizers._OBJECTS),
              ("keras.constraints", constraints._OBJECTS),
              ("keras.optimizers.schedules", schedules._SCHEDULES),
              ("keras.optimizers", optimizers.ALL_OBJECTS_DICT))
    layers = serialization.layer_classes()

    def walk(obj):
        if isinstance(obj, list):
            return [walk(v) for v in obj]
        if not isinstance(obj, dict):
            return obj
        out = {k: walk(v) for k, v in obj.items()}
        name = obj.get("class_name")
        if isinstance(name, str) and "config" in obj and "module" not in obj:
            module, registered = None, None
            if name in ("Functional", "Model"):
                out["class_name"], module, registered = ("Functional",
                                                         "keras.src.models.functional",
                                                         "Functional")
            elif name == "Sequential":
                module = "keras"
            elif name in layers and layers[name].__module__.startswith("numflow.keras"):
                module = "keras.layers"
            else:
                for mod, table in tables:
                    if name in table:
                        module = mod
                        break
                if module is None and ">" in name:
                    registered = name
                    out["class_name"] = name.split(">")[-1]
            out = {"module": module, **out, "registered_name": registered}
        return out
    return walk(config)
