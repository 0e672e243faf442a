"""Merge layers (``tf.keras.layers.Add``, ``Subtract``, ``Multiply``, ``Average``,
``Maximum``, ``Minimum``, ``Concatenate``, ``Dot``) and their functional forms (``add``,
``subtract``, ``multiply``, ``average``, ``maximum``, ``minimum``, ``concatenate``,
``dot``).

Elementwise merges broadcast over the non-batch axes (inputs of lower rank get size-1 axes
inserted after the batch axis, as Keras does); incompatible shapes raise ValueError when
the layer is built, naming the shapes.
"""
import numflow as tf
from numflow.keras.engine.base_layer import Layer
from numflow.ops import array_manip, reductions

__all__ = [
    "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
    "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"
]


def _dims(shape):
    shape = tf.TensorShape(shape)
    return None if shape.rank is None else list(shape.as_list())


def _check_list(inputs, what, minimum=1):
    if not isinstance(inputs, (list, tuple)):
        raise ValueError(f"A merge layer should be called on a list of inputs. Received: "
                         f"{what}={inputs} (not a list of tensors)")
    if len(inputs) < minimum:
        raise ValueError(f"A merge layer should be called on a list of at least {minimum} "
                         f"input(s). Got {len(inputs)} inputs.")


def _broadcast(shape1, shape2):
    """The broadcast of two non-batch shapes (lists), Keras's rule."""
    if shape1 is None or shape2 is None:
        return None
    if len(shape1) < len(shape2):
        shape1, shape2 = shape2, shape1
    if not shape2:
        return list(shape1)
    out = list(shape1[:-len(shape2)])
    for i, j in zip(shape1[-len(shape2):], shape2):
        if i is None or j is None:
            out.append(None if i != 1 and j != 1 else (j if i == 1 else i))
        elif i == 1:
            out.append(j)
        elif j == 1 or i == j:
            out.append(i)
        else:
            raise ValueError(f"Inputs have incompatible shapes. Received shapes "
                             f"{tuple(shape1)} and {tuple(shape2)}")
    return out


class Merge(Layer):
    """Base of the elementwise merge layers: checks shapes, aligns ranks, merges masks."""

    _min_inputs = 1

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _merge_function(self, inputs):
        raise NotImplementedError(f"{type(self).__name__} must define _merge_function")

    def build(self, input_shape):
        _check_list(input_shape, "input_shape", self._min_inputs)
        shapes = [_dims(s) for s in input_shape]
        batch = {s[0] for s in shapes if s} - {None}
        if len(batch) > 1:
            raise ValueError(f"Cannot merge tensors with different batch sizes. Received "
                             f"tensors with shapes {[tuple(s) for s in shapes]}")
        self.compute_output_shape(input_shape)
        self.built = True

    def call(self, inputs):
        _check_list(inputs, "inputs", self._min_inputs)
        ranks = [x.shape.rank for x in inputs]
        if None not in ranks and len(set(ranks)) > 1:
            top = max(ranks)
            aligned = []
            for x, r in zip(inputs, ranks):
                for _ in range(top - r):
                    x = array_manip.expand_dims(x, 1)
                aligned.append(x)
            inputs = aligned
        return self._merge_function(list(inputs))

    def compute_output_shape(self, input_shape):
        shapes = [_dims(s) for s in input_shape]
        out = None if shapes[0] is None else shapes[0][1:]
        for s in shapes[1:]:
            out = _broadcast(out, None if s is None else s[1:])
        if out is None:
            return tf.TensorShape(None)
        batch = {s[0] for s in shapes if s} - {None}
        return tf.TensorShape([batch.pop() if len(batch) == 1 else None] + out)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"`mask` should be a list. Received: mask={mask}")
        if len(mask) != len(inputs):
            raise ValueError(f"The lists `inputs` and `mask` should have the same length. "
                             f"Received: inputs={inputs} of length {len(inputs)}, and "
                             f"mask={mask} of length {len(mask)}")
        masks = [m for m in mask if m is not None]
        if not masks:
            return None
        out = masks[0]
        for m in masks[1:]:
            out = tf.logical_and(out, m)
        return out


class Add(Merge):
    """Adds a list of inputs elementwise (``keras.layers.Add()``); all inputs have the same
    (broadcastable) shape and so does the output."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Subtract(Merge):
    """Subtracts two inputs, ``inputs[0] - inputs[1]`` (``keras.layers.Subtract()``).

    Raises:
      ValueError: unless called on exactly two inputs.
    """

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: input_shape={input_shape}")
        super().build(input_shape)

    def _merge_function(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: inputs={inputs}")
        return inputs[0] - inputs[1]


class Multiply(Merge):
    """Multiplies a list of inputs elementwise (``keras.layers.Multiply()``)."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


class Average(Merge):
    """The elementwise mean of a list of inputs (``keras.layers.Average()``)."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / len(inputs)


class Maximum(Merge):
    """The elementwise maximum of a list of inputs (``keras.layers.Maximum()``)."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = tf.maximum(out, x)
        return out


class Minimum(Merge):
    """The elementwise minimum of a list of inputs (``keras.layers.Minimum()``)."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = tf.minimum(out, x)
        return out


class Concatenate(Merge):
    """Concatenates a list of inputs along ``axis`` (``keras.layers.Concatenate(axis=-1)``).

    Every input has the same rank and the same sizes except along ``axis``.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def build(self, input_shape):
        _check_list(input_shape, "input_shape")
        shapes = [_dims(s) for s in input_shape]
        known = [s for s in shapes if s is not None]
        if known:
            err = (f"A `Concatenate` layer requires inputs with matching shapes except for the "
                   f"concatenation axis. Received: input_shape={[tuple(s) for s in known]}")
            if len({len(s) for s in known}) != 1:
                raise ValueError(err)
            rank = len(known[0])
            axis = self.axis % rank
            for i in range(rank):
                if i == axis:
                    continue
                sizes = {s[i] for s in known} - {None}
                if len(sizes) > 1:
                    raise ValueError(err)
        self.built = True

    def call(self, inputs):
        _check_list(inputs, "inputs")
        return array_manip.concat(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        shapes = [_dims(s) for s in input_shape]
        if any(s is None for s in shapes):
            return tf.TensorShape(None)
        out = list(shapes[0])
        axis = self.axis % len(out)
        for i in range(len(out)):
            if i != axis:
                out[i] = next((s[i] for s in shapes if s[i] is not None), None)
        sizes = [s[axis] for s in shapes]
        out[axis] = None if None in sizes else sum(sizes)
        return tf.TensorShape(out)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(f"The lists `inputs` and `mask` should have the same length. "
                             f"Received: inputs={inputs}, mask={mask}")
        if all(m is None for m in mask):
            return None
        masks = []
        for x, m in zip(inputs, mask):
            if m is None:
                m = tf.ones_like(x, dtype=tf.bool)
            elif m.shape.rank < x.shape.rank:
                m = tf.logical_or(array_manip.expand_dims(m, -1),
                                  tf.zeros_like(x, dtype=tf.bool))
            masks.append(m)
        return reductions.reduce_any(array_manip.concat(masks, axis=self.axis), axis=-1)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


def batch_dot(x, y, axes=None):
    """Batchwise dot product of ``x`` and ``y`` (rank >= 2) over ``axes``: the shape of
    ``x`` without ``axes[0]`` followed by ``y``'s without the batch axis and ``axes[1]``;
    a rank-1 result becomes ``(batch, 1)`` (``keras.backend.batch_dot``)."""
    xs, ys = x.shape.as_list(), y.shape.as_list()
    xn, yn = len(xs), len(ys)
    if xn < 2 or yn < 2:
        raise ValueError(f"Cannot do batch_dot on inputs with rank < 2. Received inputs with "
                         f"shapes {tuple(xs)} and {tuple(ys)}.")
    if isinstance(axes, int):
        axes = [axes, axes]
    if axes is None:
        axes = [xn - 1, yn - 1 if yn == 2 else yn - 2]
    a0, a1 = (a + n if a < 0 else a for a, n in zip(axes, (xn, yn)))
    if 0 in (a0, a1):
        raise ValueError("Cannot perform batch_dot over axis 0. If your inputs are not "
                         "batched, add a dummy batch dimension to your inputs.")
    if xs[a0] is not None and ys[a1] is not None and xs[a0] != ys[a1]:
        raise ValueError(f"Cannot do batch_dot on inputs with shapes {tuple(xs)} and "
                         f"{tuple(ys)} with axes={[a0, a1]}. x.shape[{a0}] != y.shape[{a1}] "
                         f"({xs[a0]} != {ys[a1]}).")
    # x -> [batch, rest_x, d], y -> [batch, d, rest_y]: one batched matmul
    x = array_manip.transpose(x, [i for i in range(xn) if i != a0] + [a0])
    y = array_manip.transpose(y, [0, a1] + [i for i in range(1, yn) if i != a1])
    rest_x = [xs[i] for i in range(1, xn) if i != a0]
    rest_y = [ys[i] for i in range(1, yn) if i != a1]
    d = xs[a0] if xs[a0] is not None else ys[a1]
    bx = tf.shape(x)[0]
    x3 = tf.reshape(x, tf.stack([bx, -1, d]))
    y3 = tf.reshape(y, tf.stack([bx, d, -1]))
    out = tf.matmul(x3, y3)
    final = rest_x + rest_y
    if not final:
        out = tf.reshape(out, [-1, 1])
        if not tf.executing_eagerly():
            out.set_shape([xs[0], 1])
        return out
    dyn_x, dyn_y = tf.shape(x), tf.shape(y)
    dims = [bx] + [s if s is not None else dyn_x[i + 1] for i, s in enumerate(rest_x)] + \
        [s if s is not None else dyn_y[i + 2] for i, s in enumerate(rest_y)]
    out = tf.reshape(out, tf.stack(dims))
    if not tf.executing_eagerly():
        out.set_shape([xs[0]] + final)
    return out


class Dot(Merge):
    """The dot product of two batched inputs along ``axes``
    (``keras.layers.Dot(axes, normalize=False)``).

    Args:
      axes: an int or a pair of ints, the axis of each input summed over (never 0).
      normalize: L2-normalize both inputs along ``axes`` first, giving cosine similarity.

    Example: inputs ``(batch, n)`` and ``(batch, n)`` with ``axes=1`` give ``(batch, 1)``.
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)) or len(axes) != 2 or \
                    not all(isinstance(a, int) for a in axes):
                raise ValueError(f"Invalid format for argument `axes`: list of 2 integers or "
                                 f"a single integer. Received: axes={axes}")
            axes = list(axes)
        self.axes = axes
        self.normalize = bool(normalize)
        self.supports_masking = True

    def _axes_for(self, shapes):
        if isinstance(self.axes, int):
            return [self.axes % len(s) if self.axes < 0 else self.axes for s in shapes]
        return [a % len(s) if a < 0 else a for a, s in zip(self.axes, shapes)]

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise ValueError(f"A `Dot` layer should be called on a list of 2 inputs. "
                             f"Received: input_shape={input_shape}")
        s1, s2 = _dims(input_shape[0]), _dims(input_shape[1])
        if s1 is None or s2 is None:
            self.built = True
            return
        a1, a2 = self._axes_for([s1, s2])
        if s1[a1] is not None and s2[a2] is not None and s1[a1] != s2[a2]:
            raise ValueError(f"Incompatible input shapes: axis values {s1[a1]} (at axis {a1}) "
                             f"!= {s2[a2]} (at axis {a2}). Full input shapes: {tuple(s1)}, "
                             f"{tuple(s2)}")
        self.built = True

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"A `Dot` layer should be called on exactly 2 inputs. Received: "
                             f"inputs={inputs}")
        x1, x2 = inputs
        a1, a2 = self._axes_for([x1.shape.as_list(), x2.shape.as_list()])
        if self.normalize:
            x1 = tf.math.l2_normalize(x1, axis=a1)
            x2 = tf.math.l2_normalize(x2, axis=a2)
        return batch_dot(x1, x2, [a1, a2])

    def compute_output_shape(self, input_shape):
        s1, s2 = _dims(input_shape[0]), _dims(input_shape[1])
        a1, a2 = self._axes_for([s1, s2])
        out = [s1[0]] + [d for i, d in enumerate(s1) if i not in (0, a1)] + \
            [d for i, d in enumerate(s2) if i not in (0, a2)]
        return tf.TensorShape(out if len(out) > 1 else out + [1])

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update({"axes": self.axes, "normalize": self.normalize})
        return config


def add(inputs, **kwargs):
    """Functional interface to ``Add``: ``add([x1, x2, ...])``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional interface to ``Subtract``: ``subtract([x1, x2])`` is ``x1 - x2``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional interface to ``Multiply``."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional interface to ``Average``."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional interface to ``Maximum``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional interface to ``Minimum``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional interface to ``Concatenate``: ``concatenate([x1, x2], axis=-1)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """Functional interface to ``Dot``: ``dot([x1, x2], axes, normalize=False)``."""
    return Dot(axes=axes, **kwargs)(inputs)

