"""The entry points behind ``model.save`` / ``keras.models.load_model`` /
``model.save_weights`` / ``model.load_weights``: pick the format from the path (saving) or
from the file's first bytes (loading) and hand over to the format's module.

=====================  ==============================  ===================================
path                   ``save`` / ``load_model``       ``save_weights`` / ``load_weights``
=====================  ==============================  ===================================
``*.keras``            Keras 3 zip (saving_lib)        Keras 2 HDF5 weights (hdf5_format)
``*.h5``, ``*.hdf5``   Keras 2 HDF5 model              Keras 2 HDF5 weights
``*.weights.h5``       (refused: weights only)         Keras 3 HDF5 weights (saving_lib)
anything else          SavedModel: NotImplementedError  TF checkpoint (tf_format)
=====================  ==============================  ===================================

Every file is written under a temporary name and renamed into place, so an interrupted
save leaves the previous file intact.
"""
import os

from numflow.framework import errors
from numflow.keras.saving import (h5_utils, hdf5_format, saving_lib, serialization,
                                  tf_format)

_H5_SUFFIXES = (".h5", ".hdf5")
# The exceptions the loaders document; anything else from a bad file is a bug.
LOAD_ERRORS = (ValueError, TypeError, OSError, errors.OpError, NotImplementedError)


def _suffix_format(filepath):
    lower = filepath.lower()
    if lower.endswith(".weights.h5"):
        return "weights.h5"
    if lower.endswith(".keras"):
        return "keras"
    if lower.endswith(_H5_SUFFIXES):
        return "h5"
    return None


def ask_to_proceed_with_overwrite(filepath):
    """Asks on stdin whether to overwrite ``filepath`` (Keras's prompt); True for yes."""
    overwrite = input(f"[WARNING] {filepath} already exists - overwrite? [y/n]").strip().lower()
    while overwrite not in ("y", "n"):
        overwrite = input('Enter "y" (overwrite) or "n" (cancel).').strip().lower()
    if overwrite == "n":
        return False
    print("[TIP] Next time specify overwrite=True!")
    return True


def _path(filepath):
    if hasattr(filepath, "__fspath__") or isinstance(filepath, str):
        return os.fspath(filepath)
    raise TypeError(f"Expected a file path (str or os.PathLike), got "
                    f"{type(filepath).__name__}.")


def _is_h5py_object(x):
    try:
        import h5py
    except ImportError:
        return False
    return isinstance(x, (h5py.File, h5py.Group))


def save_model(model, filepath, overwrite=True, include_optimizer=True, save_format=None,
               signatures=None, options=None, save_traces=True):
    """Saves a model's architecture, weights, compile settings and optimizer state
    (``tf.keras.models.save_model`` / ``model.save``).

    Args:
      model: the Keras model.
      filepath: ``'model.keras'`` (Keras 3 zip) or ``'model.h5'`` (Keras 2 HDF5), or an open
        ``h5py.File``.
      overwrite: if False and the file exists, ask on stdin before overwriting.
      include_optimizer: also save the compile settings and the optimizer's state.
      save_format: ``'keras'``, ``'h5'``, or ``'tf'`` (TensorFlow's SavedModel, which numflow
        cannot write); default from the file name.
      signatures, options, save_traces: SavedModel options, ignored.

    Raises:
      NotImplementedError: for the SavedModel format (a path without a ``.keras``/``.h5``
        suffix, or ``save_format='tf'``).
      ValueError: for a ``.weights.h5`` path (use ``save_weights``).
    """
    if _is_h5py_object(filepath):
        hdf5_format.save_model_to_hdf5(model, filepath, include_optimizer)
        return
    filepath = _path(filepath)
    fmt = save_format or _suffix_format(filepath)
    if fmt in ("h5", "hdf5") and filepath.lower().endswith(".weights.h5"):
        fmt = "weights.h5"
    if fmt == "weights.h5":
        raise ValueError(f"The filename must end in `.keras` or `.h5` to save a whole model, "
                         f"got {filepath!r}; use `model.save_weights()` for `.weights.h5`.")
    if fmt not in ("h5", "hdf5", "keras"):
        raise NotImplementedError(
            f"Saving a model in TensorFlow's SavedModel format ({filepath!r}); numflow saves "
            "whole models as '.keras' (Keras 3) or '.h5' (Keras 2) files.")
    if not overwrite and os.path.exists(filepath) and \
            not ask_to_proceed_with_overwrite(filepath):
        return
    if fmt == "keras":
        saving_lib.save_model(model, filepath, include_optimizer)
    else:
        with h5_utils.atomic_h5_file(filepath) as f:
            hdf5_format.save_model_to_hdf5(model, f, include_optimizer)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True, options=None):  # noqa: A002
    """Loads a model saved by ``model.save`` (by numflow, tf.keras or Keras 3)
    (``tf.keras.models.load_model``). The format is sniffed from the file's first bytes.

    Args:
      filepath: a ``.keras`` or ``.h5`` file (or an open ``h5py.File``).
      custom_objects: a dict mapping names in the config to custom classes or functions.
      compile: whether to compile the model with its saved settings (and restore the
        optimizer state).
      safe_mode: refuse Lambda layers carrying Python bytecode (default True); only this
        argument can change it, never the file.

    Returns:
      The model.

    Raises:
      OSError: if the file does not exist or cannot be opened.
      ValueError: for a file that is not a Keras model or holds an invalid or disallowed
        config (unknown classes, non-Keras modules, Lambda bytecode under safe_mode,
        object arrays); ``numflow.errors.DataLossError`` for corrupted weight data.
      NotImplementedError: for a TensorFlow SavedModel directory.
    """
    if _is_h5py_object(filepath):
        raise NotImplementedError("load_model from an open h5py.File; pass its path instead.")
    filepath = _path(filepath)
    if os.path.isdir(filepath):
        if os.path.exists(os.path.join(filepath, "saved_model.pb")):
            raise NotImplementedError(f"Loading the TensorFlow SavedModel {filepath!r}; "
                                      "save it as '.keras' or '.h5' instead.")
        raise OSError(f"No file or directory found at {filepath} (it is a directory).")
    if not os.path.exists(filepath):
        raise OSError(f"No file or directory found at {filepath}")
    kind = h5_utils.sniff(filepath)
    if kind == "zip":
        return saving_lib.load_model(filepath, custom_objects, compile, safe_mode)
    if kind == "h5":
        with h5_utils.H5Reader(filepath) as reader:
            if reader.attr(reader.root, "model_config") is None:
                raise ValueError(f"No model config found in the file at {filepath}: it "
                                 "holds weights only; build the model and call "
                                 "`load_weights` instead.")
            return hdf5_format.load_model_from_hdf5(reader, custom_objects, compile,
                                                    safe_mode)
    raise ValueError(f"File format not supported: {filepath!r} is neither a .keras zip "
                     "archive nor an HDF5 file.")


def save_weights(model, filepath, overwrite=True, save_format=None, options=None):
    """Saves the model's weights (``model.save_weights``): Keras 2 HDF5 for ``.h5`` /
    ``.hdf5`` / ``.keras``, Keras 3 HDF5 for ``.weights.h5``, otherwise a TF checkpoint
    (``prefix.index``, ``prefix.data-00000-of-00001`` and a ``checkpoint`` file)."""
    if _is_h5py_object(filepath):
        hdf5_format.save_weights_to_hdf5_group(filepath, model)
        return
    filepath = _path(filepath)
    fmt = _suffix_format(filepath)
    if save_format is not None:
        save_format = str(save_format).lower()
        if save_format in ("tf", "tensorflow"):
            fmt = "tf"
        elif save_format in ("h5", "hdf5", "keras") and fmt != "weights.h5":
            fmt = "h5"
        elif fmt != "weights.h5":
            raise ValueError(f"Unknown format {save_format!r}: use 'tf' or 'h5'.")
    check = filepath if fmt in ("h5", "keras", "weights.h5") else filepath + ".index"
    if not overwrite and os.path.exists(check) and not ask_to_proceed_with_overwrite(check):
        return
    if fmt == "weights.h5":
        saving_lib.save_weights(model, filepath)
    elif fmt in ("h5", "keras"):
        with h5_utils.atomic_h5_file(filepath) as f:
            hdf5_format.save_weights_to_hdf5_group(f, model)
    else:
        tf_format.save_weights(model, filepath)


def load_weights(model, filepath, by_name=False, skip_mismatch=False, options=None):
    """Loads weights saved by ``save_weights`` or ``save`` (numflow's or TensorFlow's) into
    ``model`` (``model.load_weights``); the format is sniffed from the file.

    Args:
      filepath: an HDF5 file (Keras 2 or Keras 3 layout), a ``.keras`` archive, or a TF
        checkpoint prefix (or a directory with a ``checkpoint`` file).
      by_name: (Keras 2 HDF5 only) load into the layers of the same name.
      skip_mismatch: warn and skip layers whose weight count or shapes differ.

    Raises:
      ValueError: for mismatched weights, ``by_name`` with a TF checkpoint, or a file that
        holds no weights; OSError / ``NotFoundError`` if nothing is found at ``filepath``.
    """
    if _is_h5py_object(filepath):
        raise NotImplementedError("load_weights from an open h5py.File; pass its path.")
    filepath = _path(filepath)
    if os.path.isdir(filepath):
        prefix = tf_format.latest_in_directory(filepath)
        if prefix is None:
            raise OSError(f"No checkpoint found in directory {filepath}.")
        filepath = prefix
    kind = h5_utils.sniff(filepath)
    if kind is None and os.path.isfile(filepath):
        raise ValueError(f"{filepath} is not a weights file (neither HDF5, a .keras "
                         "archive nor a TF checkpoint).")
    if kind == "tf" or (kind is None and not os.path.exists(filepath)):
        if by_name:
            raise ValueError("Weights may only be loaded based on topology into Models when "
                             "loading TensorFlow-formatted weights (got by_name=True to "
                             "load_weights).")
        tf_format.load_weights(model, filepath, skip_mismatch)
        return
    if kind == "zip":
        saving_lib.load_weights_from_archive(model, filepath, skip_mismatch)
        return
    with h5_utils.H5Reader(filepath) as reader:
        root = reader.root
        if hdf5_format.is_keras2_weights(reader, root) or \
                reader.get(root, "model_weights") is not None:
            hdf5_format.load_weights(model, reader, by_name, skip_mismatch)
        elif reader.get(root, "layers") is not None or reader.get(root, "vars") is not None:
            if by_name:
                raise ValueError("Invalid keyword arguments: by_name=True is only supported "
                                 "for Keras 2 (legacy) HDF5 weights files.")
            saving_lib.load_weights(model, reader, skip_mismatch)
        else:
            raise ValueError(f"{filepath} holds no Keras weights (no `layer_names` "
                             "attribute, `model_weights` or `layers` group).")


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the same architecture and freshly initialized weights
    (``tf.keras.models.clone_model``).

    Args:
      model: a Sequential or functional model.
      input_tensors: not supported (NotImplementedError if given).
      clone_function: for Sequential models, called on each layer to make its copy
        (default: ``layer.__class__.from_config(layer.get_config())``).

    Raises:
      ValueError: for a subclassed model.
    """
    if input_tensors is not None:
        raise NotImplementedError("clone_model(input_tensors=...)")
    kinds = {k.__name__ for k in type(model).__mro__}
    if not kinds & {"Sequential", "Functional"}:
        raise ValueError(f"Expected `model` argument to be a functional `Model` instance or "
                         f"a `Sequential` instance, got a subclassed model: {model!r}")
    if clone_function is not None:
        if "Sequential" not in kinds:
            raise NotImplementedError("clone_model(clone_function=...) for functional models")
        layers = [clone_function(layer) for layer in model.layers]
        return type(model)(layers, name=model.name)
    custom = {type(layer).__name__: type(layer) for layer in model._flatten_layers()}
    config = serialization.model_config(model)
    with serialization.safe_mode_scope(False):
        normalized = serialization.normalize_config(config, custom, safe_mode=False)
        return serialization.instantiate(normalized, custom)
