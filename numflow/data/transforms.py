"""Element-wise transformations: map, filter, flat_map, interleave, shuffle, repeat, take,
skip, shard, cache, and the smaller ones (take_while, scan, unique, ignore_errors,
sample/choose from datasets, reduce, get_single_element).

``shuffle``, ``repeat``, ``take``, ``skip`` and ``shard`` over an in-memory source also
run as index arithmetic (``indexing``), which ``batch`` turns into one gather per batch.
"""
import copy
import itertools
import os
import sys
import threading

import numpy as np

from numflow.data import indexing, structure
from numflow.data.dataset import INFINITE, UNKNOWN, Dataset, as_count, op_seeds
from numflow.data.functions import StructuredFunction, trace_dataset_fn
from numflow.eager.function import TensorSpec
from numflow.framework import context, dtypes, errors, nest


class _LazySpecDataset(Dataset):
    """A node whose element_spec may come from its first element (untraceable function)."""

    _lazy = None

    @property
    def _spec(self):
        if self._lazy is None:
            self._lazy = self._first_element_spec()
        return self._lazy

    @_spec.setter
    def _spec(self, value):
        self._lazy = value

    def _first_element_spec(self):
        if self._captures():
            raise TypeError(
                f"Cannot infer the element_spec of {type(self).__name__}: its function could "
                "not be traced and its input reads graph tensors. Make the function "
                "traceable (use numflow ops, not .numpy() or Python `if` on tensors).")
        gen = self._elements()
        try:
            first = next(gen)
        except StopIteration:
            return TensorSpec(None, dtypes.float32)
        finally:
            gen.close()
        return structure.relax(structure.spec_of(first))


class _MapDataset(_LazySpecDataset):
    def __init__(self, input_dataset, map_func):
        self._fn = StructuredFunction(map_func, input_dataset.element_spec, "map")
        super().__init__([input_dataset], self._fn.output_spec)

    def _cardinality(self):
        return self._inputs[0]._cardinality()

    def _elements(self):
        fn = self._fn
        for e in self._inputs[0]._elements():
            try:
                out = fn(e)
            except Exception as err:   # noqa: BLE001 - dropped only inside ignore_errors
                if skip_error(err):
                    continue
                raise
            yield out


def _as_bool(value):
    arr = value if type(value) is np.ndarray else None
    if arr is None or arr.shape != () or arr.dtype != np.bool_:
        raise errors.InvalidArgumentError(
            None, None, "Invalid `predicate`. `predicate` must return a `tf.bool` scalar "
                        f"tensor, but it returned {value!r}.")
    return bool(arr)


def _check_predicate(fn):
    spec = fn.output_spec
    if spec is not None and not (isinstance(spec, TensorSpec) and spec.dtype == dtypes.bool
                                 and spec.shape.is_compatible_with([])):
        raise ValueError("Invalid `predicate`. `predicate` must return a `tf.bool` scalar "
                         f"tensor, but its return type was {spec!r}.")


class _FilterDataset(Dataset):
    def __init__(self, input_dataset, predicate):
        self._fn = StructuredFunction(predicate, input_dataset.element_spec, "predicate")
        _check_predicate(self._fn)
        super().__init__([input_dataset], input_dataset.element_spec)

    def _elements(self):
        fn = self._fn
        for e in self._inputs[0]._elements():
            try:
                keep = _as_bool(fn(e))
            except Exception as err:   # noqa: BLE001 - dropped only inside ignore_errors
                if skip_error(err):
                    continue
                raise
            if keep:
                yield e


class _TakeWhileDataset(_FilterDataset):
    def _elements(self):
        fn = self._fn
        for e in self._inputs[0]._elements():
            if not _as_bool(fn(e)):
                return
            yield e


def _dataset_of(fn, element):
    ds = fn.call_eager(*_spread(structure.to_user(element)))
    if not structure.is_dataset(ds):
        raise TypeError(f"The function must return a `tf.data.Dataset` object, got "
                        f"{type(ds).__name__}.")
    ds._check_bound()
    return ds


def _spread(element):
    return element if type(element) is tuple else (element,)


class _FlatMapDataset(_LazySpecDataset):
    def __init__(self, input_dataset, map_func):
        if not callable(map_func):
            raise TypeError(f"`map_func` must be callable, got {map_func!r}")
        self._fn = _EagerFn(map_func)
        super().__init__([input_dataset], trace_dataset_fn(map_func, input_dataset.element_spec))

    def _elements(self):
        for e in self._inputs[0]._elements():
            yield from _dataset_of(self._fn, e)._elements()


class _EagerFn:
    """A user function called eagerly with user-facing arguments."""

    def __init__(self, fn):
        self._f = fn

    def call_eager(self, *args):
        """Calls the function eagerly with user-facing arguments."""
        with structure.eager_scope():
            return self._f(*args)


class _InterleaveDataset(_FlatMapDataset):
    def __init__(self, input_dataset, map_func, cycle_length, block_length):
        super().__init__(input_dataset, map_func)
        cycle = (os.cpu_count() or 1) if cycle_length in (None, -1) else \
            as_count(cycle_length, "cycle_length")
        block = 1 if block_length in (None, -1) else as_count(block_length, "block_length")
        if cycle <= 0 or block <= 0:
            raise errors.InvalidArgumentError(
                None, None, "cycle_length and block_length must be greater than zero.")
        self._cycle, self._block = cycle, block

    def _elements(self):
        return interleave(self._inputs[0]._elements(),
                          lambda e: _dataset_of(self._fn, e)._elements(),
                          self._cycle, self._block)


def interleave(inputs, open_fn, cycle, block):
    """TF's InterleaveDatasetOp order, step for step: ``cycle`` iterators open at once
    (``open_fn(input element)``), ``block`` consecutive items from each in turn."""
    current = [None] * cycle
    index = block_index = num_open = 0
    end_of_input = False
    try:
        while not end_of_input or num_open:
            it = current[index]
            if it is not None:
                try:
                    value = next(it)
                except StopIteration:
                    current[index] = None
                    num_open -= 1
                    index, block_index = (index + 1) % cycle, 0
                    continue
                block_index += 1
                if block_index == block:
                    index, block_index = (index + 1) % cycle, 0
                yield value
            elif not end_of_input:
                try:
                    element = next(inputs)
                except StopIteration:
                    end_of_input = True
                    continue
                current[index] = open_fn(element)
                num_open += 1
            else:
                index, block_index = (index + 1) % cycle, 0
    finally:
        for it in current:
            if it is not None and hasattr(it, "close"):
                it.close()


class _ShuffleDataset(Dataset):
    def __init__(self, input_dataset, buffer_size, seed, reshuffle_each_iteration):
        size = as_count(buffer_size, "buffer_size")
        if size == 0 or size < -2:
            raise errors.InvalidArgumentError(None, None,
                                              "buffer_size must be greater than zero.")
        self._size = sys.maxsize if size < 0 else size
        self._seeds = op_seeds(seed)
        self._reshuffle = True if reshuffle_each_iteration is None else \
            bool(reshuffle_each_iteration)
        self._epochs = itertools.count()
        super().__init__([input_dataset], input_dataset.element_spec)

    def _make_rng(self):
        epoch = next(self._epochs) if self._reshuffle else 0
        return np.random.default_rng([self._seeds[0], self._seeds[1], epoch])

    def _cardinality(self):
        return self._inputs[0]._cardinality()

    def _index_plan(self):
        plan = self._inputs[0]._index_plan()
        if plan is None:
            return None
        return indexing.IndexPlan(plan.source,
                                  indexing.shuffle(plan.chunks, self._size, self._make_rng))

    def _elements(self):
        if self._index_plan() is not None:
            yield from self._rows()
            return
        buf = indexing.ShuffleBuffer(self._size, self._make_rng())
        for e in self._inputs[0]._elements():
            yield from buf.push([e])
        yield from buf.drain()


class _RepeatDataset(Dataset):
    def __init__(self, input_dataset, count):
        count = -1 if count is None else as_count(count, "count")
        self._count = count
        super().__init__([input_dataset], input_dataset.element_spec)

    def _cardinality(self):
        n, count = self._inputs[0]._cardinality(), self._count
        if count == 0 or n == 0:
            return 0
        if n in (UNKNOWN, INFINITE):
            return n
        return INFINITE if count < 0 else n * count

    def _index_plan(self):
        plan = self._inputs[0]._index_plan()
        if plan is None:
            return None
        return indexing.IndexPlan(plan.source, indexing.repeat(plan.chunks, self._count))

    def _elements(self):
        if self._index_plan() is not None:
            yield from self._rows()
            return
        child, epoch = self._inputs[0], 0
        while self._count < 0 or epoch < self._count:
            produced = False
            for e in child._elements():
                produced = True
                yield e
            if not produced:
                return
            epoch += 1


class _TakeDataset(Dataset):
    def __init__(self, input_dataset, count):
        self._count = as_count(count, "count")
        super().__init__([input_dataset], input_dataset.element_spec)

    def _cardinality(self):
        n, count = self._inputs[0]._cardinality(), self._count
        if count < 0:
            return n
        if n == INFINITE:
            return count
        return UNKNOWN if n == UNKNOWN else min(n, count)

    def _index_plan(self):
        plan = self._inputs[0]._index_plan()
        if plan is None or self._count < 0:
            return plan
        return indexing.IndexPlan(plan.source, indexing.take(plan.chunks, self._count))

    def _elements(self):
        if self._index_plan() is not None:
            yield from self._rows()
            return
        if self._count < 0:
            yield from self._inputs[0]._elements()
            return
        if self._count == 0:
            return
        gen = self._inputs[0]._elements()
        try:
            for i, e in enumerate(gen, 1):
                yield e
                if i >= self._count:
                    return
        finally:
            gen.close()


class _SkipDataset(Dataset):
    def __init__(self, input_dataset, count):
        self._count = as_count(count, "count")
        super().__init__([input_dataset], input_dataset.element_spec)

    def _cardinality(self):
        n, count = self._inputs[0]._cardinality(), self._count
        if n in (INFINITE, UNKNOWN):
            return n
        return 0 if count < 0 else max(0, n - count)

    def _index_plan(self):
        plan = self._inputs[0]._index_plan()
        if plan is None:
            return None
        if self._count < 0:
            if self._inputs[0]._cardinality() < 0:
                return None           # skipping "everything" of an endless input never ends
            return indexing.IndexPlan(plan.source, lambda: iter(()))
        return indexing.IndexPlan(plan.source, indexing.skip(plan.chunks, self._count))

    def _elements(self):
        if self._index_plan() is not None:
            yield from self._rows()
            return
        if self._count < 0:
            for _ in self._inputs[0]._elements():
                pass
            return
        yield from itertools.islice(self._inputs[0]._elements(), self._count, None)


class _ShardDataset(Dataset):
    def __init__(self, input_dataset, num_shards, index):
        n, i = as_count(num_shards, "num_shards"), as_count(index, "index")
        if n <= 0:
            raise errors.InvalidArgumentError(None, None, "Number of shards must be greater "
                                                          f"than zero (got {n}).")
        if not 0 <= i < n:
            raise errors.InvalidArgumentError(None, None, f"Index must be between 0 and "
                                                          f"{n - 1} (currently index = {i}).")
        self._num, self._index = n, i
        super().__init__([input_dataset], input_dataset.element_spec)

    def _cardinality(self):
        n = self._inputs[0]._cardinality()
        if n < 0:
            return n
        return n // self._num + (1 if self._index < n % self._num else 0)

    def _index_plan(self):
        plan = self._inputs[0]._index_plan()
        if plan is None:
            return None
        return indexing.IndexPlan(plan.source,
                                  indexing.shard(plan.chunks, self._num, self._index))

    def _elements(self):
        if self._index_plan() is not None:
            yield from self._rows()
            return
        yield from itertools.islice(self._inputs[0]._elements(), self._index, None, self._num)


class _CacheDataset(Dataset):
    """``cache``: replays the elements of the first complete pass (memory or file)."""

    def __init__(self, input_dataset, filename):
        self._filename = os.fspath(filename) if filename else ""
        self._store = {}
        super().__init__([input_dataset], input_dataset.element_spec)

    def _cardinality(self):
        return self._inputs[0]._cardinality()

    def _rebind_own(self, values):
        node = copy.copy(self)
        node._store = {}            # new fed values: a new cache
        return node

    def _index_plan(self):
        # An in-memory source is its own cache; a shuffled stream is not (its order is
        # frozen by the first pass), so only sources pass through.
        child = self._inputs[0]
        return child._index_plan() if child._source() is not None else None

    def _elements(self):
        if self._index_plan() is not None:
            yield from self._rows()
            return
        done = self._store.get("elements")
        if done is None and self._filename:
            from numflow.data.cache_file import read_cache
            done = read_cache(self._filename, self._spec)
        if done is not None:
            self._store["elements"] = done
            yield from done
            return
        acc = []
        for e in self._inputs[0]._elements():
            acc.append(e)
            yield e
        if "elements" not in self._store:
            self._store["elements"] = acc
            if self._filename:
                from numflow.data.cache_file import write_cache
                write_cache(self._filename, self._spec, acc)


class _ScanDataset(_LazySpecDataset):
    def __init__(self, input_dataset, initial_state, scan_func):
        self._state0 = structure.from_user(initial_state)
        in_spec = (structure.spec_of(self._state0), input_dataset.element_spec)
        self._fn = StructuredFunction(scan_func, in_spec, "scan")
        out = self._fn.output_spec
        if out is not None:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError("The scan function must return a pair (new_state, output).")
            out = out[1]
        super().__init__([input_dataset], out)

    def _elements(self):
        state, fn = self._state0, self._fn
        for e in self._inputs[0]._elements():
            state, out = fn((state, e))
            yield out


class _UniqueDataset(Dataset):
    def __init__(self, input_dataset):
        spec = input_dataset.element_spec
        ok = (dtypes.int32, dtypes.int64, dtypes.string)
        if not isinstance(spec, TensorSpec) or spec.dtype not in ok:
            raise TypeError("Unique does not support type " f"{spec!r}: only single "
                            "int32, int64 or string components.")
        super().__init__([input_dataset], spec)

    def _elements(self):
        seen = set()
        for e in self._inputs[0]._elements():
            key = e.tobytes() if e.dtype != object else tuple(e.reshape(-1))
            if key not in seen:
                seen.add(key)
                yield e


class _IgnoreErrorsDataset(Dataset):
    """``ignore_errors``: elements whose function (map, filter, flat_map) raised are
    dropped; an error that ends an input (a generator that raised, a corrupt file)
    ends the dataset there, as TF does."""

    def __init__(self, input_dataset, log_warning):
        self._log = log_warning
        super().__init__([input_dataset], input_dataset.element_spec)

    def _elements(self):
        gen = self._inputs[0]._elements()
        while True:
            IGNORING.depth += 1
            try:
                e = next(gen)
            except StopIteration:
                return
            except Exception as err:   # noqa: BLE001 - the input itself failed: it is over
                if self._log:
                    print(f"Ignoring error: {err}", file=sys.stderr)
                return
            finally:
                IGNORING.depth -= 1
            yield e


class _Ignoring(threading.local):
    depth = 0


IGNORING = _Ignoring()


def skip_error(err):
    """True when an error computing one element should drop that element
    (inside ``ignore_errors``)."""
    return IGNORING.depth > 0 and isinstance(err, Exception)


class _ChooseFromDataset(Dataset):
    def __init__(self, datasets, choice_dataset, stop_on_empty_dataset):
        datasets = list(datasets)
        if not datasets:
            raise ValueError("Invalid `datasets`. `datasets` should not be empty.")
        spec = datasets[0].element_spec
        for d in datasets[1:]:
            spec = structure.most_specific_compatible(spec, d.element_spec)
        cs = choice_dataset.element_spec
        if not (isinstance(cs, TensorSpec) and cs.dtype == dtypes.int64 and cs.shape.rank == 0):
            raise TypeError("Invalid `choice_dataset`. Elements of `choice_dataset` must be "
                            f"scalar of `tf.int64` dtype, but found: {cs!r}.")
        self._stop = stop_on_empty_dataset
        super().__init__([choice_dataset] + datasets, spec)

    def _elements(self):
        iters = [d._elements() for d in self._inputs[1:]]
        live = [True] * len(iters)
        for c in self._inputs[0]._elements():
            i = int(c)
            if not 0 <= i < len(iters):
                raise errors.InvalidArgumentError(
                    None, None, f"`choice_dataset` output {i} is out of range [0, {len(iters)}).")
            if not live[i]:
                continue
            try:
                yield next(iters[i])
            except StopIteration:
                live[i] = False
                if self._stop:
                    return


class _SampleDataset(Dataset):
    def __init__(self, datasets, weights, seed, stop_on_empty):
        datasets = list(datasets)
        if not datasets:
            raise ValueError("Invalid `datasets`. `datasets` should not be empty.")
        spec = datasets[0].element_spec
        for d in datasets[1:]:
            spec = structure.most_specific_compatible(spec, d.element_spec)
        w = np.full(len(datasets), 1.0 / len(datasets)) if weights is None else \
            np.asarray(structure.leaf_value(weights), dtype=np.float64).reshape(-1)
        if len(w) != len(datasets):
            raise ValueError(f"Invalid `weights`. The shape of `weights` should be compatible "
                             f"with `[len(datasets)]` but is {list(w.shape)}.")
        self._weights, self._seeds, self._stop = w, op_seeds(seed), stop_on_empty
        self._epochs = itertools.count()
        super().__init__(datasets, spec)

    def _cardinality(self):
        cards = [d._cardinality() for d in self._inputs]
        if all(c == INFINITE for c in cards):
            return INFINITE
        return UNKNOWN

    def _elements(self):
        rng = np.random.default_rng([*self._seeds, next(self._epochs)])
        iters = [d._elements() for d in self._inputs]
        w = self._weights.copy()
        while w.sum() > 0:
            i = int(rng.choice(len(w), p=w / w.sum()))
            try:
                yield next(iters[i])
            except StopIteration:
                if self._stop:
                    return
                w[i] = 0.0


def sample_from_datasets(datasets, weights=None, seed=None, stop_on_empty_dataset=False):
    """Draws each element from one of ``datasets`` chosen at random with ``weights``
    (``tf.data.Dataset.sample_from_datasets``)."""
    return _SampleDataset(datasets, weights, seed, stop_on_empty_dataset)


def choose_from_datasets(datasets, choice_dataset, stop_on_empty_dataset=True):
    """Takes each element from ``datasets[i]`` for ``i`` in ``choice_dataset``
    (``tf.data.Dataset.choose_from_datasets``)."""
    return _ChooseFromDataset(datasets, choice_dataset, stop_on_empty_dataset)


# ---- dataset -> tensors ----------------------------------------------------------------

def _reduce_values(dataset, state0, fn):
    state = state0
    for e in dataset._elements():
        state = fn((state, e))
    return state


def reduce_dataset(dataset, initial_state, reduce_func):
    """``Dataset.reduce``: folds the elements; returns tensors (graph tensors in TF1)."""
    state0 = structure.from_user(initial_state)
    state_spec = structure.spec_of(state0)
    fn = StructuredFunction(reduce_func, (state_spec, dataset.element_spec), "reduce")
    out_spec = fn.output_spec or state_spec
    if fn.output_spec is not None:
        try:
            nest.assert_same_structure(state_spec, out_spec)
        except ValueError as e:
            raise TypeError(f"The element types for the new state must match the initial "
                            f"state. Expected {state_spec!r}; got {out_spec!r}.") from e
        for a, b in zip(nest.flatten(state_spec), nest.flatten(out_spec)):
            if a.dtype != b.dtype:
                raise TypeError(f"The element types for the new state must match the "
                                f"initial state. Expected {state_spec!r}; got {out_spec!r}.")
    return _to_tensors(dataset, structure.relax(state_spec) if fn.output_spec is None
                       else _state_spec(state_spec, out_spec),
                       lambda ds: _reduce_values(ds, state0, fn), "ReduceDataset")


def _state_spec(a, b):
    return nest.map_structure(lambda x, y: structure.most_specific_compatible(x, y), a, b)


def get_single_element(dataset):
    """The only element of ``dataset`` as tensors (``tf.data.Dataset.get_single_element``)."""
    def compute(ds):
        gen = ds._elements()
        try:
            try:
                first = next(gen)
            except StopIteration:
                raise errors.InvalidArgumentError(None, None, "Dataset was empty.") from None
            try:
                next(gen)
            except StopIteration:
                return first
            raise errors.InvalidArgumentError(None, None,
                                              "Dataset had more than one element.")
        finally:
            gen.close()
    return _to_tensors(dataset, dataset.element_spec, compute, "DatasetToSingleElement")


def _to_tensors(dataset, spec, compute, op_type):
    if context.executing_eagerly():
        dataset._check_bound()
        return structure.to_user(compute(dataset))
    from numflow.data.iterators import dataset_value_op
    return dataset_value_op(dataset, spec, compute, op_type)
