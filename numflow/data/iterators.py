"""Iterators: the eager ``OwnedIterator`` (``iter(dataset)``) and TF1 graph iterators.

A TF1 iterator is a key into ``RunState.resources``: each Session keeps its own Python
generator there, so two sessions over one graph have independent positions. Its ops:

* ``IteratorGetNext`` (stateful): advances the generator once per ``Session.run``,
  raising ``OutOfRangeError`` at the end and ``FailedPreconditionError`` before
  initialization. A one-shot iterator starts its generator on first use.
* ``MakeIterator`` (stateful): ``iterator.initializer`` / ``make_initializer(ds)``:
  starts a fresh pass, with the values of the placeholders the dataset reads (its
  captures) as inputs, so ``feed_dict`` reaches the pipeline.
* ``IteratorToStringHandle`` / ``from_string_handle``: feedable iterators.
"""
import itertools
import threading
import weakref

import numpy as np

from numflow.data import structure
from numflow.eager.function import TensorSpec
from numflow.framework import context, dtypes, errors, nest
from numflow.framework.tensor_shape import TensorShape, as_shape
from numflow.graph.tensor import Tensor
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.registry import register_op

_KEYS = itertools.count()
_ONE_SHOT = weakref.WeakValueDictionary()   # key -> GraphIterator (string handles)


class Iterator:
    """An iterator over a dataset (``tf.data.Iterator``; in TF1 code
    ``tf.compat.v1.data.Iterator``, with ``from_structure`` / ``from_string_handle``)."""

    @property
    def element_spec(self):
        """The type specification of the elements."""
        return self._spec

    @property
    def output_types(self):
        """TF1: the nested structure of element dtypes."""
        return nest.map_structure(lambda s: s.dtype, self._spec)

    @property
    def output_shapes(self):
        """TF1: the nested structure of element shapes."""
        return nest.map_structure(lambda s: s.shape, self._spec)

    @property
    def output_classes(self):
        """TF1: the nested structure of element classes."""
        from numflow.data.sparse import SparseTensor
        return nest.map_structure(
            lambda s: SparseTensor if isinstance(s, structure.SparseTensorSpec) else Tensor,
            self._spec)

    @staticmethod
    def from_structure(output_types, output_shapes=None, shared_name=None,
                       output_classes=None):
        """TF1: a reinitializable iterator; ``make_initializer(dataset)`` points it at a
        dataset of that structure."""
        return GraphIterator(_spec_from_types(output_types, output_shapes), None, False)

    @staticmethod
    def from_string_handle(string_handle, output_types, output_shapes=None,
                           output_classes=None):
        """TF1: a feedable iterator: ``get_next()`` reads from the iterator whose
        ``string_handle()`` value is fed to ``string_handle``."""
        it = GraphIterator(_spec_from_types(output_types, output_shapes), None, False)
        it._handle = convert_to_tensor(string_handle, dtype=dtypes.string)
        return it


def _spec_from_types(output_types, output_shapes):
    from numflow.data.dataset import zip_up_to
    return zip_up_to(output_types, output_shapes,
                      lambda t, s: TensorSpec(TensorShape(None) if s is None else as_shape(s),
                                              t))


class OwnedIterator(Iterator):
    """The eager iterator of ``iter(dataset)``: ``next()`` gives EagerTensor structures.

    Dropping it (or calling ``close()``) ends the pass: background threads stop.
    """

    def __init__(self, dataset):
        dataset._check_bound()
        self._spec = dataset.element_spec
        self._gen = dataset._elements()

    def __iter__(self):
        return self

    def __next__(self):
        return structure.to_user(next(self._gen))

    def next(self):
        """The next element (``StopIteration`` at the end)."""
        return self.__next__()

    def get_next(self, name=None):
        """The next element; ``OutOfRangeError`` at the end (``Iterator.get_next``)."""
        try:
            return self.__next__()
        except StopIteration:
            raise errors.OutOfRangeError(None, None, "End of sequence") from None

    def get_next_as_optional(self):
        """The next element wrapped in an Optional (``has_value()``, ``get_value()``)."""
        try:
            return _Optional(self.__next__(), self._spec)
        except StopIteration:
            return _Optional(None, self._spec)

    def close(self):
        """Ends the pass now (stops prefetch threads)."""
        self._gen.close()


class _Optional:
    """A value that may be absent (``tf.experimental.Optional``)."""

    def __init__(self, value, spec):
        self._value = value
        self.element_spec = spec

    def has_value(self, name=None):
        """A bool tensor: whether there is a value."""
        return convert_to_tensor(self._value is not None)

    def get_value(self, name=None):
        """The value (InvalidArgumentError when there is none)."""
        if self._value is None:
            raise errors.InvalidArgumentError(None, None, "The optional does not have a value.")
        return self._value


# ---- graph-mode ops ----------------------------------------------------------------------

class _State:
    """One Session's position in an iterator: the generator and a lock."""

    __slots__ = ("gen", "lock")

    def __init__(self, gen):
        self.gen = gen
        self.lock = threading.Lock()


def _start(dataset, capture_ids, values):
    bound = dataset._bind(dict(zip(capture_ids, values)))
    bound._check_bound()
    return _State(bound._elements())


def _specs_infer(ins, attrs):
    return [(s.dtype, s.shape) for s in attrs["specs"]]


def _get_next_kernel(xp, *inputs, ctx, key, specs, spec, one_shot, capture_ids, has_handle):
    values = inputs
    if has_handle:
        key = bytes(np.asarray(inputs[0], dtype=object)[()]).decode()
        source, values = _ONE_SHOT.get(key), ()
        one_shot = source._dataset if source is not None else None
        capture_ids = source._capture_ids if source is not None else []
        if capture_ids and key not in ctx.resources:
            raise errors.FailedPreconditionError(
                None, None, "A one-shot iterator that reads graph tensors must have run its "
                            "own get_next() before it is used through a string handle.")
    state = ctx.resources.get(key)
    if state is None:
        if one_shot is None:
            raise errors.FailedPreconditionError(
                None, None, "GetNext() failed because the iterator has not been initialized. "
                            "Ensure that you have run the initializer operation for this "
                            "iterator before getting the next element.")
        with ctx.lock:
            state = ctx.resources.get(key)
            if state is None:
                state = ctx.resources[key] = _start(one_shot, capture_ids, values)
    with state.lock:
        try:
            with structure.eager_scope():
                element = next(state.gen)
        except StopIteration:
            raise errors.OutOfRangeError(None, None, "End of sequence") from None
    comps = structure.to_components(spec, element)
    for i, (s, c) in enumerate(zip(specs, comps)):
        if not s.shape.is_compatible_with(c.shape):
            raise errors.InvalidArgumentError(
                None, None, f"Iterator element component {i} has shape {list(c.shape)}, "
                            f"incompatible with the iterator's shape {s.shape}.")
    return comps


def _make_kernel(xp, *values, ctx, key, dataset, capture_ids):
    old = ctx.resources.pop(key, None)
    if old is not None:
        with old.lock:
            old.gen.close()
    ctx.resources[key] = _start(dataset, capture_ids, values)
    return np.zeros((), np.int32)


def _handle_kernel(xp, key):
    return np.array(key.encode(), dtype=object)


_GET_NEXT = register_op("IteratorGetNext", infer=_specs_infer, kernel=_get_next_kernel,
                        num_outputs=None, stateful=True)
_MAKE_ITERATOR = register_op("MakeIterator", infer=lambda ins, a: [(dtypes.int32, TensorShape([]))],
                             kernel=_make_kernel, stateful=True)
_TO_HANDLE = register_op("IteratorToStringHandle",
                         infer=lambda ins, a: [(dtypes.string, TensorShape([]))],
                         kernel=_handle_kernel)


class GraphIterator(Iterator):
    """A TF1 iterator in a graph (one-shot, initializable, reinitializable, feedable)."""

    def __init__(self, spec, dataset, one_shot):
        if context.executing_eagerly():
            raise RuntimeError("TF1 graph iterators need graph mode; in eager mode iterate "
                               "the dataset with `for element in dataset` instead.")
        self._spec = spec
        self._dataset = dataset
        self._one_shot = one_shot
        self._key = f"iterator_{next(_KEYS)}"
        self._handle = None
        self._initializer = None
        self._comp_specs = structure.component_specs(spec)
        # A one-shot iterator evaluates the graph tensors its dataset reads (a cast, a
        # constant...) as inputs of get_next, and uses them on its first run.
        self._captures = dataset._captures() if one_shot else []
        self._capture_ids = [id(t) for t in self._captures]
        if one_shot:
            _ONE_SHOT[self._key] = self
        elif dataset is not None:
            self._initializer = self.make_initializer(dataset)

    @property
    def initializer(self):
        """The op to run before ``get_next()`` (and again to restart)."""
        if self._initializer is None:
            raise ValueError("Iterator does not have an initializer.")
        return self._initializer

    def make_initializer(self, dataset, name=None):
        """An op that (re)starts this iterator on ``dataset``."""
        if not structure.spec_is_compatible(self._spec, dataset.element_spec):
            raise TypeError(f"Expected output types {self.output_types!r} and shapes "
                            f"{self.output_shapes!r} but got dataset with element_spec "
                            f"{dataset.element_spec!r}.")
        caps = dataset._captures()
        attrs = {"key": self._key, "dataset": dataset, "capture_ids": [id(t) for t in caps]}
        return apply_op(_MAKE_ITERATOR, list(caps), attrs, name=name or "MakeIterator").op

    def get_next(self, name=None):
        """The next element as (a structure of) tensors; each ``Session.run`` that
        evaluates them advances the iterator once."""
        attrs = {"key": self._key, "specs": self._comp_specs, "spec": self._spec,
                 "one_shot": self._dataset if self._one_shot else None,
                 "capture_ids": self._capture_ids, "has_handle": self._handle is not None}
        inputs = [self._handle] if self._handle is not None else list(self._captures)
        outs = apply_op(_GET_NEXT, inputs, attrs, name=name or "IteratorGetNext")
        return structure.from_components(self._spec, outs, lambda i, t: t)

    def string_handle(self, name=None):
        """A string tensor naming this iterator, for ``from_string_handle`` feeds."""
        return apply_op(_TO_HANDLE, [], {"key": self._key},
                        name=name or "IteratorToStringHandle")


def make_one_shot_iterator(dataset):
    """An iterator that needs no initializer (``tf.compat.v1.data.make_one_shot_iterator``);
    in eager mode, the same as ``iter(dataset)``."""
    if context.executing_eagerly():
        return OwnedIterator(dataset)
    fed = [t for t in dataset._captures() if t.op.type.startswith("Placeholder")]
    if fed:
        raise ValueError(f"Failed to create a one-shot iterator for a dataset that reads the "
                         f"placeholder {fed[0].name}. Use `make_initializable_iterator()` "
                         "and feed it when running `iterator.initializer`.")
    return GraphIterator(dataset.element_spec, dataset, True)


def make_initializable_iterator(dataset, shared_name=None):
    """An iterator with an ``initializer`` op
    (``tf.compat.v1.data.make_initializable_iterator``)."""
    if context.executing_eagerly():
        raise RuntimeError("dataset.make_initializable_iterator is not supported when eager "
                           "execution is enabled. Use `for element in dataset` instead.")
    return GraphIterator(dataset.element_spec, dataset, False)


def get_output_types(dataset_or_iterator):
    """TF1: the element dtypes of a dataset or iterator."""
    return dataset_or_iterator.output_types


def get_output_shapes(dataset_or_iterator):
    """TF1: the element shapes of a dataset or iterator."""
    return dataset_or_iterator.output_shapes


def get_output_classes(dataset_or_iterator):
    """TF1: the element classes of a dataset or iterator."""
    return dataset_or_iterator.output_classes


# ---- whole-dataset values in graph mode (reduce, get_single_element) ---------------------

def _value_kernel(xp, *values, ctx, compute, dataset, capture_ids, spec, specs):
    ds = dataset._bind(dict(zip(capture_ids, values)))
    ds._check_bound()
    with structure.eager_scope():
        element = compute(ds)
    return structure.to_components(spec, element)


_DATASET_VALUE = register_op("DatasetToSingleElement", infer=_specs_infer,
                             kernel=_value_kernel, num_outputs=None, stateful=True)


def dataset_value_op(dataset, spec, compute, op_type):
    """Graph tensors holding ``compute(dataset)``, recomputed at every ``Session.run``."""
    caps = dataset._captures()
    attrs = {"compute": compute, "dataset": dataset, "capture_ids": [id(t) for t in caps],
             "spec": spec, "specs": structure.component_specs(spec)}
    outs = apply_op(_DATASET_VALUE, list(caps), attrs, name=op_type)
    return structure.from_components(spec, outs, lambda i, t: t)
