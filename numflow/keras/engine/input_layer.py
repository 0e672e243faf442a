"""``keras.Input`` and ``InputLayer``: the entry points of functional models."""
from numflow.keras import backend
from numflow.keras.engine.base_layer import Layer
from numflow.keras.engine.keras_tensor import KerasTensor
from numflow.keras.engine.node import Node


class InputLayer(Layer):
    """The layer behind ``keras.Input``: it holds one symbolic input tensor
    (``tf.keras.layers.InputLayer``).

    Args:
      input_shape: shape without the batch axis, e.g. ``(72,)``.
      batch_size: optional fixed batch size.
      dtype: the input's dtype (default ``floatx()``).
      input_tensor: an existing KerasTensor to use as the input.
      sparse, ragged: accepted; numflow inputs are always dense.
      name: the layer's name (default ``input_1``, ``input_2``...).
      batch_input_shape: the full shape including the batch axis (instead of
        ``input_shape`` + ``batch_size``).
    """

    def __init__(self, input_shape=None, batch_size=None, dtype=None, input_tensor=None,
                 sparse=None, name=None, ragged=None, type_spec=None, **kwargs):
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        if kwargs.pop("batch_shape", None) is not None and batch_input_shape is None:
            raise ValueError("Use batch_input_shape (or batch_shape in keras.Input)")
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments: {list(kwargs)}")
        if sparse:
            raise NotImplementedError("sparse Keras inputs (tf.SparseTensor)")
        if ragged:
            raise NotImplementedError("ragged Keras inputs (tf.RaggedTensor)")
        if name is None:
            name = backend.unique_object_name("input", zero_based=False)
        if input_tensor is not None and dtype is None:
            dtype = input_tensor.dtype
        super().__init__(name=name, dtype=dtype or backend.floatx(), autocast=False)
        self.sparse = bool(sparse)
        self.ragged = bool(ragged)
        self.is_placeholder = input_tensor is None
        if batch_input_shape is not None:
            batch_input_shape = tuple(batch_input_shape)
        elif input_tensor is not None:
            batch_input_shape = tuple(input_tensor.shape.as_list())
        elif input_shape is not None:
            input_shape = (input_shape,) if isinstance(input_shape, int) else input_shape
            batch_input_shape = (batch_size,) + tuple(input_shape)
        else:
            raise ValueError("An InputLayer needs `input_shape`, `batch_input_shape` or "
                             "`input_tensor`.")
        self._batch_input_shape = tuple(None if d is None else int(d) for d in batch_input_shape)
        if input_tensor is None:
            input_tensor = KerasTensor(self._batch_input_shape, self._dtype, name=name)
        elif not isinstance(input_tensor, KerasTensor):
            raise TypeError(f"input_tensor must be a KerasTensor (keras.Input); got "
                            f"{type(input_tensor).__name__}")
        self.built = True
        Node(self, outputs=input_tensor)

    def get_config(self):
        return {"batch_input_shape": self._batch_input_shape, "dtype": self._dtype,
                "sparse": self.sparse, "ragged": self.ragged, "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "batch_shape" in config:   # Keras 3 spelling
            config["batch_input_shape"] = config.pop("batch_shape")
        config.pop("trainable", None)
        return cls(**config)


def Input(shape=None, batch_size=None, name=None, dtype=None, sparse=None, tensor=None,
          ragged=None, type_spec=None, batch_shape=None, **kwargs):  # noqa: N802 - Keras's name
    """A symbolic input of a functional model (``tf.keras.Input``).

    Args:
      shape: the shape without the batch axis, e.g. ``(784,)``; None entries are unknown.
      batch_size: optional fixed batch size.
      name: the input's name (models accept dict data keyed by it).
      dtype: its dtype (default ``floatx()``).
      sparse, ragged: accepted; must be falsy.
      tensor: an existing KerasTensor to wrap.
      batch_shape: the full shape including the batch axis (instead of ``shape``).

    Returns:
      A KerasTensor.
    """
    batch_input_shape = kwargs.pop("batch_input_shape", None) or batch_shape
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {list(kwargs)}")
    if shape is not None and batch_input_shape is not None:
        raise ValueError("Only provide the `shape` OR `batch_shape` argument to Input, not both "
                         "at the same time.")
    if shape is None and batch_input_shape is None and tensor is None:
        raise ValueError("Please provide to Input a `shape` or a `tensor` or a `type_spec` "
                         "argument. Note that `shape` does not include the batch dimension.")
    layer = InputLayer(input_shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       name=name, input_tensor=tensor, ragged=ragged,
                       batch_input_shape=batch_input_shape)
    return layer._inbound_nodes[0].outputs
