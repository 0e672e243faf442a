"""A minimal ``tf.sparse.SparseTensor``: what tf.data and ``tf.io.VarLenFeature`` produce.

A SparseTensor is three tensors: ``indices`` (int64 ``[N, rank]``), ``values`` (``[N]``)
and ``dense_shape`` (int64 ``[rank]``). It works in eager and graph mode (its parts are
ordinary tensors); ``tf.sparse.to_dense`` turns it into a dense tensor.
"""
import collections

import numpy as np

from numflow._api.export import export, export_value
from numflow.eager.function import TensorSpec
from numflow.eager.tensor import EagerTensor
from numflow.framework import dtypes, errors
from numflow.framework.tensor_shape import TensorShape, as_shape
from numflow.ops import infer
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.registry import register_op

SparseTensorValue = collections.namedtuple("SparseTensorValue",
                                           ["indices", "values", "dense_shape"])
SparseTensorValue.__doc__ = ("The NumPy value of a SparseTensor, as ``Session.run`` returns it "
                             "(``tf.compat.v1.SparseTensorValue``).")
export_value(SparseTensorValue, v1=["SparseTensorValue"])


@export("sparse.SparseTensor", "SparseTensor", v1=["sparse.SparseTensor", "SparseTensor"])
class SparseTensor:
    """A sparse tensor (``tf.sparse.SparseTensor(indices, values, dense_shape)``).

    Args:
      indices: int64 ``[N, rank]``: the positions of the non-default values.
      values: ``[N]``: the values at those positions.
      dense_shape: int64 ``[rank]``: the shape of the dense tensor.

    Example:
      >>> sp = SparseTensor(indices=[[0, 0], [1, 2]], values=[1, 2], dense_shape=[3, 4])
      >>> sp.shape
      TensorShape([3, 4])
    """

    def __init__(self, indices, values, dense_shape):
        self._indices = convert_to_tensor(indices, dtype=dtypes.int64, name="indices")
        self._values = convert_to_tensor(values, name="values")
        self._dense_shape = convert_to_tensor(dense_shape, dtype=dtypes.int64,
                                              name="dense_shape")

    @classmethod
    def _from_arrays(cls, indices, values, dense_shape):
        """An eager SparseTensor over NumPy arrays, built without running any op."""
        sp = cls.__new__(cls)
        sp._indices = EagerTensor(np.asarray(indices, dtype=np.int64))
        sp._values = EagerTensor(values)
        sp._dense_shape = EagerTensor(np.asarray(dense_shape, dtype=np.int64))
        return sp

    @classmethod
    def from_value(cls, sparse_tensor_value):
        """A SparseTensor from a SparseTensorValue (or another SparseTensor)."""
        if isinstance(sparse_tensor_value, SparseTensor):
            return sparse_tensor_value
        return cls(*sparse_tensor_value)

    @property
    def indices(self):
        """The int64 ``[N, rank]`` positions of the values."""
        return self._indices

    @property
    def values(self):
        """The ``[N]`` values."""
        return self._values

    @property
    def dense_shape(self):
        """The int64 ``[rank]`` shape of the dense tensor."""
        return self._dense_shape

    @property
    def dtype(self):
        """The dtype of the values."""
        return self._values.dtype

    @property
    def shape(self):
        """The static TensorShape of the dense tensor (unknown dims where not known)."""
        return infer.shape_from_tensor(self._dense_shape)

    def get_shape(self):
        """The static TensorShape (``SparseTensor.get_shape``)."""
        return self.shape

    @property
    def op(self):
        """The Operation producing ``values`` (graph mode)."""
        return self._values.op

    @property
    def graph(self):
        """The graph of the parts (graph mode)."""
        return self._values.graph

    def with_values(self, new_values):
        """A SparseTensor with the same indices and shape and new ``values``."""
        return SparseTensor(self._indices, new_values, self._dense_shape)

    def eval(self, feed_dict=None, session=None):
        """Runs the parts in ``session`` (or the default one): a SparseTensorValue."""
        if isinstance(self._values, EagerTensor):
            return SparseTensorValue(self._indices.numpy(), self._values.numpy(),
                                     self._dense_shape.numpy())
        from numflow.runtime.session import get_default_session_or_raise
        sess = session or get_default_session_or_raise()
        return SparseTensorValue(*sess.run([self._indices, self._values, self._dense_shape],
                                           feed_dict=feed_dict))

    def __repr__(self):
        return (f"SparseTensor(indices={self._indices!r}, values={self._values!r}, "
                f"dense_shape={self._dense_shape!r})")


@export("SparseTensorSpec", v1=["SparseTensorSpec"])
class SparseTensorSpec:
    """The type of a SparseTensor element (``tf.SparseTensorSpec``)."""

    def __init__(self, shape=None, dtype=dtypes.float32):
        self.shape = as_shape(shape)
        self.dtype = dtypes.as_dtype(dtype)

    def _component_specs(self):
        rank = self.shape.rank
        return [TensorSpec([None, rank], dtypes.int64), TensorSpec([None], self.dtype),
                TensorSpec([rank], dtypes.int64)]

    def is_compatible_with(self, other):
        """True when ``other`` (a spec or SparseTensor) has this dtype and a compatible shape."""
        return self.dtype == other.dtype and self.shape.is_compatible_with(other.shape)

    def __eq__(self, other):
        return isinstance(other, SparseTensorSpec) and self.shape == other.shape and \
            self.dtype == other.dtype

    def __hash__(self):
        return hash(("sparse", self.shape, self.dtype))

    def __repr__(self):
        return f"SparseTensorSpec(TensorShape({self.shape.as_tuple()}), {self.dtype!r})" \
            if self.shape.rank is not None else f"SparseTensorSpec(None, {self.dtype!r})"


# ---- SparseToDense --------------------------------------------------------------------

def _to_dense_infer(ins, attrs):
    indices, shape, values, _ = ins
    out = infer.shape_from_tensor(shape)
    if out.rank is None and indices.shape.rank == 2 and indices.shape[1] is not None:
        out = TensorShape([None] * indices.shape[1])
    return [(values.dtype.base_dtype, out)]


def _check_indices(xp, indices, shape, validate):
    if indices.size == 0:
        return
    bad = xp.nonzero(((indices < 0) | (indices >= shape)).any(axis=1))[0]
    if bad.size:
        i = int(bad[0])
        raise errors.InvalidArgumentError(
            None, None, f"indices[{i}] = {list(indices[i])} is out of bounds: need 0 <= index "
                        f"< {list(shape)}")
    if validate and len(indices) > 1:
        flat = xp.ravel_multi_index(tuple(indices.T), tuple(shape))
        step = xp.diff(flat)
        bad = xp.nonzero(step <= 0)[0]
        if bad.size:
            i = int(bad[0]) + 1
            what = "is repeated" if step[i - 1] == 0 else "is out of order"
            raise errors.InvalidArgumentError(
                None, None, f"indices[{i}] = {list(indices[i])} {what}. Many sparse ops "
                            "require sorted indices. Use `tf.sparse.reorder` to create a "
                            "correctly ordered copy.")


def _to_dense_kernel(xp, indices, shape, values, default, validate_indices):
    shape = tuple(int(d) for d in shape)
    if len(shape) != (indices.shape[1] if indices.ndim == 2 else 1):
        raise errors.InvalidArgumentError(
            None, None, f"output_shape has incorrect number of elements: {len(shape)} should "
                        f"be: {indices.shape[1] if indices.ndim == 2 else 1}")
    indices = indices.reshape(len(indices), -1) if indices.ndim != 2 else indices
    _check_indices(xp, indices, xp.asarray(shape), validate_indices)
    out = xp.full(shape, default, dtype=values.dtype)
    if indices.size:
        out[tuple(indices.T)] = values
    return out


_SPARSE_TO_DENSE = register_op("SparseToDense", infer=_to_dense_infer, kernel=_to_dense_kernel)


@export("sparse.to_dense", v1=["sparse.to_dense", "sparse_tensor_to_dense"])
def to_dense(sp_input, default_value=None, validate_indices=True, name=None):
    """The dense tensor of a SparseTensor (``tf.sparse.to_dense``).

    Args:
      sp_input: a SparseTensor.
      default_value: the value at positions without an entry (0, or ``b""`` for strings).
      validate_indices: check that indices are sorted and unique.
      name: the op name.

    Returns:
      A dense tensor of shape ``sp_input.dense_shape``.

    Raises:
      InvalidArgumentError: indices out of bounds, or unsorted/repeated when validating.

    Example:
      >>> to_dense(SparseTensor([[0, 1]], [5], [2, 2])).numpy().tolist()
      [[0, 5], [0, 0]]
    """
    if not isinstance(sp_input, SparseTensor):
        raise TypeError(f"Input must be a SparseTensor, got {type(sp_input).__name__}")
    values = sp_input.values
    if default_value is None:
        default_value = b"" if values.dtype == dtypes.string else 0
    default = convert_to_tensor(default_value, dtype=values.dtype.base_dtype)
    return apply_op(_SPARSE_TO_DENSE,
                    [sp_input.indices, sp_input.dense_shape, values, default],
                    {"validate_indices": bool(validate_indices)}, name=name or "SparseToDense")
