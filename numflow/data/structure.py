"""Element structures of tf.data: type specs, conversion of user values, components.

Inside the pipeline an element is a nested structure (tuples, namedtuples, dicts) whose
leaves are NumPy arrays (strings are object arrays of bytes), SparseTensors over NumPy
arrays, or Datasets (``window``). ``to_user`` wraps arrays as EagerTensors for user code;
``from_user`` converts what user functions return. The *component* view flattens an
element to plain arrays (a SparseTensor becomes indices, values, dense_shape), which is
what graph-mode iterator ops and traced functions exchange.
"""
import collections.abc as _abc
import contextlib

import numpy as np

from numflow.data.sparse import SparseTensor, SparseTensorSpec
from numflow.eager.function import TensorSpec
from numflow.eager.tensor import EagerTensor, dtype_of_array
from numflow.framework import context, nest
from numflow.framework.tensor_shape import TensorShape, as_shape
from numflow.graph.tensor import Tensor
from numflow.ops.apply import convert_to_tensor


@contextlib.contextmanager
def eager_scope():
    """Runs the enclosed ops eagerly, off any tape, even in TF1 graph mode.

    Dataset elements are concrete values: user functions applied to them (map, filter,
    generators...) execute immediately, also inside ``Session.run``.
    """
    tls = context._tls
    tls.eager_scope_depth += 1
    saved = context.set_tapes([])
    try:
        yield
    finally:
        context.set_tapes(saved)
        tls.eager_scope_depth -= 1




class DatasetSpec:
    """The type of a Dataset element (``tf.data.DatasetSpec``), as ``window`` produces."""

    def __init__(self, element_spec, dataset_shape=()):
        self.element_spec = element_spec
        self.shape = as_shape(dataset_shape)

    def __eq__(self, other):
        return isinstance(other, DatasetSpec) and self.element_spec == other.element_spec

    def __hash__(self):
        return hash(("dataset", repr(self.element_spec)))

    def __repr__(self):
        return f"DatasetSpec({self.element_spec!r}, TensorShape([]))"


def is_dataset(x):
    """True for tf.data Datasets."""
    return getattr(x, "_is_dataset", False)


# ---- walking user structures ---------------------------------------------------------

def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def map_leaves(fn, value):
    """Applies ``fn`` to the leaves of ``value``; tuples, namedtuples and dicts are
    structure, lists are leaves (TF converts a list to one tensor)."""
    if isinstance(value, _abc.Mapping):
        items = [(k, map_leaves(fn, v)) for k, v in value.items()]
        try:
            return type(value)(items)
        except TypeError:
            return dict(items)
    if _is_namedtuple(value):
        return type(value)(*[map_leaves(fn, v) for v in value])
    if isinstance(value, tuple):
        return tuple(map_leaves(fn, v) for v in value)
    return fn(value)


def leaf_value(v):
    """The internal leaf (array, sparse, dataset) for one user value; a list becomes one
    array, as ``tf.convert_to_tensor`` makes it."""
    if type(v) is np.ndarray and v.dtype.kind not in "USO":
        return v
    if isinstance(v, EagerTensor):
        return v._value
    if isinstance(v, SparseTensor):
        return _sparse_to_arrays(v)
    if is_dataset(v):
        return v
    if isinstance(v, Tensor) and not hasattr(v, "_value"):
        raise TypeError(f"A symbolic tensor ({v.name}) cannot be a value of a dataset "
                        "element; return tensors computed from the element instead.")
    with eager_scope():
        return convert_to_tensor(v)._value


def _sparse_to_arrays(sp):
    parts = (sp.indices, sp.values, sp.dense_shape)
    if not all(isinstance(p, EagerTensor) for p in parts):
        raise TypeError("A SparseTensor of symbolic tensors cannot be a dataset element value.")
    return sp


def from_user(value):
    """The internal element for a value returned by user code (tensors, arrays, Python
    values, SparseTensors, Datasets); a top-level list becomes a tuple, as in TF."""
    if isinstance(value, list):
        value = tuple(value)
    return map_leaves(leaf_value, value)


def _wrap_leaf(x):
    if type(x) is np.ndarray:
        return EagerTensor(x)
    return x


def to_user(element):
    """The user-facing element: arrays become EagerTensors (structure preserved)."""
    if type(element) is np.ndarray:
        return EagerTensor(element)
    if type(element) is tuple:
        return tuple(EagerTensor(x) if type(x) is np.ndarray else to_user(x) for x in element)
    return map_leaves(_wrap_leaf, element)


def _numpy_leaf(x):
    if type(x) is np.ndarray:
        return x[()] if x.ndim == 0 else x
    if isinstance(x, SparseTensor):
        from numflow.data.sparse import SparseTensorValue
        return SparseTensorValue(x.indices.numpy(), x.values.numpy(), x.dense_shape.numpy())
    return x


def to_numpy(element):
    """The element as ``as_numpy_iterator`` yields it (scalars as NumPy scalars/bytes)."""
    return map_leaves(_numpy_leaf, element)


# ---- specs ---------------------------------------------------------------------------

def spec_of_leaf(x):
    """The TypeSpec of one internal leaf (or of a graph tensor captured by a source)."""
    if type(x) is np.ndarray:
        return TensorSpec(x.shape, dtype_of_array(x))
    if isinstance(x, SparseTensor):
        return SparseTensorSpec(x.shape, x.dtype)
    if is_dataset(x):
        return DatasetSpec(x.element_spec)
    if isinstance(x, Tensor):
        return TensorSpec(x.shape, x.dtype.base_dtype)
    x = np.asarray(x)
    return TensorSpec(x.shape, dtype_of_array(x))


def spec_of(element):
    """The element_spec of an internal element."""
    return map_leaves(spec_of_leaf, element)


def _relax_leaf(spec):
    if isinstance(spec, TensorSpec):
        return TensorSpec(TensorShape(None) if spec.shape.rank is None
                          else [None] * spec.shape.rank, spec.dtype)
    if isinstance(spec, SparseTensorSpec):
        return SparseTensorSpec(TensorShape(None) if spec.shape.rank is None
                                else [None] * spec.shape.rank, spec.dtype)
    return spec


def relax(spec):
    """``spec`` with every dimension unknown (rank and dtype kept)."""
    return map_leaves(_relax_leaf, spec)


def batch_spec(spec, batch_size):
    """The spec of a batch of elements of ``spec`` (``batch_size`` int or None)."""
    def one(s):
        if isinstance(s, TensorSpec):
            return TensorSpec(TensorShape([batch_size]).concatenate(s.shape), s.dtype)
        if isinstance(s, SparseTensorSpec):
            return SparseTensorSpec(TensorShape([batch_size]).concatenate(s.shape), s.dtype)
        raise TypeError(f"Cannot batch elements of type {s!r}")
    return map_leaves(one, spec)


def unbatch_spec(spec):
    """The spec of the rows of elements of ``spec``."""
    def one(s):
        if not isinstance(s, (TensorSpec, SparseTensorSpec)):
            raise TypeError(f"Cannot unbatch elements of type {s!r}")
        if s.shape.rank == 0:
            raise ValueError("Cannot unbatch an input with scalar components.")
        shape = s.shape[1:] if s.shape.rank is not None else TensorShape(None)
        return type(s)(shape, s.dtype)
    return map_leaves(one, spec)


def _merge_leaf(a, b):
    if type(a) is not type(b) or getattr(a, "dtype", None) != getattr(b, "dtype", None):
        raise TypeError(f"Incompatible dataset elements: {a!r} vs. {b!r}")
    if isinstance(a, DatasetSpec):
        return a
    sa, sb = a.shape, b.shape
    if sa.rank is None or sb.rank is None or sa.rank != sb.rank:
        shape = TensorShape(None)
    else:
        shape = TensorShape([x if x == y else None for x, y in zip(sa.as_list(), sb.as_list())])
    return type(a)(shape, a.dtype)


def most_specific_compatible(a, b):
    """The most specific spec both ``a`` and ``b`` fit (``concatenate``); TypeError when the
    structures or dtypes differ."""
    try:
        nest.assert_same_structure(a, b)
    except ValueError as e:
        raise TypeError(f"Incompatible dataset elements: {a!r} vs. {b!r}") from e
    return nest.map_structure(_merge_leaf, a, b)


def spec_is_compatible(spec, other):
    """True when elements of ``other`` fit ``spec`` (same structure, dtypes, shapes)."""
    try:
        nest.assert_same_structure(spec, other)
    except (ValueError, TypeError):
        return False
    for s, o in zip(nest.flatten(spec), nest.flatten(other)):
        if type(s) is not type(o):
            return False
        if isinstance(s, DatasetSpec):
            continue
        if s.dtype != o.dtype or not s.shape.is_compatible_with(o.shape):
            return False
    return True


# ---- components: the flat array view -------------------------------------------------

def component_specs(spec):
    """The flat list of TensorSpecs of ``spec`` (a SparseTensorSpec gives three)."""
    out = []
    for s in nest.flatten(spec):
        if isinstance(s, SparseTensorSpec):
            out.extend(s._component_specs())
        elif isinstance(s, TensorSpec):
            out.append(s)
        else:
            raise TypeError(f"Elements of type {s!r} cannot cross a graph boundary "
                            "(iterator or traced function).")
    return out


def to_components(spec, element):
    """The flat list of arrays of ``element`` (which has structure ``spec``)."""
    if type(element) is np.ndarray:
        return [element]
    out = []
    for s, x in zip(nest.flatten(spec), nest.flatten(element)):
        if isinstance(s, SparseTensorSpec):
            out.extend([x.indices._value, x.values._value, x.dense_shape._value])
        else:
            out.append(x)
    return out


def from_components(spec, values, wrap):
    """Packs flat component values into ``spec``'s structure. ``wrap(i, value)`` turns
    the i-th component into a leaf; sparse leaves are rebuilt from three components."""
    if isinstance(spec, TensorSpec):
        return wrap(0, values[0])
    if type(spec) is tuple and all(type(s) is TensorSpec for s in spec):
        return tuple(wrap(i, v) for i, v in enumerate(values))
    leaves, i = [], 0
    for s in nest.flatten(spec):
        if isinstance(s, SparseTensorSpec):
            parts = [wrap(i + k, values[i + k]) for k in range(3)]
            if all(isinstance(p, np.ndarray) for p in parts):
                leaves.append(SparseTensor._from_arrays(*parts))
            else:
                leaves.append(SparseTensor(*parts))
            i += 3
        else:
            leaves.append(wrap(i, values[i]))
            i += 1
    return nest.pack_sequence_as(spec, leaves)
