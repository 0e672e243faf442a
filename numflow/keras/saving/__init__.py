"""Saving and loading Keras models (``tf.keras.saving`` / ``keras.saving``).

Formats: Keras 3 ``.keras`` zips and ``.weights.h5`` files, Keras 2 ``.h5`` models and
weights, TF-checkpoint weights, JSON/YAML configs. Loading never runs code from a file: see
:mod:`numflow.keras.saving.serialization`. h5py and PyYAML are imported only when a file
of theirs is read or written.
"""
from numflow.keras.saving.model_io import (LOAD_ERRORS, clone_model, load_model,
                                           load_weights, save_model, save_weights)
from numflow.keras.saving.serialization import (in_safe_mode, model_from_config,
                                                model_from_json, model_from_yaml,
                                                model_to_json, model_to_yaml,
                                                safe_mode_scope)
from numflow.keras.utils.generic_utils import (CustomObjectScope, custom_object_scope,
                                               get_custom_objects, get_registered_name,
                                               get_registered_object,
                                               register_keras_serializable)


def serialize_keras_object(obj):
    """``{"module", "class_name", "config", "registered_name"}`` for an object with
    ``get_config`` (``keras.saving.serialize_keras_object``, Keras 3's form); the registered
    name for a function; None for None."""
    from numflow.keras.utils import generic_utils
    serialized = generic_utils.serialize_keras_object(obj)
    if isinstance(serialized, dict):
        return serialization.to_keras3(serialization._jsonable(serialized))
    return serialized


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """Rebuilds an object from ``serialize_keras_object``'s output or a Keras 2
    ``{"class_name", "config"}`` dict (``keras.saving.deserialize_keras_object``). Classes are
    looked up only among numflow's Keras classes, registered objects and
    ``custom_objects``; modules named in the config are never imported.

    Raises:
      ValueError: for an unknown or disallowed class or module.
    """
    from numflow.keras.utils import generic_utils
    if config is None or not isinstance(config, dict):
        return generic_utils.deserialize_keras_object(
            config, module_objects=kwargs.get("module_objects"),
            custom_objects=custom_objects,
            printable_module_name=kwargs.get("printable_module_name", "object"))
    with safe_mode_scope(safe_mode):
        normalized = serialization.normalize_config(config, custom_objects, safe_mode)
        if not isinstance(normalized, dict):   # a function reference or special value
            return normalized
        return serialization.instantiate(normalized, custom_objects)


from numflow.keras.saving import serialization  # noqa: E402

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "clone_model",
           "model_from_config", "model_from_json", "model_from_yaml", "model_to_json",
           "model_to_yaml", "serialize_keras_object", "deserialize_keras_object",
           "register_keras_serializable", "get_custom_objects", "get_registered_name",
           "get_registered_object", "custom_object_scope", "CustomObjectScope",
           "in_safe_mode", "safe_mode_scope", "LOAD_ERRORS"]
