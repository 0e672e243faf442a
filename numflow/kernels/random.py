"""TensorFlow's stateful random numbers, drawn exactly as TF's CPU kernels draw them.

TF's stateful random ops (RandomStandardNormal, RandomUniform, RandomUniformInt,
TruncatedNormal) each own a Philox4x32-10 generator keyed by the op's ``seed`` attribute,
with the op's ``seed2`` in the high half of its 128-bit counter. Every run of the op
reserves 256 counter steps per output element and fills the output from the start of
that reservation, so the next ``session.run`` of the same op continues the stream.
:class:`PhiloxStream` is one such generator; it computes whole blocks of Philox outputs
with uint64 array arithmetic.

Conversions, as TF's ``random_distributions.h`` defines them:
  * uniform float32: 23 random mantissa bits under exponent 0 give [1, 2), minus 1
    (float16: 10 bits; float64: 52 bits from two words);
  * normal: Box-Muller on word pairs, ``sin`` then ``cos`` times
    ``sqrt(-2 log max(u1, 1e-7))`` (float64 uses four words per pair of outputs);
  * truncated normal: Box-Muller candidates with ``|x| < 2`` kept in order; each group
    of outputs (4, or 2 for float64) draws from its own stretch of the reservation;
  * integers: ``minval + bits % (maxval - minval)`` (int64 takes two words).

Bit-exactness: uniform floats and integers depend only on integer arithmetic and
match TF bit for bit. TF's float32 Box-Muller (also used for float16) calls glibc's
``logf`` and ``sincosf``, which are not correctly rounded in about 1% of arguments;
NumPy has no equivalent, so here they are evaluated in float64 and rounded once. About
2% of float32 normal and truncated-normal values then differ from TF's by an ulp or two
(the rest are identical; float16 rounding hides nearly all of it). Likewise NumPy's
float64 ``log`` differs from glibc's in the last bit for a few arguments in a thousand,
and so do as many float64 normal values. A candidate within an ulp of the
truncation bound 2 could in principle be kept by one and dropped by the other, which
would shift the rest of that group of four (two for float64) outputs.
"""
import os

import numpy

from numflow.framework import dtypes, errors

DEFAULT_GRAPH_SEED = 87654321
_MAXINT32 = 2 ** 31 - 1
_MASK32 = 0xFFFFFFFF
_MASK64 = 2 ** 64 - 1
_ROUND_MULTIPLIERS = (0xD2511F53, 0xCD9E8D57)
_KEY_INCREMENTS = (0x9E3779B9, 0xBB67AE85)
_RESERVED_PER_OUTPUT = 256          # counter steps one run reserves per output element
_TRUNCATE_BOUND = 2.0
_EPSILON = 1.0e-7


def get_seed(graph_seed, op_seed, op_counter=0):
    """TF 1.x's ``random_seed.get_seed``: the ``(seed, seed2)`` attributes of a random op.

    Args:
      graph_seed: the graph-level seed (``tf.set_random_seed``), or None.
      op_seed: the op's ``seed`` argument, or None.
      op_counter: used as the op seed when only the graph seed is set; TF passes the
        number of random ops that took their seed from this graph before (0, 1, ...).

    Returns:
      ``(graph_seed % (2**31 - 1), op_seed % (2**31 - 1))``; ``(87654321, op seed)``
      when only the op seed is set; ``(None, None)`` (nondeterministic) when neither is.
      ``(0, 0)`` becomes ``(0, 2**31 - 1)`` because the kernels read ``(0, 0)`` as
      "unseeded".
    """
    if graph_seed is not None:
        seeds = (graph_seed % _MAXINT32, (op_counter if op_seed is None else op_seed) % _MAXINT32)
    elif op_seed is not None:
        seeds = (DEFAULT_GRAPH_SEED, op_seed % _MAXINT32)
    else:
        return None, None
    return (0, _MAXINT32) if seeds == (0, 0) else seeds


def philox4x32(xp, key, counter, offsets):
    """Philox4x32-10 outputs for 128-bit counters ``counter + offsets``.

    Args:
      xp: the array module.
      key: the 64-bit key (low word first, as TF stores it).
      counter: the 128-bit base counter as a Python int.
      offsets: uint64 array of non-negative steps from ``counter``.

    Returns:
      uint32 array ``offsets.shape + (4,)``: the four output words of each block.
    """
    base_lo = xp.uint64(counter & _MASK64)
    lo = offsets.astype(xp.uint64) + base_lo
    hi = (lo < base_lo).astype(xp.uint64) + xp.uint64((counter >> 64) & _MASK64)
    c0, c1, c2, c3 = lo & _MASK32, lo >> 32, hi & _MASK32, hi >> 32
    k0, k1 = key & _MASK32, (key >> 32) & _MASK32
    m0, m1 = _ROUND_MULTIPLIERS
    for _ in range(10):
        p0, p1 = c0 * m0, c2 * m1           # 32x32 -> 64-bit products
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ xp.uint64(k0), p1 & _MASK32,
                          (p0 >> 32) ^ c3 ^ xp.uint64(k1), p0 & _MASK32)
        k0, k1 = (k0 + _KEY_INCREMENTS[0]) & _MASK32, (k1 + _KEY_INCREMENTS[1]) & _MASK32
    return xp.stack([c0, c1, c2, c3], axis=-1).astype(xp.uint32)


def _uint_to_unit_float(xp, bits, np_dtype):
    """TF's Uint32ToFloat / Uint16ToHalf: mantissa bits under exponent 0, minus 1."""
    if np_dtype == xp.float16:
        return ((bits & 0x3FF) | 0x3C00).astype(xp.uint16).view(xp.float16) - xp.float16(1)
    return ((bits & 0x7FFFFF) | 0x3F800000).view(xp.float32) - xp.float32(1)


def _uint64_to_unit_double(xp, hi_bits, lo_bits):
    """TF's Uint64ToDouble: 20 bits of one word and all of the next as the mantissa."""
    man = ((hi_bits.astype(xp.uint64) & 0xFFFFF) << 32) | lo_bits.astype(xp.uint64)
    return (man | (1023 << 52)).view(xp.float64) - 1.0


def _box_muller_float(xp, w):
    """Float32 Box-Muller on word pairs: ``[..., 4]`` words -> ``[..., 4]`` normals."""
    u1 = xp.maximum(_uint_to_unit_float(xp, w[..., 0::2], xp.float32), xp.float32(_EPSILON))
    # TF rounds 2*pi*u (computed in double) to float, then takes float sine and cosine.
    v1 = (2 * xp.pi * _uint_to_unit_float(xp, w[..., 1::2], xp.float32).astype(xp.float64))
    v1 = v1.astype(xp.float32).astype(xp.float64)
    # TF calls float logf and sincosf; float64 rounded once stands in for them.
    u2 = xp.sqrt(xp.float32(-2) * xp.log(u1.astype(xp.float64)).astype(xp.float32))
    out = xp.empty(w.shape, dtype=xp.float32)
    out[..., 0::2] = xp.sin(v1).astype(xp.float32) * u2
    out[..., 1::2] = xp.cos(v1).astype(xp.float32) * u2
    return out


def _box_muller_double(xp, w):
    """Float64 Box-Muller: ``[..., 4]`` words -> ``[..., 2]`` normals."""
    u1 = xp.maximum(_uint64_to_unit_double(xp, w[..., 0], w[..., 1]), _EPSILON)
    v1 = 2 * xp.pi * _uint64_to_unit_double(xp, w[..., 2], w[..., 3])
    u2 = xp.sqrt(-2.0 * xp.log(u1))
    return xp.stack([xp.sin(v1) * u2, xp.cos(v1) * u2], axis=-1)


def _float_type(xp, dtype, what):
    np_dtype = xp.dtype(dtypes.as_dtype(dtype).as_numpy_dtype)
    if np_dtype not in (xp.float16, xp.float32, xp.float64):
        raise errors.InvalidArgumentError(
            None, None, f"{what} does not support dtype {np_dtype.name}; "
            "expected float16, float32 or float64")
    return np_dtype


def _size(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


class PhiloxStream:
    """The random stream of one stateful TF random op (one kernel instance).

    Each draw advances the stream by 256 counter steps per output element, exactly as
    one ``session.run`` of the op does, so successive draws give TF's successive runs.

    Args:
      seed: the op's ``seed`` attribute (the graph seed from :func:`get_seed`).
      seed2: the op's ``seed2`` attribute (the op seed).
        ``(None, None)`` or ``(0, 0)`` draws both from ``os.urandom``, as TF does.
      xp: the array module (NumPy by default).
    """

    def __init__(self, seed, seed2, xp=numpy):
        seed, seed2 = seed or 0, seed2 or 0
        if seed == 0 and seed2 == 0:
            seed = int.from_bytes(os.urandom(8), "little")
            seed2 = int.from_bytes(os.urandom(8), "little")
        self._xp = xp
        self._key = seed & _MASK64
        self._counter = (seed2 & _MASK64) << 64

    def _reserve(self, n):
        """Start counter of this draw; moves the stream past its reservation."""
        start = self._counter
        self._counter = (start + n * _RESERVED_PER_OUTPUT) % (1 << 128)
        return start

    def _blocks(self, start, count):
        """Philox outputs ``[count, 4]`` for the counters ``start .. start + count - 1``."""
        xp = self._xp
        return philox4x32(xp, self._key, start, xp.arange(count, dtype=xp.uint64))

    def uniform(self, shape, dtype=dtypes.float32):
        """``RandomUniform``: floats in [0, 1).

        Args:
          shape: output shape.
          dtype: float16, float32 or float64 (a numflow DType or NumPy dtype).

        Returns:
          An array of ``shape`` and ``dtype``.
        """
        xp, np_dtype = self._xp, _float_type(self._xp, dtype, "RandomUniform")
        n = _size(shape)
        start = self._reserve(n)
        if np_dtype == xp.float64:
            w = self._blocks(start, -(-n // 2)).reshape(-1, 2)
            values = _uint64_to_unit_double(xp, w[:, 0], w[:, 1])
        else:
            values = _uint_to_unit_float(xp, self._blocks(start, -(-n // 4)).reshape(-1),
                                         np_dtype)
        return values[:n].reshape(tuple(shape))

    def normal(self, shape, dtype=dtypes.float32):
        """``RandomStandardNormal``: standard normal samples (mean 0, stddev 1).

        Args:
          shape: output shape.
          dtype: float16, float32 or float64.

        Returns:
          An array of ``shape`` and ``dtype``. See the module docstring for the
          float32/float16 last-ulp caveat.
        """
        xp, np_dtype = self._xp, _float_type(self._xp, dtype, "RandomStandardNormal")
        n = _size(shape)
        start = self._reserve(n)
        if np_dtype == xp.float64:
            values = _box_muller_double(xp, self._blocks(start, -(-n // 2)))
        else:
            values = _box_muller_float(xp, self._blocks(start, -(-n // 4)))
        return values.reshape(-1)[:n].astype(np_dtype).reshape(tuple(shape))

    def truncated_normal(self, shape, dtype=dtypes.float32):
        """``TruncatedNormal``: standard normal samples redrawn until ``|x| < 2``.

        Args:
          shape: output shape.
          dtype: float16, float32 or float64.

        Returns:
          An array of ``shape`` and ``dtype``.
        """
        xp, np_dtype = self._xp, _float_type(self._xp, dtype, "TruncatedNormal")
        n = _size(shape)
        start = self._reserve(n)
        double = np_dtype == xp.float64
        group = 2 if double else 4                       # outputs per group
        stride = group * _RESERVED_PER_OUTPUT // 4       # Philox blocks between groups
        groups = -(-n // group)
        out = xp.empty((groups, group), dtype=xp.float64 if double else xp.float32)
        filled = xp.zeros(groups, dtype=xp.int64)
        pending = xp.arange(groups, dtype=xp.int64)
        block = 0
        while pending.size:
            # One more Philox block for every group still short of outputs (one block
            # already completes ~83% of float32 groups, ~99% of float64 ones).
            offsets = pending.astype(xp.uint64) * xp.uint64(stride) + xp.uint64(block)
            w = philox4x32(xp, self._key, start, offsets)
            cand = (_box_muller_double if double else _box_muller_float)(xp, w)
            keep = xp.abs(cand) < _TRUNCATE_BOUND
            slot = xp.cumsum(keep, axis=1) - 1 + filled[pending][:, None]
            keep &= slot < group
            out[xp.broadcast_to(pending[:, None], keep.shape)[keep], slot[keep]] = cand[keep]
            filled[pending] += keep.sum(axis=1)
            pending = pending[filled[pending] < group]
            block += 1
        return out.reshape(-1)[:n].astype(np_dtype).reshape(tuple(shape))

    def uniform_int(self, shape, minval, maxval, dtype=dtypes.int32):
        """``RandomUniformInt``: integers in ``[minval, maxval)``.

        Args:
          shape: output shape.
          minval: inclusive lower bound.
          maxval: exclusive upper bound.
          dtype: int32 or int64.

        Returns:
          An array of ``shape`` and ``dtype``. Values are ``minval + bits % range``,
          so, as in TF, they are very slightly non-uniform for ranges that do not
          divide 2**32 (2**64 for int64).

        Raises:
          InvalidArgumentError: if ``minval >= maxval`` for a non-empty shape, or for
            another dtype.
        """
        xp = self._xp
        np_dtype = xp.dtype(dtypes.as_dtype(dtype).as_numpy_dtype)
        if np_dtype not in (xp.int32, xp.int64):
            raise errors.InvalidArgumentError(
                None, None, f"RandomUniformInt does not support dtype {np_dtype.name}")
        n = _size(shape)
        if n and not minval < maxval:
            raise errors.InvalidArgumentError(
                None, None, f"Need minval < maxval: {minval} >= {maxval}")
        start = self._reserve(n)
        if np_dtype == xp.int64:
            w = self._blocks(start, -(-n // 2)).reshape(-1, 2).astype(xp.uint64)
            bits = w[:, 0] | (w[:, 1] << 32)
            span, low = xp.uint64((maxval - minval) & _MASK64), xp.uint64(minval & _MASK64)
        else:
            bits = self._blocks(start, -(-n // 4)).reshape(-1)
            span, low = xp.uint32((maxval - minval) & _MASK32), xp.uint32(minval & _MASK32)
        values = (bits[:n] % span + low).view(np_dtype)
        return values.reshape(tuple(shape))
