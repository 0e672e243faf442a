"""Keras optimizers (``tf.keras.optimizers``): ``SGD``, ``Adam``, ``AdamW``, ``RMSprop``,
``Adagrad``, ``Adadelta``, ``Adamax``, ``Nadam``, ``Ftrl``, the ``Optimizer`` base class, the
``schedules`` module, and ``get`` / ``serialize`` / ``deserialize``."""
import inspect

from numflow.keras.optimizers import legacy, schedules
from numflow.keras.optimizers.adam import Adam, Adamax, AdamW, Nadam
from numflow.keras.optimizers.optimizer import Optimizer
from numflow.keras.optimizers.sgd import SGD, Adadelta, Adagrad, Ftrl, RMSprop

_CLASSES = [Optimizer, SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Ftrl]
ALL_OBJECTS_DICT = {c.__name__: c for c in _CLASSES}
ALL_OBJECTS_DICT.update({c.__name__.lower(): c for c in _CLASSES})


def serialize(optimizer):
    """``{"module", "class_name", "config", "registered_name"}`` for an optimizer
    (``tf.keras.optimizers.serialize(optimizer)``)."""
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """Builds an optimizer from ``serialize``'s output or a Keras 2 ``{"class_name",
    "config"}`` dict (``tf.keras.optimizers.deserialize(config, custom_objects=None)``);
    class names are matched case-insensitively among the built-in optimizers and
    ``custom_objects``."""
    custom_objects = custom_objects or {}
    class_name = config.get("class_name", "")
    if class_name.startswith("Custom>"):
        class_name = class_name[len("Custom>"):]
    cls = custom_objects.get(class_name) or ALL_OBJECTS_DICT.get(class_name) or \
        ALL_OBJECTS_DICT.get(class_name.lower())
    if cls is None:
        raise ValueError(f"Could not interpret optimizer identifier: {config!r}")
    inner = dict(config.get("config") or {})
    inner.pop("is_legacy_optimizer", None)
    inner.pop("jit_compile", None)
    return cls.from_config(inner, custom_objects=custom_objects)


def get(identifier):
    """Resolves ``identifier`` to an ``Optimizer`` (``tf.keras.optimizers.get``): an
    optimizer object is returned as is, a name such as ``"adam"`` or ``"RMSprop"`` gives a
    new optimizer with default arguments, a config dict is deserialized."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = ALL_OBJECTS_DICT.get(identifier) or ALL_OBJECTS_DICT.get(identifier.lower())
        if cls is None or cls is Optimizer:
            raise ValueError(f"Could not interpret optimizer identifier: {identifier}")
        return cls()
    if inspect.isclass(identifier) and issubclass(identifier, Optimizer):
        return identifier()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "Nadam", "Ftrl", "schedules", "legacy", "get", "serialize", "deserialize"]
