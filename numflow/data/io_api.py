"""Public names for TFRecord files and ``tf.train.Example`` parsing.

The formats live in ``numflow.io`` (tfrecord, example); this module exports them under
TF's names (``tf.io.TFRecordWriter``, ``tf.train.Example``...) and defines the parsing
ops, which work in eager mode, in TF1 graphs and inside ``Dataset.map``:

* ``ParseExampleV2`` (``tf.io.parse_example``) over a vector of serialized Examples;
* ``ParseSingleExample`` (``tf.io.parse_single_example``) over one;
* ``DecodeRaw`` (``tf.io.decode_raw``).

A ``VarLenFeature`` comes back as a ``tf.sparse.SparseTensor``.
"""
import numpy as np

from numflow._api.export import export, export_value
from numflow.data.sparse import SparseTensor
from numflow.framework import dtypes, errors
from numflow.framework.tensor_shape import TensorShape, as_shape
from numflow.io import example as _example, tfrecord as _tfrecord
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.registry import register_op

export_value(_tfrecord.TFRecordWriter, "io.TFRecordWriter",
             v1=["io.TFRecordWriter", "python_io.TFRecordWriter"])
export_value(_tfrecord.TFRecordOptions, "io.TFRecordOptions",
             v1=["io.TFRecordOptions", "python_io.TFRecordOptions"])
export_value(_tfrecord.TFRecordCompressionType,
             v1=["io.TFRecordCompressionType", "python_io.TFRecordCompressionType"])
export_value(_tfrecord.tf_record_iterator,
             v1=["io.tf_record_iterator", "python_io.tf_record_iterator"])
export_value(_example.FixedLenFeature, "io.FixedLenFeature",
             v1=["io.FixedLenFeature", "FixedLenFeature"])
export_value(_example.VarLenFeature, "io.VarLenFeature",
             v1=["io.VarLenFeature", "VarLenFeature"])
for _name in ("Example", "Features", "Feature", "BytesList", "FloatList", "Int64List"):
    export_value(getattr(_example, _name), f"train.{_name}")


# ---- parsing -----------------------------------------------------------------------------

def _feature_specs(features):
    if not isinstance(features, dict) or not features:
        raise ValueError("Missing: features was empty." if isinstance(features, dict) else
                         f"`features` must be a dict, got {type(features).__name__}")
    out = []
    for key in sorted(features):
        spec = features[key]
        if isinstance(spec, _example.FixedLenFeature):
            dims = as_shape(spec.shape).as_list()
            if any(d is None for d in dims):
                raise ValueError(f"First dimension of shape for feature {key} unknown. "
                                 "Consider using FixedLenSequenceFeature.")
            out.append((key, "fixed", dtypes.as_dtype(spec.dtype), tuple(dims)))
        elif isinstance(spec, _example.VarLenFeature):
            out.append((key, "var", dtypes.as_dtype(spec.dtype), None))
        else:
            raise ValueError(f"Unsupported feature type for {key}: {type(spec).__name__} "
                             "(FixedLenFeature and VarLenFeature are supported).")
    return out


def _parse_infer(ins, attrs):
    single = attrs["single"]
    batch = [] if single else [ins[0].shape[0] if ins[0].shape.rank == 1 else None]
    rank = 1 if single else 2
    out = []
    for _, kind, dtype, shape in attrs["specs"]:
        if kind == "fixed":
            out.append((dtype, TensorShape(batch + list(shape))))
        else:
            out.extend([(dtypes.int64, TensorShape([None, rank])),
                        (dtype, TensorShape([None])),
                        (dtypes.int64, TensorShape([rank]))])
    return out


def _parse_kernel(xp, serialized, features, specs, single):
    if single:
        if serialized.ndim != 0:
            raise errors.InvalidArgumentError(
                None, None, f"Expected serialized to be a scalar, got shape: "
                            f"{list(serialized.shape)}")
        batch = serialized[()]
    else:
        if serialized.ndim > 1:
            raise errors.InvalidArgumentError(
                None, None, f"Expected serialized to be a vector, got shape: "
                            f"{list(serialized.shape)}")
        batch = list(serialized.reshape(-1))
    parsed = _example.parse_examples(batch, features)
    out = []
    for key, kind, dtype, _ in specs:
        value = parsed[key]
        if kind == "fixed":
            out.append(np.asarray(value, dtype=dtype.as_numpy_dtype))
        else:
            out.extend(value)
    return out


_PARSE_EXAMPLE = register_op("ParseExampleV2", infer=_parse_infer, kernel=_parse_kernel,
                             num_outputs=None)
_PARSE_SINGLE = register_op("ParseSingleExample", infer=_parse_infer, kernel=_parse_kernel,
                            num_outputs=None)


def _parse(opdef, serialized, features, single, name):
    specs = _feature_specs(features)
    serialized = convert_to_tensor(serialized, dtype=dtypes.string)
    outs = apply_op(opdef, [serialized], {"features": dict(features), "specs": specs,
                                          "single": single}, name=name)
    result, i = {}, 0
    for key, kind, _, _ in specs:
        if kind == "fixed":
            result[key] = outs[i]
            i += 1
        else:
            result[key] = SparseTensor(outs[i], outs[i + 1], outs[i + 2])
            i += 3
    return result


@export("io.parse_example", v1=["io.parse_example", "parse_example"])
def parse_example(serialized, features, name=None, example_names=None):
    """Parses a vector of serialized ``tf.train.Example`` protos (``tf.io.parse_example``).

    Args:
      serialized: a 1-D string tensor (or list of bytes).
      features: dict name -> ``FixedLenFeature`` / ``VarLenFeature``.
      name: the op name.
      example_names: unused (TF's argument).

    Returns:
      dict name -> Tensor ``[batch] + shape`` (FixedLen) or SparseTensor (VarLen).

    Raises:
      InvalidArgumentError: a required feature is missing, or has the wrong size or type.
    """
    return _parse(_PARSE_EXAMPLE, serialized, features, False, name or "ParseExample")


@export("io.parse_single_example", v1=["io.parse_single_example", "parse_single_example"])
def parse_single_example(serialized, features, name=None, example_names=None):
    """Parses one serialized ``tf.train.Example`` (``tf.io.parse_single_example``).

    Args:
      serialized: a scalar string tensor (or bytes).
      features: dict name -> ``FixedLenFeature`` / ``VarLenFeature``.

    Returns:
      dict name -> Tensor of the feature's shape (FixedLen) or 1-D SparseTensor (VarLen).

    Example:
      >>> ex = Example(features=Features(feature={"x": Feature(
      ...     int64_list=Int64List(value=[7]))}))
      >>> parse_single_example(ex.SerializeToString(),
      ...                      {"x": FixedLenFeature([], "int64")})["x"].numpy()
      7
    """
    return _parse(_PARSE_SINGLE, serialized, features, True, name or "ParseSingleExample")


# ---- DecodeRaw ---------------------------------------------------------------------------

def _decode_raw_infer(ins, attrs):
    shape = ins[0].shape
    fixed = attrs["fixed_length"]
    n = None if fixed is None else fixed // np.dtype(attrs["out_type"].as_numpy_dtype).itemsize
    return [(attrs["out_type"], shape.concatenate([n]) if shape.rank is not None
             else TensorShape(None))]


def _decode_raw_kernel(xp, data, out_type, little_endian, fixed_length):
    dt = np.dtype(out_type.as_numpy_dtype).newbyteorder("<" if little_endian else ">")
    flat = [bytes(b) for b in data.reshape(-1)]
    if fixed_length is not None:
        flat = [b[:fixed_length].ljust(fixed_length, b"\0") for b in flat]
    sizes = {len(b) for b in flat}
    if len(sizes) > 1:
        first = len(flat[0])
        i = next(i for i, b in enumerate(flat) if len(b) != first)
        raise errors.InvalidArgumentError(
            None, None, f"DecodeRaw requires input strings to all be the same size, but "
                        f"element {i} has size {len(flat[i])} != {first}")
    size = sizes.pop() if sizes else 0
    if size % dt.itemsize:
        raise errors.InvalidArgumentError(
            None, None, f"Input to DecodeRaw has length {size} that is not a multiple of "
                        f"{dt.itemsize}, the size of {out_type.name}")
    n = size // dt.itemsize
    out = np.frombuffer(b"".join(flat), dtype=dt).astype(dt.newbyteorder("="))
    return out.reshape(data.shape + (n,))


_DECODE_RAW = register_op("DecodeRaw", infer=_decode_raw_infer, kernel=_decode_raw_kernel)


@export("io.decode_raw", v1=["io.decode_raw", "decode_raw"])
def decode_raw(input_bytes=None, out_type=None, little_endian=True, fixed_length=None,
               name=None, bytes=None):  # noqa: A002 - TF1's argument name
    """Reinterprets the bytes of each string as a vector of ``out_type``
    (``tf.io.decode_raw``).

    Args:
      input_bytes: a string tensor (TF1 also calls it ``bytes``).
      out_type: the element dtype.
      little_endian: the byte order of the data.
      fixed_length: pad or cut each string to this many bytes first.

    Returns:
      A tensor of shape ``input_bytes.shape + [len // itemsize]``.

    Raises:
      InvalidArgumentError: the strings differ in length or do not hold whole values.
    """
    if input_bytes is None:
        input_bytes = bytes
    if out_type is None:
        raise TypeError("decode_raw() missing required argument 'out_type'")
    data = convert_to_tensor(input_bytes, dtype=dtypes.string)
    attrs = {"out_type": dtypes.as_dtype(out_type), "little_endian": bool(little_endian),
             "fixed_length": None if fixed_length is None else int(fixed_length)}
    return apply_op(_DECODE_RAW, [data], attrs, name=name or "DecodeRaw")
