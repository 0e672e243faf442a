"""Batching transformations: batch, padded_batch, unbatch, window.

``batch`` over an in-memory source (possibly shuffled, repeated, taken, skipped or
sharded) gathers each batch with one fancy-indexing operation per component; every
other input is batched element by element with ``np.stack``.
"""
import collections

import numpy as np

from numflow.data import indexing, structure
from numflow.data.dataset import INFINITE, UNKNOWN, Dataset, zip_up_to, as_count
from numflow.data.sparse import SparseTensor
from numflow.eager.function import TensorSpec
from numflow.framework import dtypes, errors, nest
from numflow.framework.tensor_shape import TensorShape, as_shape


def _batch_size(value):
    b = as_count(value, "batch_size")
    if b <= 0:
        raise errors.InvalidArgumentError(None, None, "Batch size must be greater than zero.")
    return b


def _bool(value):
    return bool(np.asarray(structure.leaf_value(value)))


def _batched_cardinality(n, b, drop):
    if n < 0:
        return n
    return n // b if drop else -(-n // b)


def _stack(arrays, component):
    first = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != first:
            raise errors.InvalidArgumentError(
                None, None, f"Cannot batch tensors with different shapes in component "
                            f"{component}. First element had shape {list(first)} and element "
                            f"{i} had shape {list(a.shape)}.")
    return np.stack(arrays)


def batch_sparse(items):
    """One SparseTensor (a new leading dimension) from SparseTensors of equal rank."""
    idx, vals, shapes = [], [], []
    for i, sp in enumerate(items):
        ind = sp.indices._value
        idx.append(np.concatenate([np.full((len(ind), 1), i, np.int64), ind], axis=1))
        vals.append(sp.values._value)
        shapes.append(sp.dense_shape._value)
    ranks = {len(s) for s in shapes}
    if len(ranks) > 1:
        raise errors.InvalidArgumentError(None, None, "Cannot batch SparseTensors of "
                                                      "different ranks.")
    dense = np.max(np.stack(shapes), axis=0) if shapes else np.zeros(0, np.int64)
    return SparseTensor._from_arrays(np.concatenate(idx), np.concatenate(vals),
                                     np.concatenate([[len(items)], dense]))


def stack_elements(spec, elements):
    """The batch (internal element) of a list of internal elements of ``spec``."""
    if isinstance(spec, TensorSpec):
        return _stack(elements, 0)
    flat_specs = nest.flatten(spec)
    columns = list(zip(*[nest.flatten(e) for e in elements]))
    out = []
    for i, (s, col) in enumerate(zip(flat_specs, columns)):
        if isinstance(s, structure.SparseTensorSpec):
            out.append(batch_sparse(col))
        else:
            out.append(_stack(col, i))
    return nest.pack_sequence_as(spec, out)


class _BatchDataset(Dataset):
    def __init__(self, input_dataset, batch_size, drop_remainder):
        self._b = _batch_size(batch_size)
        self._drop = _bool(drop_remainder)
        spec = structure.batch_spec(input_dataset.element_spec,
                                    self._b if self._drop else None)
        super().__init__([input_dataset], spec)

    def _cardinality(self):
        return _batched_cardinality(self._inputs[0]._cardinality(), self._b, self._drop)

    def _elements(self):
        child = self._inputs[0]
        plan = child._index_plan()
        if plan is not None:
            pack = child._packer()
            for flat in indexing.batches(plan, self._b, self._drop):
                yield pack(flat)
            return
        spec, b, pending = child.element_spec, self._b, []
        for e in child._elements():
            pending.append(e)
            if len(pending) == b:
                yield stack_elements(spec, pending)
                pending = []
        if pending and not self._drop:
            yield stack_elements(spec, pending)


def _padding_value(spec, value):
    if value is None:
        return np.array(b"" if spec.dtype == dtypes.string else 0,
                        dtype=spec.dtype.as_numpy_dtype)
    arr = structure.leaf_value(value)
    if np.shape(arr) != ():
        raise ValueError(f"Invalid `padding_values`. Padding values should be scalar, got "
                         f"{value!r}.")
    if arr.dtype != spec.dtype.as_numpy_dtype:
        got = "string" if arr.dtype == object else arr.dtype.name
        raise TypeError(f"Invalid `padding_values`. `padding_values` values type {got} does "
                        f"not match type {spec.dtype.name} of the corresponding input "
                        "component.")
    return arr


class _PaddedBatchDataset(Dataset):
    def __init__(self, input_dataset, batch_size, padded_shapes, padding_values,
                 drop_remainder):
        self._b = _batch_size(batch_size)
        self._drop = _bool(drop_remainder)
        in_spec = input_dataset.element_spec
        for s in nest.flatten(in_spec):
            if not isinstance(s, TensorSpec):
                raise TypeError(f"`padded_batch` is only supported for datasets that produce "
                                f"tensor elements but type {s!r} was found.")
        flat_in = nest.flatten(in_spec)
        if padded_shapes is None:
            self._shapes = [s.shape for s in flat_in]
        elif isinstance(in_spec, TensorSpec):
            self._shapes = [self._shape(in_spec, padded_shapes)]
        else:
            self._shapes = nest.flatten(zip_up_to(in_spec, padded_shapes, self._shape))
        if padding_values is None or np.ndim(padding_values) == 0 and \
                not isinstance(padding_values, (tuple, dict)):
            self._pads = [_padding_value(s, padding_values) for s in flat_in]
        else:
            self._pads = nest.flatten(zip_up_to(in_spec, padding_values, _padding_value))
        for s, shape in zip(nest.flatten(in_spec), self._shapes):
            if s.shape.rank is None and shape.rank is None:
                raise ValueError("padded_batch needs the rank of each component: give "
                                 "`padded_shapes`.")
        spec = nest.pack_sequence_as(in_spec, [
            TensorSpec(TensorShape([self._b if self._drop else None]).concatenate(shape),
                       s.dtype) for s, shape in zip(nest.flatten(in_spec), self._shapes)])
        super().__init__([input_dataset], spec)

    @staticmethod
    def _shape(spec, padded):
        if padded is None:
            return spec.shape
        shape = TensorShape([None if d is not None and int(d) < 0 else d
                             for d in structure.leaf_value(padded).reshape(-1).tolist()]) \
            if not isinstance(padded, (list, tuple, TensorShape)) else \
            TensorShape([None if d is not None and int(d) < 0 else d for d in
                         as_shape(padded).as_list()])
        if spec.shape.rank is not None and shape.rank != spec.shape.rank:
            raise ValueError(f"The padded shape {shape} is not compatible with the shape "
                             f"{spec.shape} of the corresponding input component.")
        return shape

    def _cardinality(self):
        return _batched_cardinality(self._inputs[0]._cardinality(), self._b, self._drop)

    def _pad(self, elements):
        spec = self._inputs[0].element_spec
        columns = list(zip(*[nest.flatten(e) for e in elements]))
        out = []
        for col, shape, pad in zip(columns, self._shapes, self._pads):
            target = [max(a.shape[d] for a in col) if want is None else want
                      for d, want in enumerate(shape.as_list() if shape.rank is not None
                                               else [None] * col[0].ndim)]
            batch = np.full([len(col)] + target, pad, dtype=col[0].dtype)
            for i, a in enumerate(col):
                if a.ndim != len(target) or any(x > t for x, t in zip(a.shape, target)):
                    raise errors.InvalidArgumentError(
                        None, None, "Attempted to pad to a smaller size than the input "
                                    f"element (element shape {list(a.shape)}, padded shape "
                                    f"{target}).")
                batch[(i,) + tuple(slice(0, x) for x in a.shape)] = a
            out.append(batch)
        return nest.pack_sequence_as(spec, out)

    def _elements(self):
        pending = []
        for e in self._inputs[0]._elements():
            pending.append(e)
            if len(pending) == self._b:
                yield self._pad(pending)
                pending = []
        if pending and not self._drop:
            yield self._pad(pending)


def _unbatch_sparse(sp):
    ind, vals, shape = sp.indices._value, sp.values._value, sp.dense_shape._value
    rows = ind[:, 0] if len(ind) else np.zeros(0, np.int64)
    for i in range(int(shape[0])):
        sel = rows == i
        yield SparseTensor._from_arrays(ind[sel, 1:], vals[sel], shape[1:])


class _UnbatchDataset(Dataset):
    def __init__(self, input_dataset):
        spec = structure.unbatch_spec(input_dataset.element_spec)
        super().__init__([input_dataset], spec)

    def _cardinality(self):
        n = self._inputs[0]._cardinality()
        if n == INFINITE:
            return INFINITE
        dims = {s.shape[0] for s in nest.flatten(self._inputs[0].element_spec)
                if s.shape.rank}
        if n >= 0 and len(dims) == 1 and None not in dims:
            return n * dims.pop()
        return 0 if n == 0 else UNKNOWN

    def _elements(self):
        flat_specs = nest.flatten(self._spec)
        pack = self._packer()
        for e in self._inputs[0]._elements():
            leaves = nest.flatten(e)
            sizes = [int(x.dense_shape._value[0]) if isinstance(x, SparseTensor) else len(x)
                     for x in leaves]
            if len(set(sizes)) > 1:
                raise errors.InvalidArgumentError(
                    None, None, f"Input element must have the same batch size in each "
                                f"component. Component 0 had size {sizes[0]} but component "
                                f"{sizes.index(next(s for s in sizes if s != sizes[0]))} had "
                                f"size {next(s for s in sizes if s != sizes[0])}.")
            cols = [list(_unbatch_sparse(x)) if isinstance(s, structure.SparseTensorSpec)
                    else x for s, x in zip(flat_specs, leaves)]
            for i in range(sizes[0] if sizes else 0):
                yield pack([c[i] if isinstance(c, list) else c[i, ...] for c in cols])


class ListDataset(Dataset):
    """A dataset over a list of internal elements (the windows of ``window``)."""

    def __init__(self, elements, element_spec):
        self._items = elements
        super().__init__([], element_spec)

    def _cardinality(self):
        return len(self._items)

    def _elements(self):
        yield from self._items


class _WindowDataset(Dataset):
    def __init__(self, input_dataset, size, shift, stride, drop_remainder):
        self._size = as_count(size, "size")
        self._shift = self._size if shift is None else as_count(shift, "shift")
        self._stride = as_count(stride, "stride")
        if min(self._size, self._shift, self._stride) <= 0:
            raise errors.InvalidArgumentError(None, None, "Window size, shift and stride "
                                                          "must be greater than zero.")
        self._drop = _bool(drop_remainder)
        spec = structure.map_leaves(structure.DatasetSpec, input_dataset.element_spec)
        super().__init__([input_dataset], spec)

    def _cardinality(self):
        n = self._inputs[0]._cardinality()
        if n < 0:
            return n
        if not self._drop:
            return -(-n // self._shift)
        span = (self._size - 1) * self._stride
        return 0 if n <= span else (n - 1 - span) // self._shift + 1

    def _window(self, items):
        in_spec = self._inputs[0].element_spec
        flat_specs = nest.flatten(in_spec)
        columns = list(zip(*[nest.flatten(e) for e in items])) if items else \
            [[] for _ in flat_specs]
        return nest.pack_sequence_as(
            in_spec, [ListDataset(list(c), s) for c, s in zip(columns, flat_specs)])

    def _elements(self):
        size, shift, stride = self._size, self._shift, self._stride
        span = (size - 1) * stride
        buf = collections.deque()      # (position, element), from the current window start
        start = pos = 0
        for e in self._inputs[0]._elements():
            buf.append((pos, e))
            pos += 1
            while buf and pos > start + span:
                yield self._window([x for p, x in buf if p >= start and
                                    (p - start) % stride == 0 and p - start <= span])
                start += shift
                while buf and buf[0][0] < start:
                    buf.popleft()
        while start < pos and not self._drop:
            yield self._window([x for p, x in buf if p >= start and (p - start) % stride == 0
                                and p - start <= span])
            start += shift
