"""Tensor: a symbolic output of an Operation in a Graph (``tf.Tensor``).

EagerTensor (numflow.eager.tensor) subclasses it, so ``isinstance(x, tf.Tensor)`` holds for
both. Python operators (``+``, ``@``, indexing...) are installed by numflow.ops.operators.
"""
from numflow.framework import tensor_shape


class Tensor:
    """A symbolic value: output ``value_index`` of ``op``, named ``"op_name:index"``."""

    __slots__ = ("_op", "_index", "_dtype", "_shape", "__weakref__")
    # Make NumPy defer to our reflected operators (x_np * tensor -> tensor.__rmul__).
    __array_priority__ = 100

    def __init__(self, op, index, dtype, shape):
        self._op = op
        self._index = index
        self._dtype = dtype
        self._shape = tensor_shape.as_shape(shape)

    @property
    def op(self):
        return self._op

    @property
    def _node(self):
        return self._op

    @property
    def value_index(self):
        return self._index

    @property
    def dtype(self):
        return self._dtype

    @property
    def graph(self):
        return self._op.graph

    @property
    def name(self):
        return f"{self._op.name}:{self._index}"

    @property
    def device(self):
        return self._op.device

    @property
    def shape(self):
        return self._shape

    def get_shape(self):
        return self._shape

    def set_shape(self, shape):
        """Refines the static shape; ValueError if incompatible (``Tensor.set_shape``)."""
        self._shape = self._shape.merge_with(shape)

    @property
    def ndim(self):
        return self._shape.rank

    def consumers(self):
        return [op for op in self._op.graph.get_operations() if self in op.inputs]

    def eval(self, feed_dict=None, session=None):
        """Runs this tensor in ``session`` or the default session (``Tensor.eval``)."""
        from numflow.runtime.session import get_default_session_or_raise
        return (session or get_default_session_or_raise()).run(self, feed_dict=feed_dict)

    def __repr__(self):
        return f"<tf.Tensor '{self.name}' shape={self._shape} dtype={self._dtype.name}>"

    def __hash__(self):
        return id(self)

    def __bool__(self):
        raise TypeError("Using a symbolic `tf.Tensor` as a Python `bool` is not allowed in "
                        "graph execution. Use `tf.cond` or eager execution.")

    def __len__(self):
        if self._shape.rank is None or self._shape[0] is None:
            raise TypeError(f"len is not well defined for a tensor of shape {self._shape}")
        return self._shape[0]

    def __iter__(self):
        n = self._shape[0] if self._shape.rank else None
        if n is None:
            raise TypeError("Cannot iterate over a tensor with unknown first dimension.")
        from numflow.ops import array_ops
        return iter(array_ops.unstack(self, num=n))

    def __array__(self, dtype=None, copy=None):
        raise NotImplementedError(f"Cannot convert a symbolic tf.Tensor ({self.name}) to a "
                                  "numpy array; run it in a Session or use eager execution.")
