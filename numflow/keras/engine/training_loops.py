"""The loops behind ``Model.fit`` / ``evaluate`` / ``predict``: epochs, batches, callbacks,
validation and the conversion of step results to Python numbers."""
import numpy as np

import numflow as tf
from numflow.framework import nest
from numflow.keras.engine import data_adapter


def to_python(logs):
    """Step results (tensors) as Python floats, or NumPy arrays for non-scalars."""
    out = {}
    for k, v in logs.items():
        v = np.asarray(v.numpy() if hasattr(v, "numpy") else v)
        out[k] = float(v) if v.ndim == 0 else v
    return out


def format_logs(model, logs, return_dict):
    """``logs`` as ``evaluate`` returns them: a dict, a scalar, or a list in
    ``metrics_names`` order."""
    if return_dict:
        return dict(logs)
    values = [logs[name] for name in model.metrics_names if name in logs]
    extra = [v for k, v in logs.items() if k not in model.metrics_names]
    values += extra
    if len(values) == 1:
        return values[0]
    return values


def _callback_list(model, callbacks, verbose, epochs, steps):
    from numflow.keras import callbacks as callbacks_module
    if isinstance(callbacks, callbacks_module.CallbackList):
        return callbacks
    return callbacks_module.CallbackList(callbacks, add_history=True,
                                         add_progbar=verbose != 0, model=model,
                                         verbose=verbose, epochs=epochs, steps=steps)


def _verbose(verbose):
    if not tf.executing_eagerly():
        raise NotImplementedError("Model.fit/evaluate/predict with eager execution disabled "
                                  "(TF1 graph mode); call the model on placeholders and train "
                                  "it with a Session instead")
    return 1 if verbose == "auto" else verbose


def _should_eval(epoch, validation_freq):
    epoch = epoch + 1
    if isinstance(validation_freq, int):
        return epoch % validation_freq == 0
    return epoch in validation_freq


def fit(model, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
        shuffle, class_weight, sample_weight, initial_epoch, steps_per_epoch, validation_steps,
        validation_batch_size, validation_freq):
    """``Model.fit``'s loop; returns the History callback."""
    model._assert_compile_was_called()
    verbose = _verbose(verbose)
    if validation_split and validation_data is None:
        (x, y, sample_weight), validation_data = data_adapter.train_validation_split(
            (x, y, sample_weight), validation_split)
    val_x = val_y = val_sw = None
    if validation_data is not None:
        if hasattr(validation_data, "_numpy_batches") or not isinstance(
                validation_data, (tuple, list)):
            val_x = validation_data
        else:
            val_x, val_y, val_sw = data_adapter.unpack_x_y_sample_weight(validation_data)
    handler = data_adapter.DataHandler(x, y, sample_weight, batch_size, steps_per_epoch,
                                       initial_epoch, epochs, shuffle, class_weight)
    callbacks = _callback_list(model, callbacks, verbose, epochs, handler.inferred_steps)
    model.stop_training = False
    model._eval_data_handler = None
    train_function = model.make_train_function()
    model._initial_epoch = None
    callbacks.on_train_begin()
    # A callback (BackupAndRestore) may move the start epoch while training begins.
    if getattr(model, "_initial_epoch", None) is not None:
        handler._initial_epoch = model._initial_epoch
    logs = {}
    epoch_logs = {}
    for epoch, iterator in handler.enumerate_epochs():
        model.reset_metrics()
        callbacks.on_epoch_begin(epoch)
        logs = {}
        for step, batch in handler.steps(iterator):
            callbacks.on_train_batch_begin(step)
            logs = to_python(train_function(batch))
            callbacks.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        if handler._insufficient_data and not logs:
            break
        if callbacks.params is not None and callbacks.params.get("steps") is None:
            callbacks.params["steps"] = handler.inferred_steps
        epoch_logs = dict(logs)
        if val_x is not None and _should_eval(epoch, validation_freq):
            val_logs = evaluate(model, val_x, val_y, validation_batch_size or batch_size, 0,
                                val_sw, validation_steps, callbacks, True, True)
            epoch_logs.update({"val_" + name: val for name, val in val_logs.items()})
        callbacks.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    model._eval_data_handler = None
    finalize = getattr(model.optimizer, "finalize_variable_values", None)
    if finalize is not None:
        finalize(model.trainable_variables)
    callbacks.on_train_end(logs=epoch_logs)
    return model.history


def evaluate(model, x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict,
             use_cached=False):
    """``Model.evaluate``'s loop."""
    model._assert_compile_was_called()
    verbose = _verbose(verbose)
    if use_cached and model._eval_data_handler is not None:
        handler = model._eval_data_handler
    else:
        handler = data_adapter.DataHandler(x, y, sample_weight, batch_size, steps)
        if use_cached:
            model._eval_data_handler = handler
    callbacks = _callback_list(model, callbacks, verbose, 1, handler.inferred_steps)
    test_function = model.make_test_function()
    callbacks.on_test_begin()
    model.reset_metrics()
    logs = {}
    for _, iterator in _single_epoch(handler):
        for step, batch in handler.steps(iterator):
            callbacks.on_test_batch_begin(step)
            logs = to_python(test_function(batch))
            callbacks.on_test_batch_end(step, logs)
    callbacks.on_test_end(logs)
    return format_logs(model, logs, return_dict)


def _single_epoch(handler):
    if getattr(handler, "_persistent_eval", None) is None:
        if handler._adapter.should_recreate_iterator():
            return [(0, handler._adapter.epoch_iterator())]
        handler._persistent_eval = handler._adapter.epoch_iterator()
    return [(0, handler._persistent_eval)]


def predict(model, x, batch_size, verbose, steps, callbacks):
    """``Model.predict``'s loop: concatenates the per-batch outputs."""
    verbose = _verbose(verbose)
    handler = data_adapter.DataHandler(x, batch_size=batch_size, steps_per_epoch=steps)
    callbacks = _callback_list(model, callbacks, verbose, 1, handler.inferred_steps)
    predict_function = model.make_predict_function()
    callbacks.on_predict_begin()
    outputs = None
    for _, iterator in _single_epoch(handler):
        for step, batch in handler.steps(iterator):
            callbacks.on_predict_batch_begin(step)
            batch_out = predict_function(batch)
            flat = [np.asarray(t.numpy() if hasattr(t, "numpy") else t)
                    for t in nest.flatten(batch_out)]
            if outputs is None:
                structure = batch_out
                outputs = [[a] for a in flat]
            else:
                for acc, a in zip(outputs, flat):
                    acc.append(a)
            callbacks.on_predict_batch_end(step, {"outputs": batch_out})
    callbacks.on_predict_end()
    if outputs is None:
        raise ValueError("Unexpected result of `predict_function` (Empty batch_outputs). "
                         "Please use `Model.compile(..., run_eagerly=True)`, or "
                         "`tf.config.run_functions_eagerly(True)` for more information of "
                         "where went wrong, or file a issue/bug to `tf.keras`.")
    result = [np.concatenate(acc, axis=0) if acc[0].ndim else np.asarray(acc)
              for acc in outputs]
    return nest.pack_sequence_as(structure, result)
