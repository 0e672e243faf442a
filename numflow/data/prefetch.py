"""``prefetch``: a background thread computes elements ahead of the consumer.

The producer is a daemon thread with a stop event. Closing the pass (breaking out of a
loop, dropping the iterator, re-initializing a TF1 iterator) sets the event and joins
the thread; an ``atexit`` hook stops any thread still running at interpreter exit, so
nothing is printed then. An exception raised while producing element k reaches the
consumer after elements 0..k-1, as the same exception object.
"""
import atexit
import queue
import threading
import weakref

from numflow.data import structure
from numflow.data.dataset import AUTOTUNE, Dataset, as_count
from numflow.framework import errors

AUTOTUNE_BUFFER = 4         # the buffer size tf.data.AUTOTUNE stands for
_POLL = 0.05                # seconds between checks of the stop event while blocked
_JOIN_TIMEOUT = 10.0
_LIVE = weakref.WeakSet()   # stop events of running producers (for the atexit hook)
_END = object()


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error):
        self.error = error


class _StopEvent:
    """A stop flag that can live in a WeakSet."""

    __slots__ = ("event", "__weakref__")

    def __init__(self):
        self.event = threading.Event()


def _produce(source, out, stop):
    """The producer thread: moves elements of ``source`` into ``out`` until ``stop``.
    User functions in the pipeline run eagerly here too (even in a TF1 program)."""
    with structure.eager_scope():
        _produce_eagerly(source, out, stop)


def _produce_eagerly(source, out, stop):
    try:
        for element in source:
            while not stop.is_set():
                try:
                    out.put(element, timeout=_POLL)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return
        item = _END
    except BaseException as e:   # noqa: BLE001 - handed to the consumer unchanged
        item = _Failure(e)
    finally:
        source.close()
    while not stop.is_set():
        try:
            out.put(item, timeout=_POLL)
            return
        except queue.Full:
            continue


def prefetched(source, size):
    """Yields the items of generator ``source``, computed ``size`` ahead in a thread."""
    out = queue.Queue(maxsize=size)
    flag = _StopEvent()
    stop = flag.event
    thread = threading.Thread(target=_produce, args=(source, out, stop), daemon=True,
                              name="numflow-prefetch")
    _LIVE.add(flag)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is _END:
                return
            if type(item) is _Failure:
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join(_JOIN_TIMEOUT)
        _LIVE.discard(flag)


@atexit.register
def _stop_all():
    for flag in list(_LIVE):
        flag.event.set()


class _PrefetchDataset(Dataset):
    def __init__(self, input_dataset, buffer_size):
        size = as_count(buffer_size, "buffer_size")
        if size < 0 and size != AUTOTUNE:
            raise errors.InvalidArgumentError(None, None, "buffer_size must be >= 0 or "
                                                          "AUTOTUNE (-1).")
        self._size = AUTOTUNE_BUFFER if size == AUTOTUNE else size
        super().__init__([input_dataset], input_dataset.element_spec)

    def _cardinality(self):
        return self._inputs[0]._cardinality()

    def _elements(self):
        source = self._inputs[0]._elements()
        if self._size == 0:
            return source
        return prefetched(source, self._size)
