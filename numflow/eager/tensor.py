"""EagerTensor: a tensor holding a concrete NumPy array (eager mode)."""
import numpy as np

from numflow.framework import dtypes, tensor_shape
from numflow.graph.tensor import Tensor

_NP_TO_DTYPE = {}


def dtype_of_array(arr):
    """The DType of a NumPy array, cached per NumPy dtype (hot path)."""
    d = _NP_TO_DTYPE.get(arr.dtype)
    if d is None:
        d = _NP_TO_DTYPE[arr.dtype] = dtypes.as_dtype(arr.dtype)
    return d


class EagerTensor(Tensor):
    """A concrete tensor: ``.numpy()``, ``.shape``, ``.dtype``, operators, printing."""

    __slots__ = ("_value", "_tape_node")

    def __init__(self, value, dtype=None):
        # Tensor.__init__ is skipped on purpose: an eager tensor has no op.
        if type(value) is not np.ndarray:
            value = np.asarray(value)
        self._value = value
        self._dtype = dtype
        self._shape = None
        self._tape_node = None

    @property
    def dtype(self):
        d = self._dtype
        if d is None:
            d = self._dtype = dtype_of_array(self._value)
        return d

    @property
    def shape(self):
        s = self._shape
        if s is None:
            s = self._shape = tensor_shape.TensorShape._from_ints(self._value.shape)
        return s

    def get_shape(self):
        return self.shape

    def set_shape(self, shape):
        if not self.shape.is_compatible_with(shape):
            raise ValueError(f"Tensor's shape {self.shape} is not compatible with supplied "
                             f"shape {tensor_shape.as_shape(shape)}.")

    @property
    def ndim(self):
        return self._value.ndim

    @property
    def op(self):
        raise AttributeError("Tensor.op is undefined when eager execution is enabled.")

    @property
    def _node(self):
        return self._tape_node

    @property
    def graph(self):
        raise AttributeError("Tensor.graph is undefined when eager execution is enabled.")

    @property
    def name(self):
        raise AttributeError("Tensor.name is undefined when eager execution is enabled.")

    @property
    def device(self):
        return "/job:localhost/replica:0/task:0/device:CPU:0"

    def numpy(self):
        """The value as a NumPy array (a copy-free view; do not mutate it); a scalar
        tensor gives a NumPy scalar (or ``bytes`` for strings), as TF does."""
        v = self._value
        return v[()] if v.ndim == 0 else v

    def eval(self, feed_dict=None, session=None):
        return self._value

    def __array__(self, dtype=None, copy=None):
        if dtype is None:
            return self._value
        return self._value.astype(dtype, copy=False)

    def __len__(self):
        if self._value.ndim == 0:
            raise TypeError("Scalar tensor has no `len()`")
        return len(self._value)

    def __iter__(self):
        if self._value.ndim == 0:
            raise TypeError("Cannot iterate over a scalar tensor.")
        return (EagerTensor(v) for v in self._value)

    def __bool__(self):
        return bool(self._value)

    def __int__(self):
        return int(self._value)

    def __float__(self):
        return float(self._value)

    def __index__(self):
        return self._value.__index__()

    def __format__(self, spec):
        if self._value.ndim == 0:
            return format(self._value.item(), spec)
        return format(str(self), spec)

    def __repr__(self):
        v = np.array2string(self._value, separator=", ") if self._value.ndim else repr(
            self._value.item())
        return f"<tf.Tensor: shape={self.shape}, dtype={self.dtype.name}, numpy={v}>"

    def __str__(self):
        return f"tf.Tensor({self._value}, shape={self.shape}, dtype={self.dtype.name})"

    def __reduce__(self):
        return EagerTensor, (self._value,)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return EagerTensor(self._value.copy())
