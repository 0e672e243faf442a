"""Helpers shared by Layer and the models: the call context (the training flag that outer
layers pass down, the stack of layer names that scopes weight names), masks kept beside
tensors, and call-signature inspection."""
import inspect
import threading
import weakref

import numpy as np

import numflow as tf
from numflow.framework import nest


class _CallContext(threading.local):
    def __init__(self):
        self.training = []        # stack of resolved training flags of enclosing calls
        self.depth = 0            # nesting depth of Layer.__call__
        self.name_stack = []      # layer names used to scope weight names


call_context = _CallContext()

# Masks live beside tensors (tensors have __slots__ and compare elementwise), keyed by id
# and dropped when the tensor is collected.
_MASKS = {}


def _forget(key):
    def callback(_ref):
        _MASKS.pop(key, None)
    return callback


def get_mask(x):
    """The Keras mask attached to ``x`` (None if none)."""
    m = getattr(x, "_keras_mask", None)
    if m is not None:
        return m
    entry = _MASKS.get(id(x))
    if entry is None or entry[0]() is not x:
        return None
    return entry[1]


def set_mask(x, mask):
    """Attaches ``mask`` to ``x`` (a tensor or KerasTensor)."""
    if hasattr(type(x), "_keras_mask_slot"):
        x._keras_mask = mask
        return
    key = id(x)
    if mask is None:
        _MASKS.pop(key, None)
        return
    try:
        _MASKS[key] = (weakref.ref(x, _forget(key)), mask)
    except TypeError:
        pass


class name_scope:
    """Pushes a layer name; weights created inside are named ``outer/inner/kernel``."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        call_context.name_stack.append(self.name)
        return self

    def __exit__(self, *exc):
        call_context.name_stack.pop()
        return False


class fresh_name_stack:
    """Clears the layer-name stack inside (weights get unprefixed names)."""

    def __enter__(self):
        self._saved = call_context.name_stack
        call_context.name_stack = []
        return self

    def __exit__(self, *exc):
        call_context.name_stack = self._saved
        return False


def scoped_name(name):
    """``name`` prefixed with the current layer-name stack."""
    stack = call_context.name_stack
    return "/".join(stack + [name]) if stack else name


def call_arg_info(fn):
    """``(arg_names, accepts_training, accepts_mask, accepts_var_kwargs, training_default)``
    for a layer's ``call``."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return [], False, False, True, None
    names, var_kw = [], False
    training_default = None
    for p in sig.parameters.values():
        if p.kind == p.VAR_KEYWORD:
            var_kw = True
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY, p.POSITIONAL_ONLY):
            names.append(p.name)
            if p.name == "training" and p.default is not p.empty:
                training_default = p.default
    return names, "training" in names, "mask" in names, var_kw, training_default


def is_tensor_like(x):
    """Tensors, variables and NumPy arrays (what a layer may be called on)."""
    return isinstance(x, (tf.Tensor, np.ndarray)) or hasattr(x, "_as_tensor")


def _convert_input(x):
    if isinstance(x, np.ndarray):
        if x.dtype == np.float64:
            x = x.astype(np.float32)
        return tf.convert_to_tensor(x)
    if isinstance(x, (float, int)) and not isinstance(x, bool):
        return tf.convert_to_tensor(x)
    return x


def convert_inputs(inputs):
    """Converts NumPy arrays and Python numbers in ``inputs`` to tensors, keeping nesting."""
    if isinstance(inputs, tf.Tensor):
        return inputs
    if isinstance(inputs, np.ndarray) or not nest.is_nested(inputs):
        return _convert_input(inputs)
    return nest.map_structure(_convert_input, inputs)


def unnest_if_single(x):
    """Unwraps a one-element list or tuple."""
    if isinstance(x, (list, tuple)) and len(x) == 1:
        return x[0]
    return x


def shapes_to_structure(input_shape):
    """Turns ``(None, 3)`` into one shape and ``[(None, 3), (None, 4)]`` into a list."""
    if isinstance(input_shape, tf.TensorShape):
        return input_shape
    if isinstance(input_shape, (list, tuple)) and input_shape and all(
            isinstance(s, (list, tuple, tf.TensorShape)) for s in input_shape):
        return [tf.TensorShape(s) for s in input_shape]
    if isinstance(input_shape, dict):
        return {k: tf.TensorShape(v) for k, v in input_shape.items()}
    return tf.TensorShape(input_shape)


def collect_masks(inputs):
    """The masks attached to ``inputs`` (same nesting for lists), or None if none."""
    if isinstance(inputs, tf.Tensor) or not nest.is_nested(inputs):
        return get_mask(inputs)
    masks = [get_mask(x) for x in nest.flatten(inputs)]
    if all(m is None for m in masks):
        return None
    return unnest_if_single(masks) if isinstance(inputs, (list, tuple)) else masks[0]


def extra_init_args(cls, base_init):
    """The names of ``cls.__init__``'s own arguments (beyond Layer's)."""
    if cls.__init__ is base_init:
        return []
    try:
        params = inspect.signature(cls.__init__).parameters.values()
    except (TypeError, ValueError):
        return []
    base = {"self", "trainable", "name", "dtype", "dynamic"}
    return [p.name for p in params if p.name not in base and
            p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def dedup(weights):
    """``weights`` without repeats (by identity), order kept."""
    seen, out = set(), []
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            out.append(w)
    return out
