"""Layer (de)serialization: ``{'class_name', 'config'}`` dicts to layers and back
(``tf.keras.layers.serialize`` / ``deserialize``).

Class names resolve only among numflow's Keras layer and model classes, the classes
registered with ``register_keras_serializable``, the active ``custom_object_scope`` and
``custom_objects``; nothing is imported or evaluated by name.
"""
import inspect
import threading

from numflow.keras.engine import base_layer
from numflow.keras.utils import generic_utils

_safe_mode = threading.local()


class SafeModeScope:
    """``with SafeModeScope(False):`` allows deserializing Lambda layers that hold Python
    bytecode (only for files you trust); the default (True) refuses them."""

    def __init__(self, safe_mode=True):
        self.safe_mode = safe_mode

    def __enter__(self):
        self._previous = getattr(_safe_mode, "value", None)
        _safe_mode.value = self.safe_mode
        return self

    def __exit__(self, *exc):
        _safe_mode.value = self._previous
        return False


def in_safe_mode():
    """True unless inside ``SafeModeScope(False)``."""
    value = getattr(_safe_mode, "value", None)
    return True if value is None else bool(value)


def _module_objects():
    objects = dict(base_layer.LAYER_CLASSES)
    from numflow.keras.engine.functional import Functional
    from numflow.keras.engine.training import Model
    objects["Functional"] = Functional
    objects["Model"] = Model
    return objects


def serialize(layer):
    """``{'class_name': ..., 'config': layer.get_config()}``."""
    name_fn = getattr(layer, "_class_name_for_config", None)
    class_name = name_fn() if name_fn is not None else type(layer).__name__
    registered = generic_utils.get_registered_name(type(layer))
    if ">" in registered:
        class_name = registered
    return {"class_name": class_name, "config": layer.get_config()}


def deserialize(config, custom_objects=None):
    """The layer (or model) described by ``config``.

    Raises:
      ValueError: for an unknown class name (with near matches), naming
        ``custom_objects`` as the way to supply custom classes.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Improper config format for a layer: {config!r}")
    class_name = config["class_name"]
    objects = _module_objects()
    cls = generic_utils.get_registered_object(class_name, custom_objects, objects)
    if cls is None and config.get("registered_name"):
        cls = generic_utils.get_registered_object(config["registered_name"], custom_objects,
                                                  objects)
    if cls is None:
        raise ValueError(generic_utils._unknown("layer", class_name, custom_objects, objects))
    layer_config = config.get("config", {})
    if class_name == "Model" or (cls.__name__ == "Model" and "layers" in layer_config):
        from numflow.keras.engine.functional import Functional
        cls = Functional
    from_config = cls.from_config
    try:
        params = inspect.signature(from_config).parameters
    except (TypeError, ValueError):
        params = {}
    if "custom_objects" in params:
        return from_config(layer_config, custom_objects=custom_objects)
    with generic_utils.CustomObjectScope(custom_objects or {}):
        return from_config(layer_config)


def get(identifier):
    """A layer from a config dict, or ``identifier`` itself if it is a layer."""
    if isinstance(identifier, base_layer.Layer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret layer identifier: {identifier!r}")
