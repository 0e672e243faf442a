"""``tf.data``: input pipelines (``import numflow as tf; tf.data.Dataset``).

``tf.compat.v1.data`` is this same module: it also holds the TF1 iterator functions
(``make_one_shot_iterator``, ``make_initializable_iterator``, ``get_output_types``...).
"""
from numflow.data import experimental, io_api
from numflow.data.dataset import AUTOTUNE, INFINITE, UNKNOWN, Dataset, _NumpyIterator
from numflow.data.iterators import (Iterator, get_output_classes, get_output_shapes,
                                    get_output_types, make_initializable_iterator,
                                    make_one_shot_iterator)
from numflow.data.options import Options, ThreadingOptions
from numflow.data.readers import FixedLengthRecordDataset, TFRecordDataset, TextLineDataset
from numflow.data.structure import DatasetSpec

INFINITE_CARDINALITY = INFINITE
UNKNOWN_CARDINALITY = UNKNOWN
NumpyIterator = _NumpyIterator
DatasetV1 = DatasetV2 = Dataset

__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "Dataset", "DatasetSpec",
           "DatasetV1", "DatasetV2", "FixedLengthRecordDataset", "Iterator", "NumpyIterator",
           "Options", "TFRecordDataset", "TextLineDataset", "ThreadingOptions", "experimental",
           "get_output_classes", "get_output_shapes", "get_output_types", "io_api",
           "make_initializable_iterator", "make_one_shot_iterator"]
