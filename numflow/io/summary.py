"""TensorBoard ``Summary`` protos, hand-encoded: scalars, histograms, images, text.

Encoders return the bytes of one ``Summary.Value``; :func:`summary` wraps values
into a ``Summary``. Scalars and text use TF2's form (a ``TensorProto`` plus
``SummaryMetadata`` naming the plugin), byte-identical to ``tf.summary.scalar`` and
``tf.summary.text``; ``simple_value`` and images use TF1's fields, which
TensorBoard also reads. :func:`decode_summary` turns a serialized Summary back into
plain dicts.
"""
import numpy as np

from numflow.framework import dtypes, errors
from numflow.io import proto
from numflow.io.png import encode_png

# Summary.Value field numbers
_TAG, _SIMPLE_VALUE, _IMAGE, _HISTO, _TENSOR, _METADATA = 1, 2, 4, 5, 8, 9
_COLORSPACE = {1: 1, 2: 2, 3: 3, 4: 4}  # channels -> Summary.Image colorspace


def _shape_proto(shape):
    return b"".join(proto.message_field(2, proto.varint_field(1, d)) for d in shape)


def tensor_proto(value):
    """A serialized ``TensorProto`` for an array: numeric data in ``tensor_content``
    (as TF's ``AsProtoTensorContent``), strings in ``string_val``."""
    arr = np.asarray(value)
    dtype = dtypes.as_dtype(arr.dtype)
    out = proto.varint_field(1, dtype.as_datatype_enum) + \
        proto.message_field(2, _shape_proto(arr.shape))
    if dtype == dtypes.string:
        items = [s.encode("utf-8") if isinstance(s, str) else bytes(s) for s in arr.ravel()]
        return out + b"".join(proto.bytes_field(8, s, always=True) for s in items)
    data = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()
    return out + proto.bytes_field(4, data)


_TYPED_FIELDS = {  # DType name -> (TensorProto field, decoder)
    "float32": (5, lambda f, n: f.fixed(n, "<f4")),
    "float64": (6, lambda f, n: f.fixed(n, "<f8")),
    "int32": (7, lambda f, n: f.varints(n).astype(np.int64).astype(np.int32)),
    "int64": (10, lambda f, n: f.varints(n).view(np.int64)),
    "bool": (11, lambda f, n: f.varints(n).astype(bool)),
}


def decode_tensor_proto(fields):
    """The array held by a parsed ``TensorProto`` (:class:`numflow.io.proto.Fields`)."""
    dtype = dtypes.as_dtype(fields.varint(1))
    shape_msg = fields.message(2)
    shape = [] if shape_msg is None else [d.int64(1) for d in shape_msg.messages(2)]
    count = int(np.prod(shape))
    if dtype == dtypes.string:
        flat = np.empty(len(fields.bytes_list(8)), dtype=object)
        flat[:] = fields.bytes_list(8)
    elif fields.has(4):
        flat = np.frombuffer(fields.bytes(4), dtype=np.dtype(dtype.as_numpy_dtype)
                             .newbyteorder("<")).astype(dtype.as_numpy_dtype)
    elif dtype.name in _TYPED_FIELDS:
        number, decode = _TYPED_FIELDS[dtype.name]
        flat = decode(fields, number).astype(dtype.as_numpy_dtype)
    else:
        raise NotImplementedError(f"Decoding {dtype.name} TensorProtos without tensor_content.")
    if flat.size == 1 and count != 1:
        flat = np.repeat(flat, count)  # TF repeats a single typed value over the shape
    if flat.size != count:
        raise proto.DecodeError(f"TensorProto holds {flat.size} values for shape {shape}.")
    return flat.reshape(shape)


def _metadata(plugin_name):
    plugin = proto.message_field(1, proto.bytes_field(1, plugin_name))
    return proto.message_field(_METADATA, plugin)


def _value(tag, body):
    return proto.bytes_field(_TAG, tag) + body


def scalar_value(tag, value):
    """A TF2 scalar (float32 tensor, plugin "scalars"), as ``tf.summary.scalar``."""
    tensor = tensor_proto(np.float32(value))
    return _value(tag, proto.message_field(_TENSOR, tensor) + _metadata("scalars"))


def simple_value(tag, value):
    """A TF1 ``simple_value`` scalar, as ``tf.compat.v1.summary.scalar``."""
    return _value(tag, proto.float_field(_SIMPLE_VALUE, float(value), always=True))


def text_value(tag, text):
    """A string tensor with plugin "text", as ``tf.summary.text``."""
    tensor = tensor_proto(np.array(text, dtype=object))
    return _value(tag, proto.message_field(_TENSOR, tensor) + _metadata("text"))


def histogram_value(tag, values, buckets=30):
    """A TF1 ``HistogramProto`` with ``buckets`` equal-width buckets over [min, max].

    Raises:
      InvalidArgumentError: if ``values`` holds NaN or infinity.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(v)):
        raise errors.InvalidArgumentError(None, None, f"Nan in summary histogram for: {tag}")
    if v.size:
        counts, edges = np.histogram(v, bins=int(buckets), range=(v.min(), v.max()))
        limits, lo, hi = edges[1:], v.min(), v.max()
    else:
        counts, limits, lo, hi = np.zeros(0), np.zeros(0), 0.0, 0.0
    histo = (proto.double_field(1, lo) + proto.double_field(2, hi)
             + proto.double_field(3, float(v.size)) + proto.double_field(4, float(v.sum()))
             + proto.double_field(5, float(np.dot(v, v)))
             + proto.packed_fixed_field(6, limits, "<f8")
             + proto.packed_fixed_field(7, counts.astype(np.float64), "<f8"))
    return _value(tag, proto.message_field(_HISTO, histo))


def image_value(tag, image):
    """A TF1 ``Summary.Image`` holding ``image`` (uint8 HWC or HW) as PNG."""
    image = np.asarray(image)
    channels = 1 if image.ndim == 2 else image.shape[-1]
    encoded = encode_png(image)
    body = (proto.varint_field(1, image.shape[0]) + proto.varint_field(2, image.shape[1])
            + proto.varint_field(3, _COLORSPACE[channels]) + proto.bytes_field(4, encoded))
    return _value(tag, proto.message_field(_IMAGE, body))


def summary(values):
    """A serialized ``Summary`` from serialized ``Summary.Value``s."""
    return b"".join(proto.message_field(1, v) for v in values)


def _decode_value(f):
    out = {"tag": f.string(_TAG)}
    metadata = f.message(_METADATA)
    plugin = metadata.message(1) if metadata is not None else None
    if plugin is not None:
        out["plugin_name"] = plugin.string(1)
    if f.has(_SIMPLE_VALUE):
        out["simple_value"] = f.fixed_scalar(_SIMPLE_VALUE, "<f4")
    if f.has(_HISTO):
        h = f.message(_HISTO)
        out["histogram"] = {name: h.fixed_scalar(i, "<f8", 0.0) for i, name in
                            enumerate(("min", "max", "num", "sum", "sum_squares"), 1)}
        out["histogram"]["bucket_limit"] = h.fixed(6, "<f8")
        out["histogram"]["bucket"] = h.fixed(7, "<f8")
    if f.has(_IMAGE):
        im = f.message(_IMAGE)
        out["image"] = {"height": im.int32(1), "width": im.int32(2),
                        "colorspace": im.int32(3), "encoded_image_string": im.bytes(4)}
    if f.has(_TENSOR):
        out["tensor"] = decode_tensor_proto(f.message(_TENSOR))
        if out.get("plugin_name") == "text":
            out["text"] = b"".join(out["tensor"].ravel()).decode("utf-8")
    return out


def decode_summary(serialized):
    """The values of a serialized ``Summary``: a list of dicts with ``tag`` and, as
    present, ``plugin_name``, ``simple_value``, ``tensor`` (ndarray), ``text``,
    ``histogram`` (dict) and ``image`` (dict)."""
    return [_decode_value(v) for v in proto.Fields(serialized).messages(1)]
