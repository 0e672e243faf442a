"""Data adapters for ``fit`` / ``evaluate`` / ``predict``: NumPy arrays (and lists / dicts
of them), ``tf.data.Dataset``, Python generators and ``keras.utils.Sequence``, all turned
into an iterator of ``(x, y, sample_weight)`` batches of NumPy arrays.

Batching is NumPy slicing (no per-sample Python); float64 arrays are cast once to the
model's float type.
"""
import math
import warnings

import numpy as np

from numflow.framework import nest
from numflow.keras import backend
from numflow.keras.utils.generic_utils import Sequence

INFINITE = -1
UNKNOWN = -2


def unpack_x_y_sample_weight(data):
    """Splits one batch into ``(x, y, sample_weight)`` (``tf.keras.utils.unpack_x_y_sample_weight``)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`, found: {data}")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The inverse of ``unpack_x_y_sample_weight``."""
    if y is None:
        return (x,) if nest.is_nested(x) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def _to_array(a):
    if a is None or isinstance(a, np.ndarray):
        return a
    if hasattr(a, "numpy"):
        return np.asarray(a.numpy())
    if hasattr(a, "values") and hasattr(a, "columns"):   # pandas DataFrame
        return np.asarray(a.values)
    return np.asarray(a)


def _cast_floats(a):
    if a is not None and a.dtype == np.float64 and backend.floatx() != "float64":
        return a.astype(backend.floatx())
    return a


def _scalar_lists_to_arrays(v):
    """A (nested) Python list of numbers becomes one array, as Keras treats it."""
    if isinstance(v, list) and v and all(isinstance(e, (int, float, bool, list)) for e in v):
        arr = np.asarray(v)
        if arr.dtype != object:
            return arr
    return v


def _is_array_structure(x):
    leaves = nest.flatten(x)
    return bool(leaves) and all(
        isinstance(a, (np.ndarray, list, int, float)) or hasattr(a, "numpy") or
        hasattr(a, "__array__") for a in leaves)


def class_weight_to_sample_weight(y, class_weight):
    """Per-sample weights from ``class_weight`` (a dict class -> weight) and labels ``y``
    (integers, or one-hot rows)."""
    y = np.asarray(nest.flatten(y)[0])
    if y.ndim == 2 and y.shape[1] > 1:
        labels = np.argmax(y, axis=1)
    else:
        labels = y.reshape(-1).astype(np.int64)
    max_class = max(class_weight)
    table = np.ones(max(int(max_class) + 1, int(labels.max()) + 1 if labels.size else 1),
                    np.float32)
    for k, v in class_weight.items():
        table[int(k)] = v
    return table[labels]


class DataAdapter:
    """The protocol every adapter follows."""

    def num_batches(self):
        """Batches per epoch, or None when unknown."""
        raise NotImplementedError

    def should_recreate_iterator(self):
        """Whether each epoch starts a fresh pass (else one iterator spans all epochs)."""
        return True

    def epoch_iterator(self):
        """A generator of batches for one pass."""
        raise NotImplementedError

    def on_epoch_end(self):
        """Called after every epoch."""


class ArrayAdapter(DataAdapter):
    """Batches in-memory arrays; reshuffles every epoch when ``shuffle`` is set
    (``'batch'`` shuffles the batch order only)."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, steps=None,
                 shuffle=False, class_weight=None):
        self._x = nest.map_structure(lambda a: _cast_floats(_to_array(a)), x)
        self._y = None if y is None else nest.map_structure(
            lambda a: _cast_floats(_to_array(a)), y)
        self._sw = None if sample_weight is None else nest.map_structure(_to_array,
                                                                         sample_weight)
        if class_weight is not None:
            if self._y is None:
                raise ValueError("`class_weight` requires targets `y`.")
            if len(nest.flatten(self._y)) > 1:
                raise ValueError("`class_weight` is only supported for Models with a single "
                                 "output.")
            cw = class_weight_to_sample_weight(self._y, class_weight)
            self._sw = cw if self._sw is None else self._sw * cw
        sizes = {int(a.shape[0]) for a in nest.flatten((self._x, self._y, self._sw))
                 if a is not None and getattr(a, "ndim", 0) > 0}
        if len(sizes) > 1:
            raise ValueError(f"Data cardinality is ambiguous: arrays have different numbers of "
                             f"samples {sorted(sizes)}. Make sure all arrays contain the same "
                             f"number of samples.")
        self._size = sizes.pop() if sizes else 1
        self._batch_size = int(batch_size or 32)
        self._shuffle = shuffle
        self._steps = steps
        self._num_batches = int(math.ceil(self._size / self._batch_size))
        self._flat = nest.flatten((self._x, self._y, self._sw))
        self._structure = (self._x, self._y, self._sw)

    def num_batches(self):
        """Batches per epoch."""
        return self._steps or self._num_batches

    def _pack(self, arrays):
        x, y, sw = nest.pack_sequence_as(self._structure, arrays)
        return pack_x_y_sample_weight(x, y, sw)

    def epoch_iterator(self):
        """A generator of ``(x, y, sample_weight)`` batches for one epoch."""
        n, bs = self._size, self._batch_size
        steps = self._steps or self._num_batches
        flat = self._flat
        produced = 0
        while produced < steps:
            if self._shuffle == "batch":
                order = np.random.permutation(self._num_batches)
                perm = None
            elif self._shuffle:
                perm = np.random.permutation(n)
                order = range(self._num_batches)
            else:
                perm, order = None, range(self._num_batches)
            for b in order:
                start, stop = b * bs, min((b + 1) * bs, n)
                if perm is None:
                    batch = [a[start:stop] if a is not None else None for a in flat]
                else:
                    idx = perm[start:stop]
                    batch = [a[idx] if a is not None else None for a in flat]
                yield self._pack(batch)
                produced += 1
                if produced >= steps:
                    return


class DatasetAdapter(DataAdapter):
    """Reads batches from a ``tf.data.Dataset`` (its ``_numpy_batches`` fast path)."""

    def __init__(self, dataset, steps=None):
        self._dataset = dataset
        self._steps = steps
        try:
            self._cardinality = int(dataset.cardinality())
        except (TypeError, ValueError, AttributeError):
            self._cardinality = UNKNOWN

    def num_batches(self):
        if self._steps:
            return self._steps
        return self._cardinality if self._cardinality >= 0 else None

    def should_recreate_iterator(self):
        return self._steps is None or self._cardinality == self._steps

    def epoch_iterator(self):
        for element in self._dataset._numpy_batches():
            yield unpack_x_y_sample_weight(element)


class GeneratorAdapter(DataAdapter):
    """Reads batches from a Python generator or iterator (consumed once)."""

    def __init__(self, generator, steps=None):
        self._gen = iter(generator)
        self._steps = steps

    def num_batches(self):
        return self._steps

    def should_recreate_iterator(self):
        return False

    def epoch_iterator(self):
        for element in self._gen:
            yield _batch_to_arrays(unpack_x_y_sample_weight(element))


class SequenceAdapter(DataAdapter):
    """Reads batches from a ``keras.utils.Sequence``; ``shuffle`` permutes batch order."""

    def __init__(self, sequence, steps=None, shuffle=False):
        self._seq = sequence
        self._steps = steps
        self._shuffle = shuffle

    def num_batches(self):
        return self._steps or len(self._seq)

    def epoch_iterator(self):
        order = list(range(len(self._seq)))
        if self._shuffle:
            np.random.shuffle(order)
        for i in order:
            yield _batch_to_arrays(unpack_x_y_sample_weight(self._seq[i]))

    def on_epoch_end(self):
        self._seq.on_epoch_end()


def _batch_to_arrays(batch):
    return nest.map_structure(lambda a: None if a is None else _cast_floats(_to_array(a)),
                              batch)


def select_adapter(x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False,
                   class_weight=None):
    """The adapter for ``x`` (arrays, a Dataset, a generator or a Sequence).

    Raises:
      ValueError: for targets given alongside a Dataset/generator/Sequence, or for data
        numflow cannot batch.
    """
    if hasattr(x, "_numpy_batches"):
        _no_targets(y, sample_weight, "a tf.data.Dataset")
        return DatasetAdapter(x, steps)
    if isinstance(x, Sequence):
        _no_targets(y, sample_weight, "a keras.utils.Sequence")
        return SequenceAdapter(x, steps, shuffle)
    if hasattr(x, "__next__") or (hasattr(x, "__iter__") and not isinstance(
            x, (list, tuple, dict, np.ndarray)) and not hasattr(x, "shape")):
        _no_targets(y, sample_weight, "a generator")
        return GeneratorAdapter(x, steps)
    x, y, sample_weight = (_scalar_lists_to_arrays(v) for v in (x, y, sample_weight))
    if x is None or not _is_array_structure(x):
        raise ValueError(f"Failed to find data adapter that can handle input: {type(x)}, "
                         f"{type(y)}")
    return ArrayAdapter(x, y, sample_weight, batch_size, steps, shuffle, class_weight)


def _no_targets(y, sample_weight, what):
    if y is not None:
        raise ValueError(f"`y` argument is not supported when using {what} as input "
                         f"(the targets come from the data itself).")
    if sample_weight is not None:
        raise ValueError(f"`sample_weight` argument is not supported when using {what} as "
                         f"input.")


def train_validation_split(arrays, validation_split):
    """Splits ``(x, y, sample_weight)`` arrays: the last ``validation_split`` fraction of the
    samples is held out (before any shuffling), as Keras does."""
    flat = nest.flatten(arrays)
    for a in flat:
        if a is not None and not isinstance(a, (np.ndarray, list)) and not hasattr(
                a, "__array__"):
            raise ValueError(f"`validation_split` is only supported for Tensors or NumPy "
                             f"arrays, found following types in the input: {type(a)}")
    arrays = nest.map_structure(_to_array, arrays)
    flat = nest.flatten(arrays)
    n = int(next(a for a in flat if a is not None).shape[0])
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"Training data contains {n} samples, which is not sufficient to "
                         f"split it into a validation and training set as specified by "
                         f"`validation_split={validation_split}`. Either provide more data, "
                         f"or a different value for the `validation_split` argument.")
    train = nest.pack_sequence_as(arrays, [None if a is None else a[:split_at] for a in flat])
    val = nest.pack_sequence_as(arrays, [None if a is None else a[split_at:] for a in flat])
    return train, val


class DataHandler:
    """Epochs and steps over an adapter, with Keras's rules for ``steps_per_epoch``: a
    Dataset with a step count differing from its size keeps one iterator across epochs."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, steps_per_epoch=None,
                 initial_epoch=0, epochs=1, shuffle=False, class_weight=None):
        self._adapter = select_adapter(x, y, sample_weight, batch_size, steps_per_epoch,
                                       shuffle, class_weight)
        self._initial_epoch = initial_epoch
        self._epochs = epochs
        self._steps = steps_per_epoch
        self._iterator = None
        self._insufficient_data = False
        self.inferred_steps = self._adapter.num_batches()

    def enumerate_epochs(self):
        """Yields ``(epoch, batch_iterator)``."""
        persistent = None
        if not self._adapter.should_recreate_iterator():
            persistent = self._adapter.epoch_iterator()
        for epoch in range(self._initial_epoch, self._epochs):
            if self._insufficient_data:
                break
            it = persistent if persistent is not None else self._adapter.epoch_iterator()
            yield epoch, it
            self._adapter.on_epoch_end()

    def steps(self, iterator):
        """Yields ``(step, batch)`` for one epoch."""
        limit = self._steps
        step = 0
        while limit is None or step < limit:
            try:
                batch = next(iterator)
            except StopIteration:
                if step == 0 or (limit is not None and step < limit):
                    self._insufficient_data = True
                    warnings.warn(
                        "Your input ran out of data; interrupting training. Make sure that "
                        "your dataset or generator can generate at least `steps_per_epoch * "
                        "epochs` batches. You may need to use the repeat() function when "
                        "building your dataset.", stacklevel=3)
                if self.inferred_steps is None:
                    self.inferred_steps = step
                return
            yield step, batch
            step += 1
        if self.inferred_steps is None:
            self.inferred_steps = step
