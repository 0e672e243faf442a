"""Reading and setting a model's state through Keras's public Model API, shared by every
file format: the weights of each layer, the optimizer's variables, compile settings."""
import warnings

import numpy as np


def layer_weights(layer):
    """Keras 2's ``_legacy_weights``: trainable weights first, then non-trainable."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def weight_name(variable):
    """The variable's full name (``'dense/kernel:0'``)."""
    return str(getattr(variable, "name", "") or "")


def base_name(name):
    """``'dense/kernel:0'`` -> ``'kernel'``."""
    name = name.split(":")[0]
    return name.rsplit("/", 1)[-1]


def value_of(variable):
    """The variable's value as a new ndarray."""
    value = variable.numpy() if hasattr(variable, "numpy") else variable
    return np.array(value, copy=True)


def _shape(variable):
    shape = variable.shape
    return tuple(shape.as_list()) if hasattr(shape, "as_list") else tuple(shape)


def _np_dtype(variable):
    dtype = variable.dtype
    dtype = getattr(dtype, "base_dtype", dtype)
    return np.dtype(getattr(dtype, "as_numpy_dtype", dtype))


def check_value(variable, value, where):
    """``value`` cast to the variable's dtype; ValueError if the shapes differ."""
    value = np.asarray(value)
    if value.dtype.kind not in "biuf":
        raise ValueError(f"{where}: weight of dtype {value.dtype} cannot be loaded.")
    if _shape(variable) != value.shape:
        raise ValueError(f"{where}: shape mismatch for weight {weight_name(variable)}: the "
                         f"model expects {_shape(variable)}, the file has {value.shape}.")
    return value.astype(_np_dtype(variable), copy=False)


def assign_all(pairs):
    """Assigns each ``(variable, checked value)``; values are checked before any is set."""
    for variable, value in pairs:
        variable.assign(value)


def order_by_names(variables, names, values):
    """Reorders ``values`` (saved under ``names``) to match ``variables`` when the saved
    base names are a permutation of the variables' base names; otherwise keeps the order."""
    want = [base_name(weight_name(v)) for v in variables]
    have = [base_name(n) for n in names]
    if len(want) == len(have) and want != have and sorted(want) == sorted(have) and \
            len(set(want)) == len(want):
        index = {n: i for i, n in enumerate(have)}
        return [values[index[n]] for n in want]
    return list(values)


# ---- optimizer -----------------------------------------------------------------------------------
def build_optimizer(model):
    """Creates the optimizer's slot variables for the model's trainable variables (as the
    first training step would), so saved optimizer state can be loaded into them."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    if not getattr(optimizer, "built", True) and hasattr(optimizer, "build"):
        optimizer.build(model.trainable_variables)
    return optimizer


def optimizer_variables(optimizer):
    """The optimizer's variables in Keras's saving order."""
    variables = getattr(optimizer, "variables", [])
    return list(variables() if callable(variables) else variables)


def set_optimizer_values(model, values, names=None, where="optimizer"):
    """Loads saved optimizer values (Keras 3 order: iterations, learning rate, slots; or
    Keras 2's order without the learning rate). Warns and leaves a fresh optimizer state
    on a mismatch, as Keras does."""
    optimizer = build_optimizer(model)
    if optimizer is None or not values:
        return False
    variables = optimizer_variables(optimizer)
    values = list(values)
    names = list(names) if names is not None else [None] * len(values)
    if len(values) == len(variables) - 1 and len(variables) > 1 and \
            "learning_rate" in weight_name(variables[1]) and \
            not any(n and "learning_rate" in n for n in names):
        values.insert(1, value_of(variables[1]))  # Keras 2 files have no LR variable
    if len(values) != len(variables):
        warnings.warn(f"Error in loading the saved optimizer state ({where}): the optimizer "
                      f"has {len(variables)} variables but {len(values)} were saved. As a "
                      "result, your model is starting with a freshly initialized optimizer.",
                      stacklevel=3)
        return False
    try:
        pairs = [(v, check_value(v, x, where)) for v, x in zip(variables, values)]
    except ValueError as e:
        warnings.warn(f"Error in loading the saved optimizer state: {e}. Your model is "
                      "starting with a freshly initialized optimizer.", stacklevel=3)
        return False
    assign_all(pairs)
    return True


# ---- compile settings ----------------------------------------------------------------------------
def _fn_name(fn, table):
    from numflow.keras.utils import generic_utils
    name = getattr(fn, "__name__", None)
    if name is not None and table.get(name) is fn:
        return name
    return generic_utils.get_registered_name(fn)


def _serialize_entry(obj, kind, keras3):
    from numflow.keras import losses, metrics
    table = losses.ALL_OBJECTS_DICT if kind == "loss" else metrics.ALL_OBJECTS_DICT
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, dict):
        return {str(k): _serialize_entry(v, kind, keras3) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_serialize_entry(v, kind, keras3) for v in obj]
    if hasattr(obj, "get_config"):
        from numflow.keras.utils import generic_utils
        from numflow.keras.saving.serialization import _jsonable
        out = {"class_name": generic_utils.get_registered_name(type(obj)),
               "config": _jsonable(obj.get_config())}
        if keras3:
            out = {"module": f"keras.{'losses' if kind == 'loss' else 'metrics'}", **out,
                   "registered_name": None}
        return out
    if callable(obj):
        if kind == "metric":
            from numflow.keras import metrics as m
            return _fn_name(obj, {**m._FUNCTIONS_DICT, **table})
        return _fn_name(obj, table)
    raise ValueError(f"Cannot serialize {kind} {obj!r}.")


def _serialize_optimizer(optimizer, keras3):
    from numflow.keras.utils import generic_utils
    from numflow.keras.saving.serialization import _jsonable
    config = {k: v for k, v in _jsonable(optimizer.get_config()).items() if v is not None}
    out = {"class_name": generic_utils.get_registered_name(type(optimizer)), "config": config}
    if keras3:
        out = {"module": "keras.optimizers", **out, "registered_name": None}
    return out


def compile_args(model):
    """The raw arguments ``compile`` was called with, or None if the model is not compiled."""
    config = getattr(model, "_compile_config", None)
    if not config or getattr(model, "optimizer", None) is None:
        return None
    return config


def training_config(model):
    """Keras 2's ``training_config`` (written into ``.h5`` files), or None."""
    args = compile_args(model)
    if args is None:
        return None
    return {"loss": _canonical_losses(_serialize_entry(args.get("loss"), "loss", False)),
            "metrics": _serialize_entry(args.get("metrics"), "metric", False),
            "weighted_metrics": _serialize_entry(args.get("weighted_metrics"), "metric",
                                                 False),
            "loss_weights": args.get("loss_weights"),
            "optimizer_config": _keras2_optimizer_config(model.optimizer)}


def _canonical_losses(loss):
    """Loss aliases (``"mse"``) as full function names (``"mean_squared_error"``): Keras 3's
    legacy-HDF5 loader cannot resolve the aliases."""
    from numflow.keras import losses
    if isinstance(loss, str):
        fn = losses.ALL_OBJECTS_DICT.get(loss)
        name = getattr(fn, "__name__", None)
        return name if name and not isinstance(fn, type) else loss
    if isinstance(loss, list):
        return [_canonical_losses(v) for v in loss]
    if isinstance(loss, dict) and "class_name" not in loss:
        return {k: _canonical_losses(v) for k, v in loss.items()}
    return loss


def _keras2_optimizer_config(optimizer):
    """The optimizer as tf.keras 2 wrote it (``Custom>Adam``, ``is_legacy_optimizer:
    false``), which both tf.keras 2 and Keras 3 read back."""
    config = _serialize_optimizer(optimizer, False)
    from numflow.keras import optimizers
    if config["class_name"] in optimizers.ALL_OBJECTS_DICT:
        # Keras 3 resolves "Custom>X" through the config's name, which must be X's name
        config["config"]["name"] = config["class_name"]
        config["class_name"] = "Custom>" + config["class_name"]
    config["config"]["is_legacy_optimizer"] = False
    return config


def keras2_optimizer_variables(optimizer):
    """The optimizer variables in Keras 2's order: iterations and slots, without the
    learning-rate variable (which Keras 2 keeps in the config)."""
    variables = optimizer_variables(optimizer)
    if len(variables) > 1 and "learning_rate" in weight_name(variables[1]):
        return variables[:1] + variables[2:]
    return variables


def keras3_compile_config(model):
    """Keras 3's ``compile_config`` (written into ``.keras`` config.json), or None."""
    args = compile_args(model)
    if args is None:
        return None
    return {"optimizer": _serialize_optimizer(model.optimizer, True),
            "loss": _serialize_entry(args.get("loss"), "loss", True),
            "loss_weights": args.get("loss_weights"),
            "metrics": _serialize_entry(args.get("metrics"), "metric", True),
            "weighted_metrics": _serialize_entry(args.get("weighted_metrics"), "metric", True),
            "run_eagerly": getattr(model, "_run_eagerly", None),
            "steps_per_execution": 1, "jit_compile": False}


def _metric_arg(entry):
    """A metric as ``compile`` takes it from a normalized saved entry."""
    if isinstance(entry, list):
        return [_metric_arg(e) for e in entry]
    if isinstance(entry, dict) and "class_name" in entry:
        config = entry.get("config") or {}
        if entry["class_name"] == "MeanMetricWrapper" and isinstance(config, dict):
            fn = config.get("fn")
            return fn if isinstance(fn, str) else config.get("name")
        from numflow.keras import metrics
        return metrics.deserialize(entry)
    if isinstance(entry, dict):
        return {k: _metric_arg(v) for k, v in entry.items()}
    return entry


def _loss_arg(entry):
    if isinstance(entry, list):
        return [_loss_arg(e) for e in entry]
    if isinstance(entry, dict) and "class_name" in entry:
        from numflow.keras import losses
        return losses.deserialize(entry)
    if isinstance(entry, dict):
        return {k: _loss_arg(v) for k, v in entry.items()}
    return entry


def _unwrap_keras2_metrics(metrics, model):
    """Keras 2 writes compiled metrics as one list per output; a single-output model's
    ``[[m1, m2]]`` becomes ``[m1, m2]``."""
    if isinstance(metrics, list) and len(metrics) == 1 and isinstance(metrics[0], list):
        outputs = getattr(model, "outputs", None) or [None]
        if len(outputs) == 1:
            return metrics[0]
    return metrics


def compile_from_config(model, config, custom_objects=None, keras3=False):
    """Calls ``model.compile`` with a saved ``training_config`` / ``compile_config``
    (normalized by :func:`numflow.keras.saving.serialization.normalize_config`'s rules).
    Failures warn and leave the model uncompiled, as Keras does."""
    from numflow.keras import optimizers
    from numflow.keras.saving import serialization
    if not isinstance(config, dict):
        return False
    try:
        norm = serialization._Normalizer(custom_objects, True)
        config = norm.value(config)
        opt_config = config.get("optimizer" if keras3 else "optimizer_config")
        if isinstance(opt_config, dict):
            optimizer = optimizers.deserialize(opt_config, custom_objects=custom_objects)
        elif isinstance(opt_config, str):
            optimizer = optimizers.get(opt_config)
        else:
            optimizer = "rmsprop"
        metrics = _unwrap_keras2_metrics(config.get("metrics"), model)
        weighted = _unwrap_keras2_metrics(config.get("weighted_metrics"), model)
        from numflow.keras.utils import generic_utils
        with generic_utils.CustomObjectScope(custom_objects or {}):
            model.compile(optimizer=optimizer, loss=_loss_arg(config.get("loss")),
                          metrics=_metric_arg(metrics), weighted_metrics=_metric_arg(weighted),
                          loss_weights=config.get("loss_weights"))
    except (ValueError, TypeError, KeyError) as e:
        warnings.warn(f"Could not compile the loaded model from its saved compile settings "
                      f"({e}); compile it manually.", stacklevel=3)
        return False
    return True
