"""KerasTensor: the symbolic value of the functional API (``keras.Input`` and every layer
output built from one). It knows its static shape and dtype and, through
``_keras_history = (layer, node_index, tensor_index)``, the layer call that made it.

Python operators on KerasTensors (``x + 1``, ``x * y``, ``x[:, 0]``) add small operator
layers to the graph, as Keras does; other numflow functions cannot take a KerasTensor
and say so (wrap them in a ``Lambda`` layer or a custom layer).
"""
import collections

import numflow as tf

KerasHistory = collections.namedtuple("KerasHistory", ["layer", "node_index", "tensor_index"])


class KerasTensor:
    """A symbolic tensor of the functional API: ``shape``, ``dtype``, ``name`` and the layer
    call that produced it (``_keras_history``)."""

    _keras_mask_slot = True

    def __init__(self, shape, dtype="float32", name=None, sparse=False):
        self._shape = tf.TensorShape(shape)
        self._dtype = tf.as_dtype(dtype)
        self._name = name
        self.sparse = bool(sparse)
        self._keras_history = None
        self._keras_mask = None

    # ---- static properties --------------------------------------------------------------
    @property
    def shape(self):
        """The static shape (``TensorShape``; None for unknown sizes)."""
        return self._shape

    def get_shape(self):
        """Same as ``shape``."""
        return self._shape

    def set_shape(self, shape):
        """Refines the static shape (ValueError if incompatible)."""
        self._shape = self._shape.merge_with(tf.TensorShape(shape))

    @property
    def dtype(self):
        """The element dtype."""
        return self._dtype

    @property
    def name(self):
        """The name of the layer output (``'dense/Relu:0'`` style is not tracked; the
        producing layer's name is used)."""
        if self._name is not None:
            return self._name
        if self._keras_history is not None:
            return self._keras_history.layer.name
        return "keras_tensor"

    @property
    def ndim(self):
        """The rank."""
        return self._shape.rank

    @property
    def node(self):
        """The Node that produced this tensor."""
        if self._keras_history is None:
            return None
        layer, node_index, _ = self._keras_history
        return layer._inbound_nodes[node_index]

    def __len__(self):
        raise TypeError("Keras symbolic inputs/outputs do not implement `__len__`. You may be "
                        "trying to pass Keras symbolic inputs/outputs to a TF API that does not "
                        "register dispatching, preventing Keras from automatically converting "
                        "the API call to a lambda layer in the Functional Model.")

    def __iter__(self):
        shape = self._shape
        if shape.rank is None or shape[0] is None:
            raise TypeError(f"Cannot iterate over a Tensor with unknown first dimension: {self}")
        return (self[i] for i in range(shape[0]))

    def __hash__(self):
        return id(self)

    def __bool__(self):
        raise TypeError("Using a symbolic KerasTensor as a Python `bool` is not allowed.")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"You are trying to convert a symbolic KerasTensor ({self.name}) to a "
                        "NumPy array. KerasTensors have no value: build a Model from them and "
                        "call it on data instead.")

    def _as_tensor(self, dtype=None, name=None):
        raise TypeError(
            f"You are passing {self!r}, an intermediate Keras symbolic input/output, to a "
            "numflow function that cannot take it. Keras Functional model construction only "
            "supports Python operators (+, -, *, /, @, [...]) on symbolic inputs/outputs "
            "directly. Put the operation in a `keras.layers.Lambda` layer or in a custom "
            "Keras layer's `call` and call that layer on this symbolic input/output.")

    def __repr__(self):
        history = ""
        if self._keras_history is not None:
            history = f" (created by layer '{self._keras_history.layer.name}')"
        shape = tuple(self._shape.as_list()) if self._shape.rank is not None else None
        return f"<KerasTensor: shape={shape} dtype={self._dtype.name}{history}>"

    __str__ = __repr__


def _operator(name, reflected=False):
    def method(self, *args):
        from numflow.keras.engine.op_layer import apply_operator
        if reflected:
            return apply_operator(name, args[0], self)
        return apply_operator(name, self, *args)
    method.__name__ = name
    return method


for _dunder, _op, _refl in (
        ("__add__", "add", False), ("__radd__", "add", True),
        ("__sub__", "subtract", False), ("__rsub__", "subtract", True),
        ("__mul__", "multiply", False), ("__rmul__", "multiply", True),
        ("__truediv__", "truediv", False), ("__rtruediv__", "truediv", True),
        ("__floordiv__", "floordiv", False), ("__rfloordiv__", "floordiv", True),
        ("__mod__", "mod", False), ("__rmod__", "mod", True),
        ("__pow__", "pow", False), ("__rpow__", "pow", True),
        ("__matmul__", "matmul", False), ("__rmatmul__", "matmul", True),
        ("__neg__", "negative", False), ("__abs__", "abs", False),
        ("__lt__", "less", False), ("__le__", "less_equal", False),
        ("__gt__", "greater", False), ("__ge__", "greater_equal", False),
        ("__getitem__", "getitem", False)):
    setattr(KerasTensor, _dunder, _operator(_op, _refl))
