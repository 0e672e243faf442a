"""``tf.data.experimental``: constants, cardinality and the transformation functions
used with ``Dataset.apply``."""
from numflow.data.dataset import AUTOTUNE, INFINITE, UNKNOWN, Dataset
from numflow.data.options import (AutoShardPolicy, AutotuneAlgorithm, AutotuneOptions,
                                  DistributeOptions, ExternalStatePolicy, OptimizationOptions,
                                  ThreadingOptions)
from numflow.data.transforms import choose_from_datasets, sample_from_datasets
from numflow.framework import errors

INFINITE_CARDINALITY = INFINITE
UNKNOWN_CARDINALITY = UNKNOWN
__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "AutoShardPolicy",
           "AutotuneAlgorithm", "AutotuneOptions", "Counter", "DistributeOptions",
           "ExternalStatePolicy", "OptimizationOptions", "ThreadingOptions",
           "assert_cardinality", "cardinality", "choose_from_datasets", "enumerate_dataset",
           "get_single_element", "get_structure", "ignore_errors", "map_and_batch",
           "parallel_interleave", "sample_from_datasets", "scan", "shuffle_and_repeat",
           "take_while", "unbatch", "unique"]


def cardinality(dataset):
    """The number of elements of ``dataset`` as an int64 tensor (-1 infinite, -2 unknown)."""
    return dataset.cardinality()


def get_single_element(dataset):
    """The only element of ``dataset`` (``tf.data.experimental.get_single_element``)."""
    return dataset.get_single_element()


def get_structure(dataset_or_iterator):
    """The element_spec of a dataset or iterator."""
    return dataset_or_iterator.element_spec


def shuffle_and_repeat(buffer_size, count=None, seed=None):
    """``ds.apply(shuffle_and_repeat(n))``: shuffle then repeat (reshuffling each epoch)."""
    return lambda ds: ds.shuffle(buffer_size, seed=seed).repeat(count)


def map_and_batch(map_func, batch_size, num_parallel_batches=None, drop_remainder=False,
                  num_parallel_calls=None):
    """``ds.apply(map_and_batch(f, n))``: map then batch."""
    return lambda ds: ds.map(map_func).batch(batch_size, drop_remainder=drop_remainder)


def parallel_interleave(map_func, cycle_length, block_length=1, sloppy=False,
                        buffer_output_elements=None, prefetch_input_elements=None):
    """``ds.apply(parallel_interleave(f, n))``: interleave in TF's deterministic order."""
    return lambda ds: ds.interleave(map_func, cycle_length, block_length)


def unbatch():
    """``ds.apply(unbatch())``."""
    return lambda ds: ds.unbatch()


def ignore_errors(log_warning=False):
    """``ds.apply(ignore_errors())``."""
    return lambda ds: ds.ignore_errors(log_warning)


def take_while(predicate):
    """``ds.apply(take_while(p))``."""
    return lambda ds: ds.take_while(predicate)


def scan(initial_state, scan_func):
    """``ds.apply(scan(s, f))``."""
    return lambda ds: ds.scan(initial_state, scan_func)


def unique():
    """``ds.apply(unique())``."""
    return lambda ds: ds.unique()


def enumerate_dataset(start=0):
    """``ds.apply(enumerate_dataset())``."""
    return lambda ds: ds.enumerate(start)


def assert_cardinality(expected_cardinality):
    """``ds.apply(assert_cardinality(n))``: fails at iteration if the count differs."""
    from numflow.data.dataset import as_count

    def apply(ds):
        return _AssertCardinality(ds, as_count(expected_cardinality, "expected_cardinality"))
    return apply


def Counter(start=0, step=1, dtype=None):  # noqa: N802 - TF's name
    """An infinite dataset ``start, start + step, ...`` (int64)."""
    return Dataset.range(start, 2 ** 63 - 1 if step > 0 else -2 ** 63, step)


class _AssertCardinality(Dataset):
    def __init__(self, ds, n):
        self._n = n
        super().__init__([ds], ds.element_spec)

    def _cardinality(self):
        return self._n

    def _elements(self):
        count = 0
        for e in self._inputs[0]._elements():
            count += 1
            if self._n >= 0 and count > self._n:
                raise errors.FailedPreconditionError(
                    None, None, f"Input dataset was expected to contain {self._n} elements "
                                "but contained at least {count} elements.")
            yield e
        if count != self._n:
            raise errors.FailedPreconditionError(
                None, None, f"Input dataset was expected to contain {self._n} elements but "
                            f"contained only {count} elements.")
