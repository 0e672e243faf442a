"""TF1 summaries (``tf.compat.v1.summary``): summary ops returning serialized ``Summary``
protos as string tensors, ``merge`` / ``merge_all``, and ``FileWriter`` with
``add_summary(summary, global_step)`` and ``add_graph``.

In graph mode ``tf.compat.v1.summary.scalar('loss', x)`` adds a ``ScalarSummary`` op whose
output (a scalar string tensor) is fetched with ``sess.run`` and handed to
``FileWriter.add_summary``; the op is added to the ``summaries`` collection that
``merge_all`` merges. In eager mode the ops return the serialized bytes at once.
"""
import os
import threading
import time

import numpy as np

from numflow._api.export import export
from numflow.framework import context, dtypes, errors
from numflow.io import proto
from numflow.io import summary as summary_pb
from numflow.io.events import EventFileWriter, encode_event, read_events
from numflow.ops import infer
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.registry import register_op

SUMMARIES = "summaries"


def _as_bytes_array(serialized):
    out = np.empty((), dtype=object)
    out[()] = bytes(serialized)
    return out


def _scalar_kernel(xp, tags, values, tag=None):
    tags, values = np.asarray(tags), np.asarray(values)
    if tags.shape != values.shape:
        raise ValueError(f"tags and values not the same shape: {tags.shape} != "
                         f"{values.shape}")
    out = [summary_pb.simple_value(_text(t), float(v))
           for t, v in zip(tags.reshape(-1), values.reshape(-1))]
    return _as_bytes_array(summary_pb.summary(out))


def _text(t):
    return t.decode("utf-8") if isinstance(t, bytes) else str(t)


def _histogram_kernel(xp, tag, values):
    return _as_bytes_array(summary_pb.summary([summary_pb.histogram_value(
        _text(np.asarray(tag).item()), values)]))


def _image_kernel(xp, tag, images, max_images=3):
    arr = np.asarray(images)
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3, 4):
        raise ValueError(f"Tensor must be 4-D with last dim 1, 3, or 4, not {arr.shape}")
    if arr.dtype != np.uint8:
        if arr.dtype.kind == "f":  # TF1 rescales floats so the largest |value| maps to 255
            finite = arr[np.isfinite(arr)]
            top = np.abs(finite).max() if finite.size else 0.0
            if finite.size and finite.min() >= 0:
                scale = 255.0 / top if top > 1.0 else 255.0
                arr = np.nan_to_num(arr) * scale
            else:
                scale = 127.0 / top if top > 0 else 1.0
                arr = np.nan_to_num(arr) * scale + 128.0
        arr = np.clip(np.round(arr), 0, 255).astype(np.uint8)
    base = _text(np.asarray(tag).item())
    count = min(int(max_images), arr.shape[0])
    values = []
    for i in range(count):
        name = f"{base}/image" if count == 1 else f"{base}/image/{i}"
        values.append(summary_pb.image_value(name, arr[i]))
    return _as_bytes_array(summary_pb.summary(values))


def _text_kernel(xp, tag, tensor):
    value = summary_pb.text_value(_text(np.asarray(tag).item()), _join(tensor))
    return _as_bytes_array(summary_pb.summary([value]))


def _join(tensor):
    arr = np.asarray(tensor)
    if arr.size == 1:
        item = arr.reshape(-1)[0]
        return _text(item)
    return "\n".join(_text(x) for x in arr.reshape(-1))


def _merge_kernel(xp, *inputs):
    seen, parts = set(), []
    for serialized in inputs:
        data = bytes(np.asarray(serialized).item())
        for value in summary_pb.decode_summary(data):
            if value["tag"] in seen:
                raise errors.InvalidArgumentError(
                    None, None, f"Duplicate tag {value['tag']} found in summary inputs")
            seen.add(value["tag"])
        parts.append(data)
    return _as_bytes_array(b"".join(parts))


_STRING_SCALAR = infer.fixed(dtypes.string, [])
_SCALAR_SUMMARY = register_op("ScalarSummary", infer=_STRING_SCALAR, kernel=_scalar_kernel)
_HISTOGRAM_SUMMARY = register_op("HistogramSummary", infer=_STRING_SCALAR,
                                 kernel=_histogram_kernel)
_IMAGE_SUMMARY = register_op("ImageSummary", infer=_STRING_SCALAR, kernel=_image_kernel)
_TEXT_SUMMARY = register_op("TextSummary", infer=_STRING_SCALAR, kernel=_text_kernel)
_MERGE_SUMMARY = register_op("MergeSummary", infer=_STRING_SCALAR, kernel=_merge_kernel,
                             num_outputs=1)


def _tag_for(name, family):
    tag = f"{family}/{name}" if family else name
    if not context.executing_eagerly():
        scope = context.get_default_graph().get_name_scope()
        if scope:
            tag = f"{scope}/{tag}"
    return tag


def _collect(op_output, collections):
    if context.executing_eagerly():
        return op_output
    graph = context.get_default_graph()
    for key in (collections if collections is not None else [SUMMARIES]):
        graph.add_to_collection(key, op_output)
    return op_output


@export(v1=["summary.scalar", "scalar_summary"])
def scalar(name, tensor, collections=None, family=None):
    """A ``Summary`` with one ``simple_value`` (``tf.compat.v1.summary.scalar``).

    Returns:
      A scalar string tensor holding the serialized ``Summary``; in graph mode it is also
      added to each of ``collections`` (default ``['summaries']``).
    """
    tag = _tag_for(name, family)
    values = convert_to_tensor(tensor)
    out = apply_op(_SCALAR_SUMMARY, [convert_to_tensor(tag), values], {}, name=name)
    return _collect(out, collections)


@export(v1=["summary.histogram", "histogram_summary"])
def histogram(name, values, collections=None, family=None):
    """A ``Summary`` with a ``HistogramProto`` of ``values``
    (``tf.compat.v1.summary.histogram``). Running it on NaN/Inf raises
    InvalidArgumentError."""
    tag = _tag_for(name, family)
    out = apply_op(_HISTOGRAM_SUMMARY, [convert_to_tensor(tag), convert_to_tensor(values)],
                   {}, name=name)
    return _collect(out, collections)


@export(v1=["summary.image", "image_summary"])
def image(name, tensor, max_outputs=3, collections=None, family=None):
    """A ``Summary`` with up to ``max_outputs`` PNG images from a ``[batch, h, w, c]``
    tensor (c = 1, 3 or 4), tagged ``name/image/<i>`` (``tf.compat.v1.summary.image``)."""
    tag = _tag_for(name, family)
    out = apply_op(_IMAGE_SUMMARY, [convert_to_tensor(tag), convert_to_tensor(tensor)],
                   {"max_images": int(max_outputs)}, name=name)
    return _collect(out, collections)


@export(v1=["summary.text"])
def text(name, tensor, collections=None):
    """A ``Summary`` holding a text tensor for TensorBoard's text plugin
    (``tf.compat.v1.summary.text``)."""
    tag = _tag_for(name, None)
    out = apply_op(_TEXT_SUMMARY, [convert_to_tensor(tag), convert_to_tensor(tensor)], {},
                   name=name)
    return _collect(out, collections)


@export(v1=["summary.merge", "merge_summary"])
def merge(inputs, collections=None, name=None):
    """Merges serialized ``Summary`` tensors into one (``tf.compat.v1.summary.merge``).

    Raises:
      RuntimeError: in eager mode (as in TF).
      InvalidArgumentError: at run time if two inputs use the same tag.
    """
    if context.executing_eagerly():
        raise RuntimeError("Merging tf.summary.* ops is not compatible with eager execution. "
                           "Use tf.summary.create_file_writer instead.")
    tensors = [convert_to_tensor(t) for t in inputs]
    out = apply_op(_MERGE_SUMMARY, tensors, {}, name=name or "Merge/MergeSummary")
    for key in collections or []:
        context.get_default_graph().add_to_collection(key, out)
    return out


@export(v1=["summary.merge_all", "merge_all_summaries"])
def merge_all(key=SUMMARIES, scope=None, name=None):
    """Merges every summary in collection ``key`` (``tf.compat.v1.summary.merge_all``).

    Returns:
      The merged string tensor, or None if the collection is empty.
    """
    if context.executing_eagerly():
        raise RuntimeError("Merging tf.summary.* ops is not compatible with eager execution. "
                           "Use tf.summary.create_file_writer instead.")
    ops = context.get_default_graph().get_collection(key, scope)
    if not ops:
        return None
    return merge(ops, name=name)


# ---- graphs -----------------------------------------------------------------------------------
def graph_def_bytes(graph):
    """A serialized ``GraphDef`` (node names, op types, inputs, devices) of a numflow
    Graph, enough for TensorBoard's graph dashboard."""
    nodes = b""
    for op in graph.get_operations():
        body = proto.bytes_field(1, op.name) + proto.bytes_field(2, op.type)
        for t in op.inputs:
            ref = t.op.name if t.value_index == 0 else f"{t.op.name}:{t.value_index}"
            body += proto.bytes_field(3, ref, always=True)
        for c in op.control_inputs:
            body += proto.bytes_field(3, "^" + c.name, always=True)
        body += proto.bytes_field(4, op.device or "")
        nodes += proto.message_field(1, body)
    versions = proto.message_field(4, proto.varint_field(1, 1087))
    return nodes + versions


# ---- FileWriter -------------------------------------------------------------------------------
_SESSION_LOG, _TAGGED_RUN_METADATA = 6, 8


@export(v1=["summary.FileWriter", "train.SummaryWriter"])
class FileWriter:
    """Writes ``Summary`` protos and graphs to an event file in ``logdir``
    (``tf.compat.v1.summary.FileWriter(logdir, graph=None, max_queue=10, flush_secs=120,
    filename_suffix=None, session=None)``).

    Raises:
      RuntimeError: when created with eager execution enabled (as in TF).
    """

    def __init__(self, logdir, graph=None, max_queue=10, flush_secs=120, graph_def=None,
                 filename_suffix=None, session=None):
        if context.executing_eagerly():
            raise RuntimeError("tf.summary.FileWriter is not compatible with eager execution. "
                               "Use `tf.summary.create_file_writer`, or a `with "
                               "v1.Graph().as_default():` context")
        self._logdir = str(logdir)
        self._suffix = filename_suffix or ""
        self._writer = EventFileWriter(self._logdir, self._suffix)
        self._flush_secs = float(flush_secs)
        self._max_queue = int(max_queue)
        self._pending = 0
        self._last_flush = time.time()
        self._closed = False
        if graph is not None or graph_def is not None:
            self.add_graph(graph, graph_def=graph_def)

    def get_logdir(self):
        """The directory this writer writes to."""
        return self._logdir

    def _written(self):
        self._pending += 1
        if self._pending >= self._max_queue or \
                time.time() - self._last_flush >= self._flush_secs:
            self.flush()

    def add_summary(self, summary, global_step=None):
        """Adds a ``Summary``: the bytes ``sess.run`` returned for a summary op, or an
        object with ``SerializeToString`` (such as ``tf.compat.v1.Summary``)."""
        if hasattr(summary, "SerializeToString"):
            summary = summary.SerializeToString()
        summary = _summary_bytes(summary)
        self._writer.add_summary_bytes(summary, 0 if global_step is None else int(global_step))
        self._written()

    def add_graph(self, graph, global_step=None, graph_def=None):
        """Adds a graph (a ``tf.Graph``, or serialized GraphDef bytes as ``graph_def``)."""
        data = graph_def if graph_def is not None else graph_def_bytes(graph)
        if hasattr(data, "SerializeToString"):
            data = data.SerializeToString()
        self._writer.add_graph(bytes(data), 0 if global_step is None else int(global_step))
        self.flush()

    def add_session_log(self, session_log, global_step=None):
        """Adds a ``SessionLog`` (an object with ``status``/``checkpoint_path``/``msg``
        attributes, or serialized bytes)."""
        if hasattr(session_log, "SerializeToString"):
            body = session_log.SerializeToString()
        elif isinstance(session_log, (bytes, bytearray)):
            body = bytes(session_log)
        else:
            body = (proto.varint_field(1, getattr(session_log, "status", 0))
                    + proto.bytes_field(2, getattr(session_log, "checkpoint_path", ""))
                    + proto.bytes_field(3, getattr(session_log, "msg", "")))
        event = encode_event(time.time(), 0 if global_step is None else int(global_step))
        self._writer.add_event(event + proto.message_field(_SESSION_LOG, body))
        self._written()

    def add_run_metadata(self, run_metadata, tag, global_step=None):
        """Adds a ``RunMetadata`` (serialized bytes or an object with
        ``SerializeToString``) under ``tag``."""
        raw = run_metadata.SerializeToString() if hasattr(run_metadata, "SerializeToString") \
            else bytes(run_metadata or b"")
        tagged = proto.bytes_field(1, tag) + proto.bytes_field(2, raw)
        event = encode_event(time.time(), 0 if global_step is None else int(global_step))
        self._writer.add_event(event + proto.message_field(_TAGGED_RUN_METADATA, tagged))
        self._written()

    def add_event(self, event):
        """Adds a serialized ``Event`` (or an object with ``SerializeToString``)."""
        raw = event.SerializeToString() if hasattr(event, "SerializeToString") else event
        self._writer.add_event(bytes(raw))
        self._written()

    def flush(self):
        """Writes pending events to disk."""
        self._writer.flush()
        self._pending = 0
        self._last_flush = time.time()

    def close(self):
        """Flushes and closes the event file."""
        self._writer.close()
        self._closed = True

    def reopen(self):
        """Opens a new event file after ``close`` (no-op if open)."""
        if self._closed:
            self._writer = EventFileWriter(self._logdir, self._suffix)
            self._closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _summary_bytes(summary):
    if isinstance(summary, np.ndarray):
        summary = summary.item()
    if hasattr(summary, "numpy"):
        summary = np.asarray(summary.numpy()).item()
    if isinstance(summary, str):
        summary = summary.encode("latin-1")
    if not isinstance(summary, (bytes, bytearray)):
        raise TypeError(f"add_summary expects a serialized Summary (bytes), got "
                        f"{type(summary).__name__}.")
    return bytes(summary)


@export(v1=["summary.FileWriterCache"])
class FileWriterCache:
    """One shared FileWriter per logdir (``tf.compat.v1.summary.FileWriterCache``)."""

    _cache = {}
    _lock = threading.Lock()

    @staticmethod
    def get(logdir):
        """The cached FileWriter for ``logdir`` (created on first use)."""
        with FileWriterCache._lock:
            key = os.path.abspath(str(logdir))
            writer = FileWriterCache._cache.get(key)
            if writer is None:
                writer = FileWriterCache._cache[key] = FileWriter(logdir)
            return writer

    @staticmethod
    def clear():
        """Closes and forgets every cached writer."""
        with FileWriterCache._lock:
            for writer in FileWriterCache._cache.values():
                writer.close()
            FileWriterCache._cache.clear()


# ---- the Summary message and reading events ---------------------------------------------------------
class _SummaryValue:
    """``Summary.Value``: ``tag`` plus ``simple_value`` (other kinds via the summary ops)."""

    def __init__(self, tag="", simple_value=None, **kwargs):
        if kwargs:
            raise NotImplementedError(f"Summary.Value fields {sorted(kwargs)} (only tag and "
                                      "simple_value can be set directly)")
        self.tag = tag
        self.simple_value = simple_value

    def _serialize(self):
        return summary_pb.simple_value(self.tag, 0.0 if self.simple_value is None
                                       else float(self.simple_value))


@export(v1=["summary.Summary", "Summary"])
class Summary:
    """The ``Summary`` protocol message for ``FileWriter.add_summary``
    (``tf.compat.v1.Summary(value=[tf.compat.v1.Summary.Value(tag=..., simple_value=...)])``).
    """

    Value = _SummaryValue

    def __init__(self, value=None):
        self.value = list(value or [])

    def SerializeToString(self):  # noqa: N802 - protobuf's name
        """The serialized message."""
        return summary_pb.summary([v._serialize() for v in self.value])


class _Struct:
    def __init__(self, d):
        for k, v in d.items():
            setattr(self, k, _Struct(v) if isinstance(v, dict) else
                    [(_Struct(x) if isinstance(x, dict) else x) for x in v]
                    if isinstance(v, list) else v)

    def HasField(self, name):  # noqa: N802 - protobuf's name
        return hasattr(self, name)


@export(v1=["summary.summary_iterator", "train.summary_iterator"])
def summary_iterator(path):
    """Yields the events of an event file with attribute access (``event.step``,
    ``event.summary.value[i].tag`` / ``.simple_value``) (``tf.compat.v1.train.
    summary_iterator``)."""
    for event in read_events(path):
        event = dict(event)
        if "summary" in event:
            event["summary"] = {"value": event["summary"]}
        yield _Struct(event)
