"""``tf.train.Example`` and its parts, plus array-level parsing of serialized Examples.

The message classes serialize byte-for-byte as TensorFlow's protobufs do from Python
(maps in protobuf-Python's deterministic key order). ``parse_examples`` is
the NumPy core of ``tf.io.parse_example``: FixedLen features become dense arrays
(batch first), VarLen features the ``(indices, values, dense_shape)`` triple that
the caller wraps in a SparseTensor.
"""
import collections

import numpy as np

from numflow.framework import dtypes, errors
from numflow.io import proto
from numflow.io.message import Field, Message
from numflow.io.proto import DecodeError  # noqa: F401 - part of this module's API


class BytesList(Message):
    """``tf.train.BytesList``: ``value`` is a repeated bytes field."""
    TYPE_NAME = "tensorflow.BytesList"
    FIELDS = (Field("value", 1, "bytes"),)


class FloatList(Message):
    """``tf.train.FloatList``: ``value`` is a repeated float (32-bit) field."""
    TYPE_NAME = "tensorflow.FloatList"
    FIELDS = (Field("value", 1, "float"),)


class Int64List(Message):
    """``tf.train.Int64List``: ``value`` is a repeated int64 field."""
    TYPE_NAME = "tensorflow.Int64List"
    FIELDS = (Field("value", 1, "int64"),)


class Feature(Message):
    """``tf.train.Feature``: one of ``bytes_list``, ``float_list``, ``int64_list``
    (the oneof ``kind``)."""
    TYPE_NAME = "tensorflow.Feature"
    FIELDS = (Field("bytes_list", 1, "message", BytesList),
              Field("float_list", 2, "message", FloatList),
              Field("int64_list", 3, "message", Int64List))
    ONEOFS = {"kind": ("bytes_list", "float_list", "int64_list")}


class Features(Message):
    """``tf.train.Features``: ``feature`` maps a name to a Feature."""
    TYPE_NAME = "tensorflow.Features"
    FIELDS = (Field("feature", 1, "map", Feature),)


class Example(Message):
    """``tf.train.Example``: a single ``features`` field."""
    TYPE_NAME = "tensorflow.Example"
    FIELDS = (Field("features", 1, "message", Features),)


# ---- parsing specs -------------------------------------------------------------------

class FixedLenFeature(collections.namedtuple("FixedLenFeature",
                                             ["shape", "dtype", "default_value"])):
    """``tf.io.FixedLenFeature(shape, dtype, default_value=None)``: a dense feature of
    fixed shape; without a default every Example must hold exactly prod(shape) values."""

    def __new__(cls, shape, dtype, default_value=None):
        return super().__new__(cls, shape, dtype, default_value)


class VarLenFeature(collections.namedtuple("VarLenFeature", ["dtype"])):
    """``tf.io.VarLenFeature(dtype)``: a variable-length feature, parsed as sparse."""


_KIND_OF = {1: "string", 2: "float", 3: "int64"}  # Feature field number -> TF type name
_NUMPY = {"string": object, "float": np.float32, "int64": np.int64}


def _type_name(dtype, key):
    d = dtypes.as_dtype(dtype)
    names = {dtypes.float32: "float", dtypes.int64: "int64", dtypes.string: "string"}
    if d not in names:
        raise errors.InvalidArgumentError(
            None, None, f"Feature {key}: dtype {d.name} is not one of float32, int64, string.")
    return names[d]


def _feature_values(feature_bytes):
    """(type name or None when the oneof is unset, value array) of a serialized Feature."""
    f = proto.Fields(feature_bytes)
    for number in (1, 2, 3):
        if f.has(number):
            values = f.message(number)
            if number == 1:
                out = np.empty(len(values.bytes_list(1)), dtype=object)
                out[:] = values.bytes_list(1)
            elif number == 2:
                out = values.fixed(1, "<f4").astype(np.float32)
            else:
                out = values.varints(1).view(np.int64)
            return _KIND_OF[number], out
    return None, None


def _example_features(serialized, wanted):
    """{key: (type name, values)} for the keys in ``wanted`` (the last map entry wins)."""
    found = {}
    try:
        example = proto.Fields(serialized)
        for features in example.messages(1):
            for entry in features.messages(1):
                key = entry.string(1)
                if key in wanted:
                    found[key] = entry.bytes(2)
        return {key: _feature_values(value) for key, value in found.items()}
    except DecodeError:
        raise errors.InvalidArgumentError(
            None, None, f"Could not parse example input, value: '{bytes(serialized)!r}'") \
            from None


def _dense_default(key, spec, kind, shape):
    if spec.default_value is None:
        return None
    value = np.array(spec.default_value, dtype=_NUMPY[kind])
    if kind == "string":
        value = np.vectorize(lambda s: s.encode() if isinstance(s, str) else s,
                             otypes=[object])(value)
    if value.size != int(np.prod(shape)):
        raise errors.InvalidArgumentError(
            None, None, f"Feature {key}: Input to reshape is a tensor with {value.size} values, "
            f"but the requested shape has {int(np.prod(shape))}")
    return value.reshape(shape)


def _parse_one(values, index, key, kind, spec, default, shape):
    """The dense value of FixedLen feature ``key`` in Example ``index``."""
    got_kind, got = values
    if got_kind is None:
        if default is None:
            raise errors.InvalidArgumentError(
                None, None, f"Name: <unknown>, Feature: {key} (data type: {kind}) is required "
                "but could not be found.")
        return default
    if got_kind != kind:
        raise errors.InvalidArgumentError(
            None, None, f"Name: <unknown>, Key: {key}, Index: {index}.  Data types don't "
            f"match. Data type: {got_kind} but expected type: {kind}")
    if got.size != int(np.prod(shape)):
        where = f"Name: <unknown>, Key: {key}, Index: {index}.  "
        if kind == "string":
            raise errors.InvalidArgumentError(None, None, where + "Can't parse serialized Example.")
        raise errors.InvalidArgumentError(
            None, None, where + f"Number of {kind} values != expected.  Values size: "
            f"{got.size} but output shape: {list(shape)}")
    return got.reshape(shape)


def parse_examples(serialized, features):
    """Parses serialized ``tf.train.Example`` protos into NumPy arrays.

    Args:
      serialized: a sequence (or 1-D array) of serialized Examples, or one bytes
        object (then outputs have no batch dimension, as ``tf.io.parse_single_example``).
      features: dict name -> FixedLenFeature or VarLenFeature (dtype float32, int64
        or string).

    Returns:
      dict name -> array. FixedLen: shape ``[batch] + shape`` (float32, int64, or an
      object array of bytes). VarLen: a tuple ``(indices int64 [N, 2], values,
      dense_shape int64 [2])`` (``[N, 1]`` and ``[1]`` for a single Example).

    Raises:
      InvalidArgumentError: naming the feature when a required feature is missing,
        has the wrong number of values or the wrong type, or an input is not an Example.
    """
    single = isinstance(serialized, (bytes, bytearray)) or np.ndim(serialized) == 0
    batch = [serialized] if single else list(np.asarray(serialized, dtype=object).ravel())
    specs = {}
    for key, spec in features.items():
        kind = _type_name(spec.dtype, key)
        if isinstance(spec, FixedLenFeature):
            shape = tuple(int(d) for d in spec.shape)
            specs[key] = (spec, kind, shape, _dense_default(key, spec, kind, shape))
        elif isinstance(spec, VarLenFeature):
            specs[key] = (spec, kind, None, None)
        else:
            raise NotImplementedError(f"Parsing {type(spec).__name__} features.")
    parsed = [_example_features(s, specs) for s in batch]
    out = {}
    for key, (spec, kind, shape, default) in specs.items():
        per_example = [p.get(key, (None, None)) for p in parsed]
        if shape is not None:
            rows = [_parse_one(v, i, key, kind, spec, default, shape)
                    for i, v in enumerate(per_example)]
            dense = np.empty((len(rows),) + shape, dtype=_NUMPY[kind])
            if rows:
                dense[...] = np.stack(rows)
            out[key] = dense[0] if single else dense
        else:
            out[key] = _sparse(key, kind, per_example, single)
    return out


def _sparse(key, kind, per_example, single):
    lists = []
    for index, (got_kind, got) in enumerate(per_example):
        if got_kind is not None and got_kind != kind:
            raise errors.InvalidArgumentError(
                None, None, f"Name: <unknown>, Key: {key}, Index: {index}.  Data types don't "
                f"match. Expected type: {kind}, Actual type: {got_kind}")
        lists.append(got if got_kind is not None else np.zeros(0, dtype=_NUMPY[kind]))
    lengths = np.array([len(v) for v in lists], dtype=np.int64)
    values = (np.concatenate(lists).astype(_NUMPY[kind]) if lists
              else np.zeros(0, dtype=_NUMPY[kind]))
    rows = np.repeat(np.arange(len(lists), dtype=np.int64), lengths)
    cols = np.arange(values.size, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths,
                                                              lengths)
    width = int(lengths.max()) if lengths.size else 0
    if single:
        return cols.reshape(-1, 1), values, np.array([width], dtype=np.int64)
    return (np.stack([rows, cols], axis=1), values,
            np.array([len(lists), width], dtype=np.int64))
