"""The vectorised fast path: pipelines over in-memory sources as index arithmetic.

A *source* (``from_tensor_slices``, ``range``, ``from_tensors``, a ``zip`` of sources)
gives random access to its rows: ``gather(chunk)`` returns the flat component arrays for
a chunk of row indices. ``shuffle``, ``repeat``, ``take``, ``skip`` and ``shard`` over a
source transform a *stream of index chunks* instead of elements, and ``batch`` turns
the stream into one fancy-indexing gather per batch, so no element is touched one by one
in Python. A chunk is a ``slice`` (contiguous rows: the gather is a view) or an int64
array.

Shuffling follows TF's buffer algorithm (see :class:`ShuffleBuffer`); only the random
numbers differ from TF's (NumPy's PCG64 instead of TF's Philox).
"""
import numpy as np

ROW_CHUNK = 1024        # rows gathered at once when a stream is iterated element-wise


class IndexSource:
    """Random access to the rows of an in-memory dataset.

    Args:
      n: the number of rows.
      gather: ``gather(chunk) -> list of arrays`` (the flat components, rows first).
      spec: the element_spec of one row (for packing).
    """

    __slots__ = ("n", "gather", "spec")

    def __init__(self, n, gather, spec):
        self.n = n
        self.gather = gather
        self.spec = spec


class IndexPlan:
    """A source plus ``chunks()``, which starts one pass and returns its index chunks."""

    __slots__ = ("source", "chunks")

    def __init__(self, source, chunks):
        self.source = source
        self.chunks = chunks


def chunk_len(c):
    """The number of rows of a chunk."""
    if type(c) is slice:
        return c.stop - c.start
    return len(c)


def as_array(c):
    """The chunk as an int64 array of row indices."""
    if type(c) is slice:
        return np.arange(c.start, c.stop, dtype=np.int64)
    return c


def split(c, k):
    """The first ``k`` rows of chunk ``c`` and the rest."""
    if type(c) is slice:
        mid = min(c.start + k, c.stop)
        return slice(c.start, mid), slice(mid, c.stop)
    return c[:k], c[k:]


def sequential(n):
    """The chunks of one in-order pass over ``n`` rows."""
    def chunks():
        if n > 0:
            yield slice(0, n)
    return chunks


def gather_views(arrays, chunk):
    """Rows ``chunk`` of each array: read-only views for slices, copies otherwise."""
    if type(chunk) is slice:
        out = []
        for a in arrays:
            v = a[chunk]
            v.flags.writeable = False
            out.append(v)
        return out
    return [a[chunk] for a in arrays]


# ---- stream transformations ----------------------------------------------------------

def take(chunks, count):
    """The first ``count`` rows of a stream."""
    def run():
        left = count
        if left == 0:
            return
        for c in chunks():
            n = chunk_len(c)
            if n >= left:
                yield split(c, left)[0]
                return
            left -= n
            yield c
    return run


def skip(chunks, count):
    """A stream without its first ``count`` rows."""
    def run():
        left = count
        for c in chunks():
            if left:
                n = chunk_len(c)
                if n <= left:
                    left -= n
                    continue
                c = split(c, left)[1]
                left = 0
            yield c
    return run


def shard(chunks, num_shards, index):
    """Every ``num_shards``-th row of a stream, from position ``index``."""
    def run():
        pos = 0
        for c in chunks():
            n = chunk_len(c)
            first = (index - pos) % num_shards
            if first < n:
                yield as_array(c)[first::num_shards]
            pos += n
    return run


def repeat(chunks, count):
    """``count`` passes of a stream (forever when negative; stops if a pass is empty)."""
    def run():
        epoch = 0
        while count < 0 or epoch < count:
            produced = False
            for c in chunks():
                produced = True
                yield c
            if not produced:
                return
            epoch += 1
    return run


class ShuffleBuffer:
    """TF's shuffle buffer: holds up to ``size`` items; each output is drawn uniformly
    from the buffer, and its slot is refilled from the input.

    Equivalent to TF's ShuffleDataset in distribution: the first output is drawn from the
    first ``size`` inputs, every later one from the buffered items plus one new input,
    and once the input ends the rest come out in uniformly random order. Differences
    from TF: the random numbers (NumPy PCG64, not Philox), and the input is read one
    element ahead of TF (the element that refills a slot is taken before the draw, which
    does not change which elements can be drawn).
    """

    def __init__(self, size, rng):
        self.size = size
        self.rng = rng
        self.items = []
        self._slots = []     # pre-drawn slot numbers, so one draw costs no NumPy call
        self._pos = 0

    def push(self, values):
        """Adds a list of items; returns the list of items drawn in exchange.

        The draws do not depend on how the input is split into calls, so the element
        path and the index path give the same order for the same seed.
        """
        items, size = self.items, self.size
        room = size - len(items)
        if room > 0:
            if room >= len(values):
                items.extend(values)
                return []
            items.extend(values[:room])
            values = values[room:]
        out = []
        append = out.append
        slots, pos = self._slots, self._pos
        for v in values:
            if pos == len(slots):
                slots = self._slots = (self.rng.random(4096) * size).astype(np.int64).tolist()
                pos = 0
            j = slots[pos]
            pos += 1
            append(items[j])
            items[j] = v
        self._pos = pos
        return out

    def drain(self):
        """The remaining items in random order (the buffer is emptied)."""
        items, self.items = self.items, []
        order = self.rng.permutation(len(items)).tolist()
        return [items[i] for i in order]


def shuffle(chunks, size, make_rng):
    """Shuffles the rows of the stream with a buffer of ``size``; ``make_rng()`` gives
    the generator for one pass."""
    def run():
        buf = ShuffleBuffer(size, make_rng())
        for c in chunks():
            out = buf.push(as_array(c).tolist())
            if out:
                yield np.array(out, dtype=np.int64)
        rest = buf.drain()
        if rest:
            yield np.array(rest, dtype=np.int64)
    return run


# ---- consumers -----------------------------------------------------------------------

def rows(plan, pack):
    """Yields the elements of a plan one by one (gathered ``ROW_CHUNK`` rows at a time);
    ``pack(flat)`` builds one element from its flat leaves."""
    gather = plan.source.gather
    for c in plan.chunks():
        while chunk_len(c):
            head, c = split(c, ROW_CHUNK)
            cols = gather(head)
            n = chunk_len(head)
            if len(cols) == 1:
                col = cols[0]
                for i in range(n):
                    yield pack([col[i, ...]])
            else:
                for i in range(n):
                    yield pack([col[i, ...] for col in cols])


def batches(plan, batch_size, drop_remainder):
    """Yields the flat component arrays of each batch: one gather per batch."""
    gather = plan.source.gather
    pending, have = [], 0
    for c in plan.chunks():
        while chunk_len(c):
            need = batch_size - have
            head, c = split(c, need)
            pending.append(head)
            have += chunk_len(head)
            if have == batch_size:
                yield gather(_join(pending))
                pending, have = [], 0
    if have and not drop_remainder:
        yield gather(_join(pending))


def _join(pieces):
    if len(pieces) == 1:
        return pieces[0]
    if all(type(p) is slice for p in pieces) and all(
            a.stop == b.start for a, b in zip(pieces, pieces[1:])):
        return slice(pieces[0].start, pieces[-1].stop)
    return np.concatenate([as_array(p) for p in pieces])
