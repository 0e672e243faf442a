"""TensorBoard event files: a stream of TFRecord-framed ``Event`` protos.

A file is named ``events.out.tfevents.<10-digit time>.<hostname><suffix>``; its
first event holds ``file_version: "brain.Event:2"``. Later events carry a wall
time, a step and one of a ``Summary``, a ``GraphDef`` or a file version. The
writer appends to the file as a stream, as TensorFlow's does (TensorBoard reads
files while they grow), so it does not use the atomic temp-file writer.
"""
import os
import socket
import threading
import time

from numflow.framework import errors
from numflow.io import proto
from numflow.io import summary as summary_pb
from numflow.io.tfrecord import tf_record_iterator, write_record

FILE_VERSION = "brain.Event:2"
_WALL_TIME, _STEP, _FILE_VERSION, _GRAPH_DEF, _SUMMARY = 1, 2, 3, 4, 5
_name_lock = threading.Lock()


def encode_event(wall_time, step=0, file_version=None, graph_def=None, summary=None):
    """A serialized ``Event``; at most one of file_version, graph_def, summary."""
    out = proto.double_field(_WALL_TIME, wall_time) + proto.varint_field(_STEP, step)
    if file_version is not None:
        out += proto.bytes_field(_FILE_VERSION, file_version, always=True)
    if graph_def is not None:
        out += proto.bytes_field(_GRAPH_DEF, graph_def, always=True)
    if summary is not None:
        out += proto.message_field(_SUMMARY, bytes(summary))
    return out


def _open_new_file(logdir, suffix):
    base = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}"
    with _name_lock:
        for n in range(1000):
            extra = "" if n == 0 else f".{os.getpid()}.{n}"
            path = os.path.join(logdir, base + extra + suffix)
            try:
                return path, open(path, "xb")
            except FileExistsError:
                continue
    raise FileExistsError(f"Could not create a new event file in {logdir}.")


class EventFileWriter:
    """Writes a TensorBoard event file in ``logdir`` (``tf.compat.v1.summary.FileWriter``'s core).

    Args:
      logdir: the directory, created if missing.
      filename_suffix: appended to the file name.

    If a file of the same name already exists (two writers in one second), the
    process id and a counter are added to the name instead of overwriting it.
    """

    def __init__(self, logdir, filename_suffix=""):
        self._logdir = os.fspath(logdir)
        os.makedirs(self._logdir, exist_ok=True)
        self.path, self._file = _open_new_file(self._logdir, filename_suffix)
        self._lock = threading.Lock()
        self.add_event(encode_event(time.time(), file_version=FILE_VERSION))
        self.flush()

    def get_logdir(self):
        """The directory this writer writes to."""
        return self._logdir

    def add_event(self, event_bytes):
        """Appends one serialized ``Event``."""
        with self._lock:
            if self._file is None:
                raise ValueError(f"Event file {self.path} is closed.")
            write_record(self._file, event_bytes)

    def add_summary_bytes(self, serialized_summary, step, wall_time=None):
        """Appends an Event holding an already serialized ``Summary``."""
        self.add_event(encode_event(time.time() if wall_time is None else wall_time,
                                    int(step), summary=serialized_summary))

    def _add_values(self, values, step, wall_time):
        self.add_summary_bytes(summary_pb.summary(values), step, wall_time)

    def add_scalar(self, tag, value, step, wall_time=None):
        """A TF2 scalar (float32 tensor, plugin "scalars"), as ``tf.summary.scalar``."""
        self._add_values([summary_pb.scalar_value(tag, value)], step, wall_time)

    def add_simple_scalar(self, tag, value, step, wall_time=None):
        """A TF1 ``simple_value`` scalar, as ``tf.compat.v1.summary.scalar``."""
        self._add_values([summary_pb.simple_value(tag, value)], step, wall_time)

    def add_histogram(self, tag, values, step, buckets=30, wall_time=None):
        """A histogram of ``values`` (``HistogramProto``, ``buckets`` equal-width buckets)."""
        self._add_values([summary_pb.histogram_value(tag, values, buckets)], step, wall_time)

    def add_image(self, tag, image, step, wall_time=None):
        """An image: a uint8 array ``[height, width, channels]`` (1-4 channels) or ``[h, w]``."""
        self._add_values([summary_pb.image_value(tag, image)], step, wall_time)

    def add_text(self, tag, text, step, wall_time=None):
        """A text summary (plugin "text"), as ``tf.summary.text``."""
        self._add_values([summary_pb.text_value(tag, text)], step, wall_time)

    def add_graph(self, graph_def_bytes, step=0, wall_time=None):
        """An Event holding a serialized ``GraphDef``."""
        self.add_event(encode_event(time.time() if wall_time is None else wall_time,
                                    int(step), graph_def=bytes(graph_def_bytes)))

    def flush(self):
        """Pushes buffered events to the file so TensorBoard can read them."""
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def close(self):
        """Flushes, syncs and closes the file; further calls do nothing."""
        with self._lock:
            if self._file is None:
                return
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def read_events(path):
    """Reads an event file into a list of dicts (for tests and tools).

    Each dict has ``wall_time`` and ``step`` and, as present, ``file_version`` (str),
    ``graph_def`` (bytes) or ``summary`` (the list from
    :func:`numflow.io.summary.decode_summary`).

    Raises:
      DataLossError: for a truncated or corrupted record.
    """
    events = []
    for index, record in enumerate(tf_record_iterator(path)):
        try:
            events.append(_decode_event(record))
        except proto.DecodeError as e:
            raise errors.DataLossError(None, None, f"{path}: event {index} is not a valid "
                                       f"Event proto ({e})") from None
    return events


def _decode_event(record):
    f = proto.Fields(record)
    event = {"wall_time": f.fixed_scalar(_WALL_TIME, "<f8", 0.0), "step": f.int64(_STEP)}
    if f.has(_FILE_VERSION):
        event["file_version"] = f.string(_FILE_VERSION)
    if f.has(_GRAPH_DEF):
        event["graph_def"] = f.bytes(_GRAPH_DEF)
    if f.has(_SUMMARY):
        event["summary"] = summary_pb.decode_summary(f.bytes(_SUMMARY))
    return event
