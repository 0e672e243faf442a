"""Keras layers (``tf.keras.layers``).

The layer modules listed in ``_MODULES`` are imported and their public classes exported
here; a module added later (convolution, pooling, recurrent, normalization, merge...) is
one more entry in that list.
"""
import importlib as _importlib

from numflow.keras.engine.base_layer import Layer  # noqa: F401
from numflow.keras.engine.input_layer import Input, InputLayer  # noqa: F401
from numflow.keras.engine.input_spec import InputSpec  # noqa: F401
from numflow.keras.engine.op_layer import SlicingOpLambda, TFOpLambda  # noqa: F401
from numflow.keras.layers.core import (  # noqa: F401
    Activation, Dense, Dropout, Embedding, Flatten, Identity, Lambda, Masking, Permute,
    RepeatVector, Reshape)
from numflow.keras.layers.serialization import deserialize, get, serialize  # noqa: F401

# Layer modules whose public names (classes and lower-case functional helpers such as
# `concatenate`) are re-exported here.
_MODULES = (
    "numflow.keras.layers.core",
    "numflow.keras.layers.convolutional",
    "numflow.keras.layers.convolutional_depthwise",
    "numflow.keras.layers.pooling",
    "numflow.keras.layers.reshaping",
    "numflow.keras.layers.activation_layers",
    "numflow.keras.layers.merging",
    "numflow.keras.layers.normalization",
    "numflow.keras.layers.noise",
    "numflow.keras.layers.recurrent_cells",
    "numflow.keras.layers.recurrent",
    "numflow.keras.layers.wrappers",
    "numflow.keras.layers.preprocessing",
)


def _export(module_name):
    module = _importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")
                 and getattr(getattr(module, n), "__module__", None) == module_name]
    for n in names:
        globals()[n] = getattr(module, n)


for _name in _MODULES:
    _export(_name)
