"""Keras on numflow (``tf.keras``): layers, models (Sequential, functional, subclassed),
training (compile/fit/evaluate/predict), losses, metrics, optimizers, callbacks,
initializers, regularizers, constraints, activations, datasets and utilities."""
import importlib as _importlib

from numflow.keras import (  # noqa: F401
    activations, backend, constraints, datasets, initializers, layers, models, regularizers,
    utils)
from numflow.keras.engine.input_layer import Input  # noqa: F401
from numflow.keras.engine.sequential import Sequential  # noqa: F401
from numflow.keras.engine.training import Model  # noqa: F401

__version__ = "2.21.0"

# Loaded on first use: they are larger, or written by other parts of numflow.
_LAZY = ("losses", "metrics", "optimizers", "callbacks", "applications", "estimator",
         "preprocessing", "saving", "mixed_precision", "wrappers")


def __getattr__(name):
    if name in _LAZY:
        try:
            return _importlib.import_module(f"numflow.keras.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"numflow.keras.{name}":
                raise
            raise AttributeError(f"module 'numflow.keras' has no attribute {name!r} "
                                 f"(numflow.keras.{name} is not available)") from None
    raise AttributeError(f"module 'numflow.keras' has no attribute {name!r}")
