"""``tf.data.Dataset``: the base class and the sources (slices, tensors, range,
generator, zip, concatenate).

A dataset is an immutable node of a pipeline tree. Each node knows its ``element_spec``
and cardinality and produces its elements as a generator of internal elements (nested
NumPy arrays, see ``structure``); the generator is started afresh for every pass.
Sources that hold their data in memory also offer random access (``indexing``), which
``shuffle``/``repeat``/``take``/``skip``/``shard``/``batch`` use to run as index
arithmetic. Graph tensors (TF1 placeholders) given to a source are *captures*: an
initializable iterator feeds their values when its initializer runs.
"""
import copy
import os

import numpy as np

from numflow.data import indexing, structure
from numflow.eager.function import TensorSpec
from numflow.eager.tensor import EagerTensor
from numflow.framework import context, dtypes, errors, nest
from numflow.graph.tensor import Tensor
from numflow.ops import infer
from numflow.ops.apply import convert_to_tensor

INFINITE = -1
UNKNOWN = -2
AUTOTUNE = -1
_DEFAULT_GRAPH_SEED = 87654321


class Dataset:
    """A sequence of elements (``tf.data.Dataset``), built from sources and transformations.

    Iterating a dataset in eager mode yields its elements as (nested structures of)
    EagerTensors; ``as_numpy_iterator()`` yields NumPy values. In TF1 graph mode use
    ``make_one_shot_iterator()`` / ``make_initializable_iterator()``.

    Internal protocol for fast consumers (Keras ``fit``): ``dataset._numpy_batches()``
    returns a fresh generator of the elements as nested structures of NumPy arrays
    (string tensors as object arrays of bytes, SparseTensors as SparseTensors over
    EagerTensors), with no EagerTensor wrapping. For a batched dataset each element is
    one batch. Arrays may be read-only views of the source data: do not write into them.

    Example:
      >>> ds = Dataset.from_tensor_slices([1, 2, 3]).map(lambda x: x * 2)
      >>> [int(x) for x in ds]
      [2, 4, 6]
    """

    _is_dataset = True

    def __init__(self, inputs, element_spec):
        self._inputs = list(inputs)
        self._spec = element_spec
        self._opts = None

    # ---- the node protocol (overridden by subclasses) -------------------------------
    def _elements(self):
        """A generator of internal elements for one pass."""
        raise NotImplementedError(type(self).__name__)

    def _cardinality(self):
        return UNKNOWN

    def _index_plan(self):
        """An ``indexing.IndexPlan`` when this node runs as index arithmetic, else None."""
        return None

    def _source(self):
        """An ``indexing.IndexSource`` when this node is a random-access source."""
        return None

    def _own_captures(self):
        return []

    def _rebind_own(self, values):
        return self

    # ---- captures (TF1 placeholders) ------------------------------------------------
    def _captures(self):
        """The graph tensors this pipeline reads, each once, in a stable order."""
        out, seen, stack = [], set(), [self]
        while stack:
            node = stack.pop()
            for t in node._own_captures():
                if id(t) not in seen:
                    seen.add(id(t))
                    out.append(t)
            stack.extend(reversed(node._inputs))
        return out

    def _bind(self, values):
        """A copy of this pipeline with captured tensors replaced by ``values``
        (dict id(tensor) -> array); subtrees without captures are shared."""
        if not values or not self._captures():
            return self
        node = self._rebind_own(values)
        if node is self:
            node = copy.copy(self)
        node._inputs = [d._bind(values) for d in self._inputs]
        return node

    def _check_bound(self):
        caps = self._captures()
        if caps:
            raise RuntimeError(
                f"This dataset reads the graph tensor {caps[0].name}; create an iterator with "
                "make_initializable_iterator() and feed it when running iterator.initializer.")

    def _numpy_batches(self):
        """Fast internal iteration: a generator of elements as nested NumPy arrays."""
        self._check_bound()
        return self._elements()

    def _packer(self):
        spec = self._spec
        if isinstance(spec, TensorSpec):
            return lambda flat: flat[0]
        if type(spec) is tuple and all(isinstance(s, TensorSpec) for s in spec):
            return tuple
        return lambda flat: nest.pack_sequence_as(spec, flat)

    def _rows(self):
        """Element-wise iteration of an index plan (used by stream-capable nodes)."""
        return indexing.rows(self._index_plan(), self._packer())

    # ---- public surface --------------------------------------------------------------
    @property
    def element_spec(self):
        """The type specification of an element: a nested structure of ``tf.TensorSpec``."""
        return self._spec

    def __iter__(self):
        if not context.executing_eagerly():
            raise RuntimeError("`tf.data.Dataset` only supports Python-style iteration in "
                               "eager mode or within tf.function.")
        from numflow.data.iterators import OwnedIterator
        return OwnedIterator(self)

    def __bool__(self):
        return True

    def __len__(self):
        if not context.executing_eagerly():
            raise TypeError("`tf.data.Dataset` only supports `len` in eager mode. Use "
                            "`tf.data.Dataset.cardinality()` instead.")
        n = self._cardinality()
        if n == INFINITE:
            raise TypeError("The dataset is infinite.")
        if n == UNKNOWN:
            raise TypeError("The dataset length is unknown.")
        return n

    def __repr__(self):
        return f"<{type(self).__name__} element_spec={self._spec!r}>"

    def cardinality(self):
        """The number of elements as an int64 scalar tensor: ``tf.data.INFINITE_CARDINALITY``
        (-1) for an infinite dataset, ``tf.data.UNKNOWN_CARDINALITY`` (-2) when unknown."""
        return convert_to_tensor(np.int64(self._cardinality()))

    def as_numpy_iterator(self):
        """An iterator over the elements as NumPy values (eager mode only).

        Scalars come out as NumPy scalars, string scalars as ``bytes``, structures kept.

        Example:
          >>> list(Dataset.range(3).as_numpy_iterator())
          [0, 1, 2]
        """
        if not context.executing_eagerly():
            raise RuntimeError("`tf.data.Dataset.as_numpy_iterator()` is only supported "
                               "in eager mode.")
        for s in nest.flatten(self._spec):
            if isinstance(s, structure.DatasetSpec):
                raise TypeError("Dataset.as_numpy_iterator() is not supported for datasets "
                                "that produce values of type DatasetSpec")
        self._check_bound()
        return _NumpyIterator(self._elements())

    # ---- sources ---------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors, name=None):
        """A dataset of the slices of ``tensors`` along their first dimension.

        Args:
          tensors: a tensor, array, list (converted to one tensor) or nested
            tuple/dict of them; all must have the same first dimension.
          name: unused (TF's argument).

        Example:
          >>> [int(x) for x in Dataset.from_tensor_slices([4, 5])]
          [4, 5]
        """
        return _TensorSliceDataset(tensors)

    @staticmethod
    def from_tensors(tensors, name=None):
        """A dataset with the single element ``tensors`` (a nested structure)."""
        return _TensorDataset(tensors)

    @staticmethod
    def range(*args, output_type=dtypes.int64, name=None):
        """``range(stop)``, ``range(start, stop[, step])`` as a dataset of scalars.

        Example:
          >>> list(Dataset.range(1, 6, 2).as_numpy_iterator())
          [1, 3, 5]
        """
        return _RangeDataset(args, output_type)

    @staticmethod
    def from_generator(generator, output_types=None, output_shapes=None, args=None,
                       output_signature=None, name=None):
        """A dataset of the values yielded by ``generator(*args)`` (called once per pass).

        Args:
          generator: a callable returning an iterator.
          output_types, output_shapes: the older way of describing the elements.
          args: tensors passed (as NumPy values) to ``generator``.
          output_signature: a nested structure of ``tf.TensorSpec``.

        An exception raised by the generator reaches the consumer after the elements
        yielded before it, unchanged.
        """
        from numflow.data.generator import _GeneratorDataset
        return _GeneratorDataset(generator, output_types, output_shapes, args,
                                 output_signature)

    @staticmethod
    def zip(*args, datasets=None, name=None):
        """A dataset of tuples (or the given structure) of elements of ``datasets``;
        it stops with the shortest input."""
        if datasets is None:
            datasets = args[0] if len(args) == 1 else args
        elif args:
            raise TypeError("Both `*args` and `datasets` cannot be set.")
        return _ZipDataset(datasets)

    @staticmethod
    def list_files(file_pattern, shuffle=None, seed=None, name=None):
        """A dataset of the file names matching ``file_pattern`` (shuffled by default)."""
        from numflow.data.readers import list_files
        return list_files(file_pattern, shuffle, seed)

    @staticmethod
    def sample_from_datasets(datasets, weights=None, seed=None,
                             stop_on_empty_dataset=False, rerandomize_each_iteration=None):
        """Interleaves ``datasets`` by drawing each element's source at random."""
        from numflow.data.transforms import sample_from_datasets
        return sample_from_datasets(datasets, weights, seed, stop_on_empty_dataset)

    @staticmethod
    def choose_from_datasets(datasets, choice_dataset, stop_on_empty_dataset=True):
        """Takes each element from ``datasets[choice]`` for ``choice`` in ``choice_dataset``."""
        from numflow.data.transforms import _ChooseFromDataset
        return _ChooseFromDataset(datasets, choice_dataset, stop_on_empty_dataset)

    # ---- transformations (implemented in transforms / batching / prefetch) -----------
    def concatenate(self, dataset, name=None):
        """The elements of this dataset followed by those of ``dataset``."""
        return _ConcatenateDataset(self, dataset)

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        """Applies ``map_func`` to each element (a tuple element is spread over the
        arguments). ``num_parallel_calls`` is accepted; elements are mapped in order.

        Example:
          >>> ds = Dataset.from_tensor_slices(([1, 2], [3, 4])).map(lambda a, b: a + b)
          >>> list(ds.as_numpy_iterator())
          [4, 6]
        """
        from numflow.data.transforms import _MapDataset
        return _MapDataset(self, map_func)

    def filter(self, predicate, name=None):
        """Keeps the elements for which ``predicate`` returns True (a scalar bool)."""
        from numflow.data.transforms import _FilterDataset
        return _FilterDataset(self, predicate)

    def flat_map(self, map_func, name=None):
        """Maps each element to a dataset and concatenates those datasets."""
        from numflow.data.transforms import _FlatMapDataset
        return _FlatMapDataset(self, map_func)

    def interleave(self, map_func, cycle_length=None, block_length=None,
                   num_parallel_calls=None, deterministic=None, name=None):
        """Maps elements to datasets and interleaves them: ``cycle_length`` open at once,
        ``block_length`` consecutive elements from each (TF's exact order)."""
        from numflow.data.transforms import _InterleaveDataset
        return _InterleaveDataset(self, map_func, cycle_length, block_length)

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None,
              deterministic=None, name=None):
        """Stacks ``batch_size`` consecutive elements (the last batch may be smaller
        unless ``drop_remainder``).

        Example:
          >>> [b.shape.as_list() for b in Dataset.range(5).batch(2)]
          [[2], [2], [1]]
        """
        from numflow.data.batching import _BatchDataset
        return _BatchDataset(self, batch_size, drop_remainder)

    def padded_batch(self, batch_size, padded_shapes=None, padding_values=None,
                     drop_remainder=False, name=None):
        """Batches elements of different shapes by padding them (to ``padded_shapes``,
        or to the largest element of each batch where a dimension is None)."""
        from numflow.data.batching import _PaddedBatchDataset
        return _PaddedBatchDataset(self, batch_size, padded_shapes, padding_values,
                                   drop_remainder)

    def unbatch(self, name=None):
        """Splits each element along its first dimension into several elements."""
        from numflow.data.batching import _UnbatchDataset
        return _UnbatchDataset(self)

    def window(self, size, shift=None, stride=1, drop_remainder=False, name=None):
        """A dataset of windows: each element is a (structure of) Dataset of ``size``
        consecutive elements, windows starting every ``shift`` elements."""
        from numflow.data.batching import _WindowDataset
        return _WindowDataset(self, size, shift, stride, drop_remainder)

    def rebatch(self, batch_size, drop_remainder=False, name=None):
        """Unbatches and batches again with ``batch_size``."""
        return self.unbatch().batch(batch_size, drop_remainder=drop_remainder)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=None, name=None):
        """Shuffles with a buffer of ``buffer_size`` elements, as TF does.

        With ``reshuffle_each_iteration`` (the default) every pass (each epoch of a
        ``repeat``) has a different order; with a seed (``seed`` or ``tf.random.set_seed``)
        the sequence of orders is reproducible. ``buffer_size=-1`` buffers everything.

        The algorithm is TF's: the first output is drawn uniformly from the first
        ``buffer_size`` elements, each later one from the buffer after the next input
        refilled the drawn slot, and the buffer is emptied in random order at the end.
        What differs from TF: the random numbers (NumPy's PCG64, not Philox: the same
        seed gives another order than TF's), and the input is read one element ahead.
        Over an in-memory source the buffer holds row indices, not elements, so a
        following ``batch`` gathers each batch at once.
        """
        from numflow.data.transforms import _ShuffleDataset
        return _ShuffleDataset(self, buffer_size, seed, reshuffle_each_iteration)

    def repeat(self, count=None, name=None):
        """Repeats the dataset ``count`` times (forever when None or -1)."""
        from numflow.data.transforms import _RepeatDataset
        return _RepeatDataset(self, count)

    def take(self, count, name=None):
        """The first ``count`` elements (all of them when -1)."""
        from numflow.data.transforms import _TakeDataset
        return _TakeDataset(self, count)

    def skip(self, count, name=None):
        """All but the first ``count`` elements (none when -1)."""
        from numflow.data.transforms import _SkipDataset
        return _SkipDataset(self, count)

    def shard(self, num_shards, index, name=None):
        """Every ``num_shards``-th element, starting at ``index``."""
        from numflow.data.transforms import _ShardDataset
        return _ShardDataset(self, num_shards, index)

    def enumerate(self, start=0, name=None):
        """Pairs ``(i, element)`` with an int64 counter from ``start``."""
        return Dataset.zip((Dataset.range(start, np.iinfo(np.int64).max), self))

    def take_while(self, predicate, name=None):
        """The elements up to (not including) the first for which ``predicate`` is False."""
        from numflow.data.transforms import _TakeWhileDataset
        return _TakeWhileDataset(self, predicate)

    def scan(self, initial_state, scan_func, name=None):
        """Maps with a carried state: ``scan_func(state, element) -> (state, output)``."""
        from numflow.data.transforms import _ScanDataset
        return _ScanDataset(self, initial_state, scan_func)

    def unique(self, name=None):
        """Drops elements (scalars of int or string type) seen before."""
        from numflow.data.transforms import _UniqueDataset
        return _UniqueDataset(self)

    def ignore_errors(self, log_warning=False, name=None):
        """Skips the elements whose computation raised an error."""
        from numflow.data.transforms import _IgnoreErrorsDataset
        return _IgnoreErrorsDataset(self, log_warning)

    def prefetch(self, buffer_size, name=None):
        """Computes up to ``buffer_size`` elements ahead in a background thread
        (``tf.data.AUTOTUNE`` picks the size)."""
        from numflow.data.prefetch import _PrefetchDataset
        return _PrefetchDataset(self, buffer_size)

    def cache(self, filename="", name=None):
        """Keeps the elements after the first complete pass, in memory or (with a
        ``filename``) in a file that later runs read instead."""
        from numflow.data.transforms import _CacheDataset
        return _CacheDataset(self, filename)

    def apply(self, transformation_func):
        """``transformation_func(self)``, which must return a Dataset."""
        ds = transformation_func(self)
        if not structure.is_dataset(ds):
            raise TypeError("`transformation_func` must return a `tf.data.Dataset` object.")
        return ds

    def reduce(self, initial_state, reduce_func, name=None):
        """Folds the elements into a state: ``reduce_func(state, element) -> state``.

        Example:
          >>> int(Dataset.range(5).reduce(np.int64(0), lambda s, x: s + x))
          10
        """
        from numflow.data.transforms import reduce_dataset
        return reduce_dataset(self, initial_state, reduce_func)

    def get_single_element(self, name=None):
        """The only element of the dataset (InvalidArgumentError if it has 0 or more)."""
        from numflow.data.transforms import get_single_element
        return get_single_element(self)

    def with_options(self, options, name=None):
        """This dataset with ``options`` (a ``tf.data.Options``) attached."""
        ds = copy.copy(self)
        base = self._opts
        ds._opts = options if base is None else base.merge(options)
        return ds

    def options(self):
        """The ``tf.data.Options`` attached to this dataset (or its inputs)."""
        from numflow.data.options import Options
        node = self
        while node is not None:
            if node._opts is not None:
                return node._opts
            node = node._inputs[0] if node._inputs else None
        return Options()

    # ---- TF1 (DatasetV1) surface -----------------------------------------------------
    @property
    def output_types(self):
        """TF1: the nested structure of element dtypes."""
        return nest.map_structure(lambda s: getattr(s, "dtype", s), self._spec)

    @property
    def output_shapes(self):
        """TF1: the nested structure of element shapes."""
        return nest.map_structure(lambda s: getattr(s, "shape", s), self._spec)

    @property
    def output_classes(self):
        """TF1: the nested structure of element classes (Tensor, SparseTensor...)."""
        from numflow.data.sparse import SparseTensor

        def cls(s):
            return SparseTensor if isinstance(s, structure.SparseTensorSpec) else \
                Dataset if isinstance(s, structure.DatasetSpec) else Tensor
        return nest.map_structure(cls, self._spec)

    def make_one_shot_iterator(self):
        """TF1: an iterator that needs no initialization (``tf.data.make_one_shot_iterator``)."""
        from numflow.data.iterators import make_one_shot_iterator
        return make_one_shot_iterator(self)

    def make_initializable_iterator(self, shared_name=None):
        """TF1: an iterator with an ``initializer`` op to run (again) before use."""
        from numflow.data.iterators import make_initializable_iterator
        return make_initializable_iterator(self, shared_name)


class _NumpyIterator:
    """The iterator of ``as_numpy_iterator()``."""

    def __init__(self, gen):
        self._gen = gen

    def __iter__(self):
        return self

    def __next__(self):
        return structure.to_numpy(next(self._gen))

    def next(self):
        """The next element (``StopIteration`` at the end)."""
        return self.__next__()


def as_count(value, what):
    """An int from a Python int, NumPy scalar or eager/constant tensor."""
    if isinstance(value, Tensor):
        v = infer.constant_value(value)
        if v is None:
            raise ValueError(f"`{what}` must be known when the dataset is built; got the "
                             f"symbolic tensor {value.name}")
        value = v
    try:
        return int(np.asarray(value).reshape(()))
    except (TypeError, ValueError):
        raise TypeError(f"`{what}` must be an integer scalar, got {value!r}") from None


def combine_cardinality_min(cards):
    """TF's zip rule: unknown if any is unknown, else the smallest finite one."""
    if any(c == UNKNOWN for c in cards):
        return UNKNOWN
    finite = [c for c in cards if c != INFINITE]
    return min(finite) if finite else INFINITE


def op_seeds(seed):
    """The (graph seed, op seed) pair of a random dataset op, following TF's rules."""
    if context.executing_eagerly():
        global_seed = context.global_seed()
        counter = context.next_eager_op_seed() if global_seed is not None and seed is None \
            else 0
    else:
        graph = context.get_default_graph()
        global_seed = graph.seed
        counter = len(graph.get_operations())
    if global_seed is not None:
        return int(global_seed), int(counter if seed is None else as_count(seed, "seed"))
    if seed is not None:
        return _DEFAULT_GRAPH_SEED, as_count(seed, "seed")
    return tuple(int(x) for x in np.random.SeedSequence().generate_state(2))


# ---- sources ---------------------------------------------------------------------------

def _source_leaf(v):
    """A source's leaf: an array, or a graph tensor whose value comes at run time."""
    if isinstance(v, Tensor) and not isinstance(v, EagerTensor):
        c = infer.constant_value(v)
        return v if c is None else structure.leaf_value(c)
    return structure.leaf_value(v)


def _normalize_source(tensors):
    if isinstance(tensors, list):
        with structure.eager_scope():
            tensors = convert_to_tensor(tensors)
    return structure.map_leaves(_source_leaf, tensors)


class _TensorSliceDataset(Dataset):
    """``from_tensor_slices``: rows of in-memory arrays (or of fed graph tensors)."""

    def __init__(self, tensors):
        value = _normalize_source(tensors)
        leaves = nest.flatten(value)
        if not leaves:
            raise ValueError("Invalid `tensors`: the structure is empty.")
        specs = []
        for x in leaves:
            if isinstance(x, structure.SparseTensor) or structure.is_dataset(x):
                raise TypeError("from_tensor_slices supports dense tensors only.")
            s = structure.spec_of_leaf(x)
            if s.shape.rank == 0:
                raise ValueError("Unbatching a tensor is only supported for rank >= 1")
            specs.append(s)
        dims = {s.shape[0] for s in specs if s.shape.rank is not None} - {None}
        if len(dims) > 1:
            raise ValueError(f"Dimensions {' and '.join(str(d) for d in sorted(dims))} are "
                             "not compatible (all components of from_tensor_slices must "
                             "have the same first dimension)")
        self._n = dims.pop() if dims and not any(isinstance(x, Tensor) for x in leaves) \
            else None
        self._flat = leaves
        self._structure = value
        spec = nest.pack_sequence_as(value, [structure.unbatch_spec(s) for s in specs])
        super().__init__([], spec)

    def _own_captures(self):
        return [x for x in self._flat if isinstance(x, Tensor)]

    def _rebind_own(self, values):
        flat = [values.get(id(x), x) if isinstance(x, Tensor) else x for x in self._flat]
        lengths = {len(a) for a in flat}
        if len(lengths) > 1:
            raise errors.InvalidArgumentError(
                None, None, f"All components must have the same size in dimension 0: got "
                            f"{sorted(lengths)}")
        node = copy.copy(self)
        node._flat = flat
        node._n = lengths.pop()
        return node

    def _cardinality(self):
        return UNKNOWN if self._n is None else self._n

    def _source(self):
        if self._n is None:
            return None
        flat = self._flat
        return indexing.IndexSource(self._n, lambda c: indexing.gather_views(flat, c),
                                    self._spec)

    def _index_plan(self):
        src = self._source()
        return None if src is None else indexing.IndexPlan(src, indexing.sequential(src.n))

    def _elements(self):
        self._check_bound()
        return self._rows()


class _TensorDataset(Dataset):
    """``from_tensors``: one element."""

    def __init__(self, tensors):
        value = _normalize_source(tensors)
        self._value = value
        super().__init__([], structure.spec_of(value))

    def _own_captures(self):
        return [x for x in nest.flatten(self._value)
                if isinstance(x, Tensor) and not isinstance(x, EagerTensor)]

    def _rebind_own(self, values):
        node = copy.copy(self)
        node._value = nest.map_structure(
            lambda x: values.get(id(x), x) if isinstance(x, Tensor) else x, self._value)
        return node

    def _cardinality(self):
        return 1

    def _source(self):
        flat = nest.flatten(self._value)
        if not all(type(x) is np.ndarray for x in flat):
            return None

        def gather(c):
            n = indexing.chunk_len(c)
            return [np.broadcast_to(a, (n,) + a.shape) for a in flat]
        return indexing.IndexSource(1, gather, self._spec)

    def _index_plan(self):
        src = self._source()
        return None if src is None else indexing.IndexPlan(src, indexing.sequential(1))

    def _elements(self):
        yield self._value


class _RangeDataset(Dataset):
    """``range``: int64 (or ``output_type``) scalars, computed from indices."""

    def __init__(self, args, output_type):
        if not 1 <= len(args) <= 3:
            raise ValueError(f"Invalid arguments to range: {args}")
        vals = [as_count(a, "range argument") for a in args]
        start, stop, step = (0, vals[0], 1) if len(vals) == 1 else \
            (vals[0], vals[1], vals[2] if len(vals) == 3 else 1)
        if step == 0:
            raise errors.InvalidArgumentError(None, None, "step must be a non-zero integer.")
        self._range = range(start, stop, step)
        self._np_dtype = dtypes.as_dtype(output_type).as_numpy_dtype
        super().__init__([], TensorSpec([], output_type))

    def _cardinality(self):
        return len(self._range)

    def _source(self):
        r, dt = self._range, self._np_dtype

        def gather(c):
            if type(c) is slice:
                sub = r[c]
                return [np.arange(sub.start, sub.stop, sub.step, dtype=np.int64).astype(dt)]
            return [(r.start + c * r.step).astype(dt)]
        return indexing.IndexSource(len(r), gather, self._spec)

    def _index_plan(self):
        src = self._source()
        return indexing.IndexPlan(src, indexing.sequential(src.n))

    def _elements(self):
        dt = self._np_dtype
        for v in self._range:
            yield np.array(v, dtype=dt)


def zip_up_to(template, other, fn):
    """Applies ``fn(leaf, matching part of other)`` over ``template``'s structure."""
    if isinstance(template, dict):
        return {k: zip_up_to(v, other[k] if other is not None else None, fn)
                for k, v in template.items()}
    if isinstance(template, (tuple, list)):
        if other is not None and len(other) != len(template):
            raise ValueError(f"`output_shapes` {other!r} does not match the structure of "
                             f"`output_types` {template!r}")
        parts = [zip_up_to(t, other[i] if other is not None else None, fn)
                 for i, t in enumerate(template)]
        return type(template)(*parts) if hasattr(template, "_fields") else tuple(parts)
    return fn(template, other)


class _ZipDataset(Dataset):
    """``zip``: elements of several datasets side by side."""

    def __init__(self, datasets):
        if isinstance(datasets, list):
            datasets = tuple(datasets)
        flat = nest.flatten(datasets)
        if not flat or not all(structure.is_dataset(d) for d in flat):
            raise TypeError("Invalid `datasets`. `datasets` is expected to be a (nested) "
                            "structure of `tf.data.Dataset` objects.")
        self._structure = datasets
        spec = nest.pack_sequence_as(datasets, [d.element_spec for d in flat])
        super().__init__(flat, spec)

    def _cardinality(self):
        return combine_cardinality_min([d._cardinality() for d in self._inputs])

    def _source(self):
        srcs = [d._source() for d in self._inputs]
        if any(s is None for s in srcs):
            return None
        n = min(s.n for s in srcs)

        def gather(c):
            out = []
            for s in srcs:
                out.extend(s.gather(c))
            return out
        return indexing.IndexSource(n, gather, self._spec)

    def _index_plan(self):
        src = self._source()
        return None if src is None else indexing.IndexPlan(src, indexing.sequential(src.n))

    def _elements(self):
        if self._source() is not None:
            yield from self._rows()
            return
        iters = [d._elements() for d in self._inputs]
        shape = self._structure
        try:
            while True:
                parts = []
                for it in iters:
                    try:
                        parts.append(next(it))
                    except StopIteration:
                        return
                yield nest.pack_sequence_as(shape, parts)
        finally:
            for it in iters:
                it.close()


class _ConcatenateDataset(Dataset):
    """``concatenate``: one dataset after the other."""

    def __init__(self, first, second):
        if not structure.is_dataset(second):
            raise TypeError(f"`dataset` must be a `tf.data.Dataset`, got {second!r}")
        spec = structure.most_specific_compatible(first.element_spec, second.element_spec)
        super().__init__([first, second], spec)

    def _cardinality(self):
        a, b = (d._cardinality() for d in self._inputs)
        if UNKNOWN in (a, b):
            return UNKNOWN
        if INFINITE in (a, b):
            return INFINITE
        return a + b

    def _elements(self):
        for d in self._inputs:
            yield from d._elements()


def file_names(filenames):
    """A list of file names (str) from a string, a list, or a string tensor/array."""
    if isinstance(filenames, (str, bytes, os.PathLike)):
        return [os.fsdecode(filenames)]
    arr = structure.from_user(filenames) if not isinstance(filenames, list) else \
        np.asarray([os.fsdecode(f) for f in filenames], dtype=object)
    return [os.fsdecode(f) for f in np.asarray(arr, dtype=object).reshape(-1)]
