"""Operator layers: ``x + 1``, ``a * b``, ``x[:, 0]`` on KerasTensors become small layers
(``TFOpLambda`` / ``SlicingOpLambda``, Keras's class names) so functional models can use
Python operators on symbolic tensors and still be serialized.

A config names its function by its dotted public name (``'__operators__.add'``,
``'math.multiply'``); loading resolves that name only within numflow's public namespace.
"""
import numflow as tf
from numflow.keras.engine.base_layer import Layer

_OPERATORS = {
    "add": lambda x, y: x + y, "subtract": lambda x, y: x - y,
    "multiply": lambda x, y: x * y, "truediv": lambda x, y: x / y,
    "floordiv": lambda x, y: x // y, "mod": lambda x, y: x % y,
    "pow": lambda x, y: x ** y, "matmul": lambda x, y: x @ y,
    "less": lambda x, y: x < y, "less_equal": lambda x, y: x <= y,
    "greater": lambda x, y: x > y, "greater_equal": lambda x, y: x >= y,
    "negative": lambda x: -x, "abs": abs,
}
_REFLECTED = {"r" + k: (lambda f: lambda x, y: f(y, x))(v) for k, v in _OPERATORS.items()
              if k not in ("negative", "abs")}
_SYMBOLS = {"add": "+", "subtract": "-", "multiply": "*", "truediv": "/"}


def resolve_function(name):
    """The public numflow function called ``name`` (``'math.add'``, ``'__operators__.add'``).

    Raises:
      ValueError: if ``name`` is not a public numflow function.
    """
    if name.startswith("__operators__."):
        op = name.split(".", 1)[1]
        fn = _OPERATORS.get(op) or _REFLECTED.get(op)
        if fn is None:
            raise ValueError(f"Unknown operator in TFOpLambda config: {name!r}")
        return fn
    obj = tf
    for part in name.split("."):
        if not part.isidentifier() or part.startswith("_"):
            raise ValueError(f"TFOpLambda function {name!r} is not a public numflow function")
        obj = getattr(obj, part, None)
        if obj is None:
            raise ValueError(f"TFOpLambda function {name!r} is not a public numflow function")
    if not callable(obj):
        raise ValueError(f"TFOpLambda function {name!r} is not callable")
    return obj


class TFOpLambda(Layer):
    """Wraps a public numflow function applied to a KerasTensor (``tf.math.add`` style).

    Args:
      function: the function's dotted public name (``'__operators__.add'``).
    """

    def __init__(self, function, **kwargs):
        self.function = function
        self._fn = resolve_function(function)
        kwargs.setdefault("name", _backend_name(function))
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)

    def call(self, x, *args, **kwargs):
        kwargs.pop("name", None)
        return self._fn(x, *args, **kwargs)

    def get_config(self):
        config = super().get_config()
        config["function"] = self.function
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _backend_name(function):
    from numflow.keras import backend
    return backend.unique_object_name("tf." + function, zero_based=True)


def _encode_key(key):
    def enc(k):
        if isinstance(k, slice):
            return {"start": k.start, "stop": k.stop, "step": k.step}
        if k is Ellipsis:
            return "..."
        return k
    if isinstance(key, tuple):
        return [enc(k) for k in key]
    return enc(key)


def _decode_key(spec):
    def dec(k):
        if isinstance(k, dict) and set(k) == {"start", "stop", "step"}:
            return slice(k["start"], k["stop"], k["step"])
        if k == "...":
            return Ellipsis
        return k
    if isinstance(spec, list):
        return tuple(dec(k) for k in spec)
    return dec(spec)


class SlicingOpLambda(TFOpLambda):
    """``x[...]`` on a KerasTensor: stores the slice spec in the node so configs keep it."""

    def __init__(self, function="__operators__.getitem", **kwargs):
        self.function = function
        self._fn = None
        kwargs.setdefault("name", _backend_name(function))
        kwargs.setdefault("autocast", False)
        Layer.__init__(self, **kwargs)

    def call(self, x, slice_spec=None):
        return x[_decode_key(slice_spec)]


def apply_operator(op, x, *args):
    """Applies the operator ``op`` to KerasTensor ``x`` (and operands), adding a layer."""
    from numflow.keras.engine.keras_tensor import KerasTensor
    if op == "getitem":
        return SlicingOpLambda()(x, slice_spec=_encode_key(args[0]))
    if args and not isinstance(x, KerasTensor):   # reflected: constant (op) KerasTensor
        return TFOpLambda("__operators__.r" + op)(args[0], y=x)
    if not args:
        return TFOpLambda("__operators__." + op)(x)
    y = args[0]
    if hasattr(y, "numpy") and not isinstance(y, KerasTensor):
        y = y.numpy()
    return TFOpLambda("__operators__." + op)(x, y=y)
