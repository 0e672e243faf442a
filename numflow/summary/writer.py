"""TF2 summaries (``tf.summary``): file writers and the scalar / histogram / image / text ops.

``tf.summary.create_file_writer(logdir)`` returns a writer; inside ``with
writer.as_default(step=...)`` the summary functions append TensorBoard events to its file.
Each summary is a stateful op (``WriteSummary``), so it writes immediately in eager mode
and when the op runs inside a ``tf.function`` or a Session graph. A summary function
returns True when it wrote (a bool tensor) and False when there is no default writer or
recording is off (``tf.summary.record_if``).
"""
import contextlib
import itertools
import threading
import time
import weakref

import numpy as np

from numflow._api.export import export
from numflow.framework import dtypes, errors
from numflow.io import proto
from numflow.io import summary as summary_pb
from numflow.io.events import EventFileWriter
from numflow.ops import infer
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.registry import register_op

_WRITERS = weakref.WeakValueDictionary()
_writer_ids = itertools.count(1)


class _State(threading.local):
    def __init__(self):
        self.writer = None
        self.step = None
        self.record = [True]


_state = _State()
_global_step = {"value": None}


# ---- writers ----------------------------------------------------------------------------
@export("summary.SummaryWriter", v1=[])
class SummaryWriter:
    """Interface of summary writers (``tf.summary.SummaryWriter``)."""

    def set_as_default(self, step=None):
        """Makes this the default writer for the rest of the thread (``step`` optional)."""
        _state.writer = self
        if step is not None:
            _state.step = step

    @contextlib.contextmanager
    def as_default(self, step=None):
        """Context manager making this the default writer (and ``step`` the default step);
        the writer is flushed on exit."""
        old_writer, old_step = _state.writer, _state.step
        _state.writer = self
        if step is not None:
            _state.step = step
        try:
            yield self
        finally:
            _state.writer, _state.step = old_writer, old_step
            self.flush()

    def init(self):
        """Initializes the writer (a no-op: numflow writers are ready when created)."""

    def flush(self):
        """Writes buffered events to disk."""

    def close(self):
        """Flushes and closes the writer."""


class _FileSummaryWriter(SummaryWriter):
    """A writer appending to one event file in ``logdir``."""

    def __init__(self, logdir, max_queue, flush_millis, filename_suffix):
        self._logdir = str(logdir)
        self._suffix = filename_suffix if filename_suffix is not None else ".v2"
        self._events = EventFileWriter(self._logdir, self._suffix)
        self._max_queue = 10 if max_queue is None else int(max_queue)
        self._flush_secs = (120000 if flush_millis is None else int(flush_millis)) / 1000.0
        self._pending = 0
        self._last_flush = time.time()
        self._lock = threading.Lock()
        self.key = next(_writer_ids)
        _WRITERS[self.key] = self

    @property
    def path(self):
        """The event file's path."""
        return self._events.path

    def write_value(self, serialized_value, step):
        with self._lock:
            if self._events is None:
                raise errors.FailedPreconditionError(
                    None, None, f"Summary writer for {self._logdir} is closed.")
            self._events.add_summary_bytes(summary_pb.summary([serialized_value]), step)
            self._pending += 1
            if self._pending >= self._max_queue or \
                    time.time() - self._last_flush >= self._flush_secs:
                self._flush_locked()

    def write_graph(self, graph_def_bytes, step=0):
        with self._lock:
            if self._events is not None:
                self._events.add_graph(graph_def_bytes, step)
                self._flush_locked()

    def _flush_locked(self):
        if self._events is not None:
            self._events.flush()
        self._pending = 0
        self._last_flush = time.time()

    def flush(self):
        with self._lock:
            self._flush_locked()

    def close(self):
        with self._lock:
            if self._events is not None:
                self._events.close()
                self._events = None
        if _state.writer is self:
            _state.writer = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - finalizers must not raise at shutdown
            pass


class _NoopSummaryWriter(SummaryWriter):
    """A writer that records nothing (``tf.summary.create_noop_writer``)."""


@export("summary.create_file_writer", v1=[])
def create_file_writer(logdir, max_queue=None, flush_millis=None, filename_suffix=None,
                       name=None, experimental_trackable=False, experimental_mesh=None):
    """Creates a summary file writer for ``logdir`` (``tf.summary.create_file_writer``).

    Args:
      logdir: the directory (created if missing) where the event file is written.
      max_queue: events kept before a flush (default 10).
      flush_millis: longest interval between flushes (default 120000 ms).
      filename_suffix: appended to the event file name (default ``.v2``).
      name, experimental_trackable, experimental_mesh: accepted for compatibility.

    Returns:
      A ``SummaryWriter``.
    """
    if logdir is None:
        raise ValueError("Expected logdir to be a string, got None.")
    return _FileSummaryWriter(logdir, max_queue, flush_millis, filename_suffix)


@export("summary.create_noop_writer", v1=[])
def create_noop_writer():
    """A summary writer that does nothing (``tf.summary.create_noop_writer``)."""
    return _NoopSummaryWriter()


# ---- recording state ------------------------------------------------------------------------
@export("summary.record_if", v1=[])
@contextlib.contextmanager
def record_if(condition):
    """Records summaries in the body only when ``condition`` (a bool, a bool tensor or a
    callable returning one) is true (``tf.summary.record_if``)."""
    _state.record.append(condition)
    try:
        yield
    finally:
        _state.record.pop()


def _truthy(cond):
    if callable(cond):
        cond = cond()
    if hasattr(cond, "numpy"):
        cond = cond.numpy()
    return bool(np.asarray(cond))


@export("summary.should_record_summaries", v1=[])
def should_record_summaries():
    """Whether summaries are recorded now: a default writer exists and every enclosing
    ``record_if`` condition holds (``tf.summary.should_record_summaries``)."""
    writer = _state.writer
    if writer is None or isinstance(writer, _NoopSummaryWriter):
        return False
    return all(_truthy(c) for c in _state.record)


@export("summary.experimental.set_step", v1=[])
def set_step(step):
    """Sets the default step for summaries in this thread (``tf.summary.experimental.
    set_step``); an int, an int tensor or a variable (read at each write)."""
    _state.step = step


@export("summary.experimental.get_step", v1=[])
def get_step():
    """The default summary step, or None (``tf.summary.experimental.get_step``)."""
    return _state.step


@export("summary.flush", v1=[])
def flush(writer=None, name=None):
    """Flushes ``writer`` (default: the current default writer) (``tf.summary.flush``)."""
    writer = writer if writer is not None else _state.writer
    if writer is not None:
        writer.flush()


# ---- the write op -----------------------------------------------------------------------------
def _scalar_value(tag, data):
    arr = np.asarray(data)
    if arr.size != 1:
        raise ValueError(f"tf.summary.scalar expects a scalar, got shape {arr.shape}.")
    return summary_pb.scalar_value(tag, arr.reshape(()).astype(np.float32))


def histogram_buckets(data, bucket_count=30):
    """TensorBoard's TF2 histogram: a float64 ``[k, 3]`` array of (left edge, right edge,
    count), as ``tf.summary.histogram`` computes it."""
    data = np.asarray(data, dtype=np.float64).reshape(-1)
    bucket_count = max(0, int(bucket_count))
    if data.size == 0 or bucket_count == 0:
        return np.zeros((bucket_count, 3), np.float64)
    lo, hi = data.min(), data.max()
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise errors.InvalidArgumentError(None, None, "Nan or Inf in summary histogram data.")
    if lo == hi:
        counts = np.zeros(bucket_count)
        counts[-1] = data.size
        edges = np.full(bucket_count, hi)
        return np.stack([edges, edges, counts], axis=1)
    width = (hi - lo) / bucket_count
    idx = np.minimum(np.floor((data - lo) / width).astype(np.int64), bucket_count - 1)
    counts = np.bincount(idx, minlength=bucket_count).astype(np.float64)
    edges = np.linspace(lo, hi, bucket_count + 1)
    edges[-1] = hi
    return np.stack([edges[:-1], edges[1:], counts], axis=1)


def _metadata(plugin, description=None, data_class=None):
    body = proto.message_field(1, proto.bytes_field(1, plugin))
    if description:
        body += proto.bytes_field(3, description)
    if data_class:
        body += proto.varint_field(4, data_class)
    return proto.message_field(9, body)


def _tensor_value(tag, array, plugin, description=None, data_class=None):
    return (proto.bytes_field(1, tag)
            + proto.message_field(8, summary_pb.tensor_proto(array))
            + _metadata(plugin, description, data_class))


def _image_value(tag, data, max_outputs, description):
    arr = np.asarray(data)
    if arr.ndim != 4 or arr.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"tf.summary.image expects [k, h, w, c] with c in 1..4, got "
                         f"shape {arr.shape}.")
    if arr.dtype != np.uint8:
        if arr.dtype.kind == "f":
            arr = np.clip(np.round(np.nan_to_num(arr) * 255.0), 0, 255)
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    from numflow.io.png import encode_png
    images = [encode_png(im) for im in arr[:max(0, int(max_outputs))]]
    strings = np.empty(2 + len(images), dtype=object)
    strings[:] = [str(arr.shape[2]).encode(), str(arr.shape[1]).encode()] + images
    return _tensor_value(tag, strings, "images", description)


def _text_value(tag, data, description):
    arr = np.asarray(data)
    if arr.dtype.kind in "US":
        arr = arr.astype(object)
    flat = [s.encode("utf-8") if isinstance(s, str) else bytes(s) for s in arr.reshape(-1)]
    strings = np.empty(arr.shape, dtype=object)
    strings.reshape(-1)[:] = flat
    return _tensor_value(tag, strings, "text", description)


def _encode(kind, tag, data, description, extra):
    if kind == "scalar":
        if description:
            arr = np.asarray(data)
            if arr.size != 1:
                raise ValueError(f"tf.summary.scalar expects a scalar, got shape {arr.shape}.")
            return _tensor_value(tag, arr.reshape(()).astype(np.float32), "scalars",
                                 description)
        return _scalar_value(tag, data)
    if kind == "histogram":
        return _tensor_value(tag, histogram_buckets(data, extra), "histograms", description)
    if kind == "image":
        return _image_value(tag, data, extra, description)
    if kind == "text":
        return _text_value(tag, data, description)
    raise ValueError(f"Unknown summary kind {kind!r}.")


def _write_kernel(xp, step, data, ctx=None, writer_key=0, kind="scalar", tag="",
                  description=None, extra=None):
    writer = _WRITERS.get(writer_key)
    if writer is None:
        return np.array(False)
    writer.write_value(_encode(kind, tag, data, description, extra), int(np.asarray(step)))
    return np.array(True)


_WRITE = register_op("WriteSummary", infer=infer.fixed(dtypes.bool, []),
                     kernel=_write_kernel, stateful=True)


def _resolve_step(step):
    if step is None:
        step = _state.step
    if step is None:
        raise ValueError("No step set. Please specify one either through the `step` "
                         "argument or through tf.summary.experimental.set_step()")
    if hasattr(step, "value") and callable(step.value):
        step = step.value()
    return convert_to_tensor(step, dtypes.int64) if not hasattr(step, "dtype") else \
        _cast_int64(step)


def _cast_int64(t):
    if t.dtype.base_dtype == dtypes.int64:
        return t
    from numflow.ops import math_ops
    return math_ops.cast(t, dtypes.int64)


def _scoped(name):
    from numflow.framework import context
    if context.executing_eagerly():
        return name
    scope = context.get_default_graph().get_name_scope()
    return f"{scope}/{name}" if scope else name


def write_summary(kind, name, data, step, description=None, extra=None):
    """Writes one summary through the default writer; returns a bool (tensor) or False."""
    if not should_record_summaries():
        return False
    writer = _state.writer
    step_t = _resolve_step(step)
    data_t = convert_to_tensor(data)
    attrs = {"writer_key": writer.key, "kind": kind, "tag": _scoped(name),
             "description": description, "extra": extra}
    return apply_op(_WRITE, [step_t, data_t], attrs)


@export("summary.scalar", v1=[])
def scalar(name, data, step=None, description=None):
    """Writes a scalar summary (``tf.summary.scalar``).

    Args:
      name: the tag.
      data: a real number (scalar tensor), converted to float32.
      step: the step (int64); default ``tf.summary.experimental.get_step()``.
      description: optional Markdown description.

    Returns:
      True (a bool tensor) on success, False if no summary writer was available.

    Raises:
      ValueError: if no step is set.
    """
    return write_summary("scalar", name, data, step, description)


@export("summary.histogram", v1=[])
def histogram(name, data, step=None, buckets=None, description=None):
    """Writes a histogram summary (``tf.summary.histogram``): ``buckets`` (default 30)
    equal-width buckets over [min, max] of ``data``."""
    return write_summary("histogram", name, data, step, description,
                         30 if buckets is None else int(buckets))


@export("summary.image", v1=[])
def image(name, data, step=None, max_outputs=3, description=None):
    """Writes an image summary (``tf.summary.image``): ``data`` is ``[k, h, w, c]``
    (c = 1, 2, 3 or 4), uint8 or floats in [0, 1]; at most ``max_outputs`` images."""
    return write_summary("image", name, data, step, description, int(max_outputs))


@export("summary.text", v1=[])
def text(name, data, step=None, description=None):
    """Writes a text summary (``tf.summary.text``): a string or string tensor (Markdown)."""
    return write_summary("text", name, data, step, description)


@export("summary.write", v1=[])
def write(tag, tensor, step=None, metadata=None, name=None):
    """Writes a generic tensor summary with optional serialized ``SummaryMetadata``
    (``tf.summary.write``); returns False without a default writer."""
    if not should_record_summaries():
        return False
    arr = np.asarray(tensor.numpy() if hasattr(tensor, "numpy") else tensor)
    step_value = int(np.asarray(_resolve_step(step)))
    body = proto.bytes_field(1, tag) + proto.message_field(8, summary_pb.tensor_proto(arr))
    if metadata is not None:
        raw = metadata.SerializeToString() if hasattr(metadata, "SerializeToString") \
            else bytes(metadata)
        body += proto.message_field(9, raw)
    _state.writer.write_value(body, step_value)
    return True


@export("summary.graph", v1=[])
def graph(graph_data):
    """Writes a ``tf.Graph`` (or its serialized GraphDef bytes) to the default writer at
    step 0 (``tf.summary.graph``); returns False without a default writer."""
    if not should_record_summaries():
        return False
    from numflow.summary import v1
    data = graph_data if isinstance(graph_data, (bytes, bytearray)) else \
        v1.graph_def_bytes(graph_data)
    _state.writer.write_graph(bytes(data), 0)
    return True


@export("summary.trace_on", v1=[])
def trace_on(graph=True, profiler=False, profiler_outdir=None):
    """Starts collecting function graphs (``tf.summary.trace_on``)."""
    raise NotImplementedError("tf.summary.trace_on / trace_export (function graph tracing); "
                              "use tf.summary.graph(graph) to write a graph.")


@export("summary.trace_off", v1=[])
def trace_off():
    """Stops tracing (``tf.summary.trace_off``); nothing is traced in numflow."""


@export("summary.trace_export", v1=[])
def trace_export(name, step=None, profiler_outdir=None):
    """Writes the traced graphs (``tf.summary.trace_export``)."""
    raise NotImplementedError("tf.summary.trace_export (function graph tracing); use "
                              "tf.summary.graph(graph) to write a graph.")
