"""Keras models (``tf.keras.models``): ``Model``, ``Sequential``, cloning, and building
models from configs (JSON/YAML); ``load_model``/``save_model`` come from
``numflow.keras.saving``."""
from numflow.keras.engine.functional import Functional  # noqa: F401
from numflow.keras.engine.sequential import Sequential  # noqa: F401
from numflow.keras.engine.training import Model  # noqa: F401


def model_from_config(config, custom_objects=None):
    """A model (fresh weights) from a ``{'class_name', 'config'}`` dict."""
    if isinstance(config, list):
        raise TypeError("`model_from_config` expects a dictionary, not a list. Received: "
                        f"config={config}. Did you meant to use `Sequential.from_config(config)`?")
    from numflow.keras.layers import serialization
    return serialization.deserialize(config, custom_objects=custom_objects)


def model_from_json(json_string, custom_objects=None):
    """A model (fresh weights) from ``model.to_json()``'s output, loaded safely."""
    from numflow.keras import saving
    return saving.model_from_json(json_string, custom_objects=custom_objects)


def model_from_yaml(yaml_string, custom_objects=None):
    """A model (fresh weights) from ``model.to_yaml()``'s output (safe YAML loading)."""
    from numflow.keras import saving
    return saving.model_from_yaml(yaml_string, custom_objects=custom_objects)


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the same architecture and new, freshly initialized weights
    (``tf.keras.models.clone_model``); ``clone_function(layer)`` makes each new layer
    (default: ``layer.__class__.from_config(layer.get_config())``)."""
    from numflow.keras.engine import functional_config
    if clone_function is None:
        def clone_function(layer):
            return layer.__class__.from_config(layer.get_config())
    if isinstance(model, Sequential):
        layers = [clone_function(l) for l in model._sequential_layers]
        if input_tensors is not None:
            from numflow.keras.engine.input_layer import InputLayer
            layers = [l for l in layers if not isinstance(l, InputLayer)]
            new = Sequential(name=model.name)
            new.add(input_tensors if not isinstance(input_tensors, list) else input_tensors[0])
            for l in layers:
                new.add(l)
            return new
        return Sequential(layers, name=model.name)
    if not isinstance(model, Functional):
        raise ValueError(f"Expected `model` argument to be a functional `Model` instance, but "
                         f"got a subclassed model instead: {model}")
    return functional_config.clone_functional(model, clone_function, input_tensors)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True, **kwargs):  # noqa: A002
    """Loads a model saved by ``model.save`` (``tf.keras.models.load_model``)."""
    saving = _saving("load_model")
    return saving.load_model(filepath, custom_objects=custom_objects, compile=compile,
                             safe_mode=safe_mode, **kwargs)


def save_model(model, filepath, overwrite=True, include_optimizer=True, save_format=None,
               **kwargs):
    """Saves ``model`` (``tf.keras.models.save_model``)."""
    saving = _saving("save_model")
    return saving.save_model(model, filepath, overwrite=overwrite,
                             include_optimizer=include_optimizer, save_format=save_format,
                             **kwargs)


def _saving(what):
    try:
        from numflow.keras import saving
    except ImportError:
        raise NotImplementedError(f"{what} (numflow.keras.saving is not available)") from None
    if not hasattr(saving, what):
        raise NotImplementedError(f"{what} (numflow.keras.saving has no such function)")
    return saving
