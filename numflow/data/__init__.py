"""``tf.data``: input pipelines (``import numflow as tf; tf.data.Dataset``).

``tf.compat.v1.data`` is this same module: it also holds the TF1 iterator functions
(``make_one_shot_iterator``, ``make_initializable_iterator``, ``get_output_types``...).

The names load on first use: ``import numflow`` imports only ``numflow.data.io_api``
(the ``tf.io`` / ``tf.train.Example`` / ``tf.sparse`` exports), not the pipeline modules.
"""
import importlib

_NAMES = {
    "Dataset": "dataset", "DatasetV1": "dataset", "DatasetV2": "dataset",
    "AUTOTUNE": "dataset", "INFINITE_CARDINALITY": "dataset",
    "UNKNOWN_CARDINALITY": "dataset", "NumpyIterator": "dataset",
    "Iterator": "iterators", "get_output_classes": "iterators",
    "get_output_shapes": "iterators", "get_output_types": "iterators",
    "make_initializable_iterator": "iterators", "make_one_shot_iterator": "iterators",
    "Options": "options", "ThreadingOptions": "options",
    "FixedLengthRecordDataset": "readers", "TFRecordDataset": "readers",
    "TextLineDataset": "readers", "DatasetSpec": "structure",
}
_ALIASES = {"DatasetV1": "Dataset", "DatasetV2": "Dataset", "INFINITE_CARDINALITY": "INFINITE",
            "UNKNOWN_CARDINALITY": "UNKNOWN", "NumpyIterator": "_NumpyIterator"}
_SUBMODULES = ("experimental", "io_api", "sparse")

__all__ = sorted(_NAMES) + ["experimental"]


def __getattr__(name):
    if name in _NAMES:
        module = importlib.import_module(f"numflow.data.{_NAMES[name]}")
        value = getattr(module, _ALIASES.get(name, name))
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"numflow.data.{name}")
    raise AttributeError(f"module 'numflow.data' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_NAMES) | set(_SUBMODULES))
