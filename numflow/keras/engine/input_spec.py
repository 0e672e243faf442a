"""InputSpec: what a layer accepts (rank, dtype, axis sizes), checked on every call with
Keras's error messages."""
import numflow as tf
from numflow.framework import nest


class InputSpec:
    """Specifies the rank, dtype and shape of every input to a layer
    (``tf.keras.layers.InputSpec``).

    Args:
      dtype: expected dtype of the input.
      shape: expected shape tuple (None entries match any size).
      ndim: expected rank.
      max_ndim: maximum rank.
      min_ndim: minimum rank.
      axes: dict mapping axis indices to expected sizes.
      allow_last_axis_squeeze: accept inputs whose trailing size-1 axis differs.
      name: the expected input's name (for dict inputs).
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None):
        self.dtype = tf.as_dtype(dtype).name if dtype is not None else None
        shape = tf.TensorShape(shape) if shape is not None else None
        if shape is not None and shape.rank is not None:
            self.ndim = shape.rank
            self.shape = tuple(shape.as_list())
        else:
            self.ndim = ndim
            self.shape = None
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.name = name
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        try:
            axes = axes or {}
            self.axes = {int(k): axes[k] for k in axes}
        except (ValueError, TypeError):
            raise TypeError(f"Argument `axes` must be a dict with integer keys. "
                            f"Received: axes={axes}") from None
        if self.axes and (self.ndim is not None or self.max_ndim is not None):
            max_dim = (self.ndim if self.ndim else self.max_ndim) - 1
            max_axis = max(self.axes)
            if max_axis > max_dim:
                raise ValueError(f"Axis {max_axis} is greater than the maximum allowed value: "
                                 f"{max_dim}")

    def __repr__(self):
        spec = [("dtype=" + str(self.dtype)) if self.dtype else "",
                ("shape=" + str(self.shape)) if self.shape else "",
                ("ndim=" + str(self.ndim)) if self.ndim else "",
                ("max_ndim=" + str(self.max_ndim)) if self.max_ndim else "",
                ("min_ndim=" + str(self.min_ndim)) if self.min_ndim else "",
                ("axes=" + str(self.axes)) if self.axes else ""]
        return f"InputSpec({', '.join(x for x in spec if x)})"

    def get_config(self):
        """The spec's fields as a dict."""
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim,
                "max_ndim": self.max_ndim, "min_ndim": self.min_ndim, "axes": self.axes}

    @classmethod
    def from_config(cls, config):
        """Rebuilds an InputSpec from ``get_config()``'s output."""
        return cls(**config)


def _shape_of(x):
    shape = getattr(x, "shape", None)
    if shape is None:
        return tf.TensorShape(None)
    if isinstance(shape, tf.TensorShape):
        return shape
    return tf.TensorShape(shape)


def assert_input_compatibility(input_spec, inputs, layer_name):
    """Checks ``inputs`` against ``input_spec`` (an InputSpec or a list of them).

    Raises:
      ValueError: naming the layer, the input index, what was expected and what was
        received.
    """
    if not input_spec:
        return
    if isinstance(inputs, tf.Tensor):      # one tensor and one spec: no flattening
        if type(input_spec) is list and len(input_spec) == 1:
            spec = input_spec[0]
        else:
            spec = input_spec
        if isinstance(spec, InputSpec):
            _check_one(spec, inputs, 0, layer_name)
            return
    input_spec = nest.flatten(input_spec)
    if isinstance(inputs, dict):
        names = [spec.name for spec in input_spec]
        if all(names):
            inputs = [inputs[n] for n in names if n in inputs] if all(
                n in inputs for n in names) else nest.flatten(inputs)
    inputs = nest.flatten(inputs)
    for x in inputs:
        if not hasattr(x, "shape"):
            raise TypeError(f"Inputs to a layer should be tensors. Got '{x}' (of type "
                            f"{type(x)}) as input for layer '{layer_name}'.")
    if len(inputs) != len(input_spec):
        raise ValueError(f'Layer "{layer_name}" expects {len(input_spec)} input(s), but it '
                         f"received {len(inputs)} input tensors. Inputs received: {inputs}")
    for input_index, (x, spec) in enumerate(zip(inputs, input_spec)):
        if spec is None:
            continue
        _check_one(spec, x, input_index, layer_name)


def _check_one(spec, x, input_index, layer_name):
    shape = x.shape if isinstance(x, tf.Tensor) else _shape_of(x)
    rank = shape.rank

    def bad(problem):   # the message is built only when a check fails
        return ValueError(f'Input {input_index} of layer "{layer_name}" is incompatible with '
                          f"the layer: {problem}")
    if spec.ndim is not None and not spec.allow_last_axis_squeeze:
        if rank != spec.ndim:
            raise bad(f"expected ndim={spec.ndim}, found ndim={rank}. Full shape "
                      f"received: {tuple(shape.as_list()) if rank is not None else None}")
    if spec.max_ndim is not None and rank is not None and rank > spec.max_ndim:
        raise bad(f"expected max_ndim={spec.max_ndim}, found ndim={rank}")
    if spec.min_ndim is not None and rank is not None and rank < spec.min_ndim:
        raise bad(f"expected min_ndim={spec.min_ndim}, found ndim={rank}. Full "
                  f"shape received: {tuple(shape.as_list())}")
    if spec.dtype is not None:
        got = x.dtype.base_dtype.name if hasattr(x.dtype, "base_dtype") else str(x.dtype)
        if got != spec.dtype:
            raise bad(f"expected dtype={spec.dtype}, found dtype={got}")
    if spec.axes and rank is not None:
        dims = shape.as_list()
        for axis, value in spec.axes.items():
            if value is None:
                continue
            if (axis >= rank or axis < -rank):
                raise bad(f"expected axis {axis} of input shape to have value "
                          f"{value}, but received input with shape {tuple(dims)}")
            if dims[axis] not in (value, None):
                raise bad(f"expected axis {axis} of input shape to have value "
                          f"{value}, but received input with shape {tuple(dims)}")
    if spec.shape is not None and rank is not None:
        spec_shape = spec.shape
        dims = shape.as_list()
        if spec.allow_last_axis_squeeze:
            if dims and dims[-1] == 1:
                dims = dims[:-1]
            if spec_shape and spec_shape[-1] == 1:
                spec_shape = spec_shape[:-1]
        if len(spec_shape) != len(dims):
            if not spec.allow_last_axis_squeeze:
                raise bad(f"expected shape={spec.shape}, found shape="
                          f"{tuple(shape.as_list())}")
            return
        for spec_dim, dim in zip(spec_shape, dims):
            if spec_dim is not None and dim is not None and spec_dim != dim:
                raise bad(f"expected shape={spec.shape}, found shape="
                          f"{tuple(shape.as_list())}")
