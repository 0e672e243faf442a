"""Keras's engine: Layer, InputSpec, KerasTensor/Node, Input/InputLayer, the functional
and Sequential models, Model training, data adapters."""
from numflow.keras.engine.base_layer import Layer  # noqa: F401
from numflow.keras.engine.functional import Functional  # noqa: F401
from numflow.keras.engine.input_layer import Input, InputLayer  # noqa: F401
from numflow.keras.engine.input_spec import InputSpec  # noqa: F401
from numflow.keras.engine.keras_tensor import KerasTensor  # noqa: F401
from numflow.keras.engine.sequential import Sequential  # noqa: F401
from numflow.keras.engine.training import Model  # noqa: F401
